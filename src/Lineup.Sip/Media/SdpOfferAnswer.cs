using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;

namespace Lineup.Sip.Media;

/// <summary>What our side of a session description says: the address and port to receive on, the origin's session
/// id and version, and the packet time.</summary>
/// <param name="Address">c= and o= address.</param>
/// <param name="Port">Our RTP port.</param>
/// <param name="SessionId">o= session id.</param>
/// <param name="SessionVersion">o= version.</param>
/// <param name="PacketMs">a=ptime.</param>
/// <param name="Srtp">Whether this leg offers or accepts SRTP (RFC 4568 SDES).</param>
/// <param name="OfferKeys">Our keys for an offer, one <c>a=crypto</c> line each (tag = position + 1); needed when
/// <paramref name="Srtp"/> is not <see cref="SrtpPolicy.Off"/>.</param>
public sealed record SdpLocal(string Address, int Port, ulong SessionId, ulong SessionVersion, int PacketMs = 20,
    SrtpPolicy Srtp = SrtpPolicy.Off, IReadOnlyList<SrtpMasterKey>? OfferKeys = null)
{
    /// <summary>IP6 when the address is an IPv6 literal, else IP4.</summary>
    public string AddressType => Address.Contains(':', StringComparison.Ordinal) ? "IP6" : "IP4";
}

/// <summary>The outcome of an offer/answer exchange for the audio stream.</summary>
/// <param name="Codec">The G.711 law to send and expect.</param>
/// <param name="PayloadType">The payload type carrying it (0 or 8, or the dynamic number the peer mapped it to).</param>
/// <param name="TelephoneEventPayloadType">The RFC 4733 payload type both sides use, or null.</param>
/// <param name="Remote">Where the peer receives (c= and m= port), or null when it gave no usable unicast address
/// (0.0.0.0, a host name); symmetric RTP fills it from the first packet.</param>
/// <param name="Direction">Our direction: SendRecv/SendOnly mean we may send.</param>
/// <param name="Srtp">The SRTP keys agreed, or null for clear-text RTP.</param>
/// <param name="RtcpMux">RTCP shares the RTP port (RFC 5761): offered with <c>a=rtcp-mux</c> and answered with it.</param>
/// <param name="RtcpRemote">Where the peer receives RTCP: its RTP address with mux, else its <c>a=rtcp</c> (RFC 3605),
/// else the port after its RTP port (RFC 3550 §11); null when <paramref name="Remote"/> is.</param>
public sealed record SdpNegotiation(Codec Codec, byte PayloadType, int? TelephoneEventPayloadType, IPEndPoint? Remote,
    MediaDirection Direction, SrtpNegotiation? Srtp = null, bool RtcpMux = false, IPEndPoint? RtcpRemote = null)
{
    /// <summary>True when we may send media (RFC 3264 §6.1).</summary>
    public bool CanSend => Direction is MediaDirection.SendRecv or MediaDirection.SendOnly;
}

/// <summary>Whether a leg uses SRTP (setting <c>Sip:Srtp</c>).</summary>
public enum SrtpPolicy
{
    /// <summary>Clear-text RTP only: offers are RTP/AVP without keys; an RTP/SAVP offer is refused (488), keys in an
    /// RTP/AVP offer are ignored.</summary>
    Off,
    /// <summary>SRTP when the peer can: offers are RTP/AVP with <c>a=crypto</c> keys (best effort: a peer that ignores
    /// them answers clear text); RTP/SAVP offers and RTP/AVP offers with keys are answered with SRTP, others with RTP.</summary>
    Optional,
    /// <summary>SRTP or nothing: offers are RTP/SAVP; a clear-text offer or answer is refused (488).</summary>
    Required,
}

/// <summary>The SRTP agreed for a stream: the suite, the crypto tag, our sending key and the peer's.</summary>
public sealed record SrtpNegotiation(SrtpSuite Suite, int Tag, SrtpMasterKey SendKey, SrtpMasterKey ReceiveKey);

/// <summary>
/// RFC 3264 offer/answer for one audio stream of G.711 with RFC 4733 telephone-events. Offers list PCMU (0), PCMA (8)
/// and telephone-event 101 (events 0–16); answers take the first of the offer's formats we support, echo the offer's
/// telephone-event payload type, and reject every other stream with port 0 (§6).
/// </summary>
public static class SdpOfferAnswer
{
    /// <summary>The telephone-event payload type we offer.</summary>
    public const int OfferedTelephoneEvent = 101;

    /// <summary>An offer (§5) for one sendrecv audio stream.</summary>
    public static SdpSession CreateOffer(SdpLocal local, MediaDirection direction = MediaDirection.SendRecv) => new()
    {
        Origin = Origin(local),
        Connection = new SdpConnection(local.AddressType, local.Address),
        Media =
        [
            new SdpMedia
            {
                Media = "audio",
                Port = local.Port,
                Protocol = local.Srtp == SrtpPolicy.Required ? Savp : Avp,
                Formats = ["0", "8", "101"],
                RtpMaps = [new(0, "PCMU", 8000, 1), new(8, "PCMA", 8000, 1), new(OfferedTelephoneEvent, "telephone-event", 8000, 1)],
                Fmtps = [new(OfferedTelephoneEvent, "0-16")],
                Ptime = local.PacketMs,
                Direction = direction,
                Cryptos = OfferCryptos(local),
                RtcpMux = true, // RFC 5761 §5.1.1: we take RTCP on the RTP port too, and on the next one if refused
            },
        ],
    };

    private const string Avp = "RTP/AVP";
    private const string Savp = "RTP/SAVP";

    private static SdpCrypto[] OfferCryptos(SdpLocal local)
    {
        if (local.Srtp == SrtpPolicy.Off || local.OfferKeys is not { Count: > 0 } keys) return [];
        var lines = new SdpCrypto[keys.Count];
        for (var i = 0; i < keys.Count; i++)
        {
            lines[i] = new SdpCrypto(i + 1, SrtpSuites.Name(keys[i].Suite), "inline:" + keys[i].ToInline(), null);
        }
        return lines;
    }

    /// <summary>
    /// The answer to <paramref name="offer"/> (§6) and what was agreed, or null with a reason when no audio stream
    /// has a codec in common (the caller answers 488). The first acceptable audio stream is answered; every other
    /// stream, and audio streams after it, are rejected with port 0.
    /// </summary>
    public static (SdpSession Answer, SdpNegotiation Negotiation)? Answer(SdpSession offer, SdpLocal local, out string? reason)
    {
        var answered = -1;
        SdpNegotiation? negotiation = null;
        string? srtpRefusal = null;
        var media = new SdpMedia[offer.Media.Count];
        for (var i = 0; i < offer.Media.Count; i++)
        {
            var m = offer.Media[i];
            SrtpNegotiation? srtp = null;
            string? refusal = null;
            if (answered < 0 && m.Port != 0 && IsRtpAudio(m) && ChooseCodec(m) is { } chosen
                && AnswerSrtp(m, local.Srtp, out srtp, out refusal))
            {
                answered = i;
                var te = TelephoneEventPayloadType(m);
                var remoteDirection = offer.DirectionOf(m);
                var ours = Reverse(remoteDirection);
                var remote = EndPointOf(offer.ConnectionOf(m), m.Port);
                negotiation = new SdpNegotiation(chosen.Codec, chosen.PayloadType, te, remote, ours, srtp, m.RtcpMux, RtcpEndPoint(m, remote));
                var formats = new List<string> { chosen.PayloadType.ToString(CultureInfo.InvariantCulture) };
                var maps = new List<SdpRtpMap> { new(chosen.PayloadType, chosen.Codec == Codec.Pcmu ? "PCMU" : "PCMA", 8000, 1) };
                var fmtps = new List<KeyValuePair<int, string>>();
                if (te is { } tePt)
                {
                    formats.Add(tePt.ToString(CultureInfo.InvariantCulture));
                    maps.Add(new(tePt, "telephone-event", 8000, 1));
                    fmtps.Add(new(tePt, m.Fmtp(tePt) ?? "0-16"));
                }
                media[i] = new SdpMedia
                {
                    Media = "audio",
                    Port = local.Port,
                    Protocol = m.Protocol,
                    Formats = formats,
                    RtpMaps = maps,
                    Fmtps = fmtps,
                    Ptime = local.PacketMs,
                    Direction = ours,
                    Cryptos = srtp is null ? [] : [new SdpCrypto(srtp.Tag, SrtpSuites.Name(srtp.Suite), "inline:" + srtp.SendKey.ToInline(), null)],
                    RtcpMux = m.RtcpMux, // RFC 5761 §5.1.1: an answerer that multiplexes says so
                };
            }
            else
            {
                srtpRefusal ??= refusal;
                // §6: a rejected stream keeps its media type, protocol and at least one format, with port 0.
                media[i] = new SdpMedia { Media = m.Media, Port = 0, Protocol = m.Protocol, Formats = m.Formats.Count > 0 ? [m.Formats[0]] : ["0"] };
            }
        }
        if (negotiation is null)
        {
            reason = offer.Media.Count == 0 ? "the offer has no m= line" : srtpRefusal ?? "no audio stream offers PCMU or PCMA over RTP/AVP";
            return null;
        }
        reason = null;
        var answer = new SdpSession
        {
            Origin = Origin(local),
            Connection = new SdpConnection(local.AddressType, local.Address),
            Media = media,
        };
        return (answer, negotiation);
    }

    /// <summary>Reads the answer to our offer (§7): the first audio stream with a non-zero port and a codec we
    /// support. Null with a reason when the answer rejects audio.</summary>
    public static SdpNegotiation? AcceptAnswer(SdpSession answer, out string? reason) => AcceptAnswer(answer, SrtpPolicy.Off, null, out reason);

    /// <summary>Reads the answer to an offer made with <paramref name="policy"/> and <paramref name="offeredKeys"/>:
    /// SRTP when the answer echoes one of our crypto tags with the same suite and its own key (RFC 4568 §7.1.3);
    /// with <see cref="SrtpPolicy.Required"/> a clear-text answer is refused.</summary>
    public static SdpNegotiation? AcceptAnswer(SdpSession answer, SrtpPolicy policy, IReadOnlyList<SrtpMasterKey>? offeredKeys, out string? reason)
    {
        reason = "the answer accepts no audio stream with PCMU or PCMA";
        foreach (var m in answer.Media)
        {
            if (m.Port == 0 || !IsRtpAudio(m)) continue;
            if (ChooseCodec(m) is not { } chosen) continue;
            SrtpNegotiation? srtp = null;
            if (policy != SrtpPolicy.Off && offeredKeys is { Count: > 0 })
            {
                foreach (var c in m.Cryptos)
                {
                    if (c.Tag < 1 || c.Tag > offeredKeys.Count || !TryReadKey(c, out var theirs) || theirs.Suite != offeredKeys[c.Tag - 1].Suite) continue;
                    srtp = new SrtpNegotiation(theirs.Suite, c.Tag, offeredKeys[c.Tag - 1], theirs);
                    break;
                }
            }
            if (srtp is null && (policy == SrtpPolicy.Required || IsSavp(m)))
            {
                reason = "the answer has no usable SRTP key (a=crypto) for the keys offered";
                continue;
            }
            reason = null;
            var remote = EndPointOf(answer.ConnectionOf(m), m.Port);
            return new SdpNegotiation(chosen.Codec, chosen.PayloadType, TelephoneEventPayloadType(m), remote,
                Reverse(answer.DirectionOf(m)), srtp, m.RtcpMux, RtcpEndPoint(m, remote));
        }
        return null;
    }

    /// <summary>
    /// RFC 4568 §7.1.2 / §7.1.3 for one offered stream under <paramref name="policy"/>: the first crypto line we can
    /// use (known suite, one inline key, no MKI, no session parameters) gives SRTP with a fresh key of ours. False
    /// (the stream is refused) for RTP/SAVP without a usable key, for RTP/SAVP when SRTP is off, and for clear-text
    /// RTP when SRTP is required.
    /// </summary>
    private static bool AnswerSrtp(SdpMedia m, SrtpPolicy policy, out SrtpNegotiation? srtp, out string? refusal)
    {
        srtp = null;
        refusal = null;
        var savp = IsSavp(m);
        if (policy == SrtpPolicy.Off)
        {
            if (!savp) return true;
            refusal = "SRTP (RTP/SAVP) is turned off here (Sip:Srtp=off)";
            return false;
        }
        foreach (var c in m.Cryptos)
        {
            if (!TryReadKey(c, out var theirs)) continue;
            srtp = new SrtpNegotiation(theirs.Suite, c.Tag, SrtpMasterKey.Generate(theirs.Suite), theirs);
            return true;
        }
        if (savp)
        {
            refusal = "no a=crypto line with a usable key (AES_CM_128_HMAC_SHA1_80 or _32, one inline key, no MKI)";
            return false;
        }
        if (policy == SrtpPolicy.Required)
        {
            refusal = "SRTP is required here (Sip:Srtp=required) and the offer is clear-text RTP";
            return false;
        }
        return true;
    }

    /// <summary>The key of a crypto line we support: a known suite, exactly one <c>inline:</c> key of 30 bytes with
    /// at most a lifetime after it (no MKI), and no session parameters.</summary>
    private static bool TryReadKey(SdpCrypto crypto, [NotNullWhen(true)] out SrtpMasterKey? key)
    {
        key = null;
        if (crypto.SessionParams is not null || !SrtpSuites.TryParse(crypto.Suite, out var suite)) return false;
        var p = crypto.KeyParams.AsSpan();
        if (!p.StartsWith("inline:", StringComparison.Ordinal) || p.Contains(';')) return false;
        p = p[7..];
        var bar = p.IndexOf('|');
        if (bar >= 0)
        {
            var after = p[(bar + 1)..];
            // A lifetime ("2^31" or decimal) may follow; an MKI ("1:4") may not.
            if (after.Contains('|') || after.Contains(':')) return false;
            p = p[..bar];
        }
        return SrtpMasterKey.TryParseInline(suite, p, out key);
    }

    private static bool IsSavp(SdpMedia m) => string.Equals(m.Protocol, Savp, StringComparison.OrdinalIgnoreCase);

    private static bool IsRtpAudio(SdpMedia m) =>
        string.Equals(m.Media, "audio", StringComparison.OrdinalIgnoreCase)
        && (string.Equals(m.Protocol, Avp, StringComparison.OrdinalIgnoreCase) || IsSavp(m));

    /// <summary>The first format that is PCMU or PCMA: by rtpmap when present, else by static payload type (RFC 3551).</summary>
    private static (Codec Codec, byte PayloadType)? ChooseCodec(SdpMedia m)
    {
        foreach (var f in m.Formats)
        {
            if (!int.TryParse(f, NumberStyles.None, CultureInfo.InvariantCulture, out var pt) || pt > 127) continue;
            if (m.RtpMap(pt) is { } map)
            {
                if (map.ClockRate != 8000 || map.Channels != 1) continue;
                if (string.Equals(map.Encoding, "PCMU", StringComparison.OrdinalIgnoreCase)) return (Codec.Pcmu, (byte)pt);
                if (string.Equals(map.Encoding, "PCMA", StringComparison.OrdinalIgnoreCase)) return (Codec.Pcma, (byte)pt);
            }
            else if (pt == 0)
            {
                return (Codec.Pcmu, 0);
            }
            else if (pt == 8)
            {
                return (Codec.Pcma, 8);
            }
        }
        return null;
    }

    private static int? TelephoneEventPayloadType(SdpMedia m)
    {
        foreach (var map in m.RtpMaps)
        {
            if (string.Equals(map.Encoding, "telephone-event", StringComparison.OrdinalIgnoreCase) && map.ClockRate == 8000
                && m.Formats.Contains(map.PayloadType.ToString(CultureInfo.InvariantCulture)))
            {
                return map.PayloadType;
            }
        }
        return null;
    }

    /// <summary>Our direction given the peer's (§6.1): their sendonly is our recvonly and so on.</summary>
    private static MediaDirection Reverse(MediaDirection remote) => remote switch
    {
        MediaDirection.SendOnly => MediaDirection.RecvOnly,
        MediaDirection.RecvOnly => MediaDirection.SendOnly,
        MediaDirection.Inactive => MediaDirection.Inactive,
        _ => MediaDirection.SendRecv,
    };

    private static IPEndPoint? EndPointOf(SdpConnection? c, int port)
    {
        if (c is null || !IPAddress.TryParse(c.Address, out var ip)) return null;
        if (ip.Equals(IPAddress.Any) || ip.Equals(IPAddress.IPv6Any)) return null; // RFC 2543 hold: send nothing
        return new IPEndPoint(ip, port);
    }

    /// <summary>Where the peer of stream <paramref name="m"/> receives RTCP: on its RTP address with rtcp-mux (RFC 5761
    /// §5.1.3), else at its <c>a=rtcp</c> port and address (RFC 3605 §2.1), else on the port after the RTP port (RFC 3550
    /// §11); null when the RTP address is unknown and a=rtcp names none.</summary>
    public static IPEndPoint? RtcpEndPoint(SdpMedia m, IPEndPoint? remote)
    {
        if (m.RtcpMux) return remote;
        if (m.Rtcp is { } rtcp)
        {
            if (rtcp.Port == 0) return null;
            if (rtcp.Connection is { } c) return EndPointOf(c, rtcp.Port);
            return remote is null ? null : new IPEndPoint(remote.Address, rtcp.Port);
        }
        return remote is null || remote.Port >= 65535 ? null : new IPEndPoint(remote.Address, remote.Port + 1);
    }

    private static SdpOrigin Origin(SdpLocal local) => new("lineup", local.SessionId, local.SessionVersion, local.AddressType, local.Address);
}
