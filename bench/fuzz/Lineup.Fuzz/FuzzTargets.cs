using System.Text;
using Lineup.Sip;
using Lineup.Sip.Media;
using Lineup.Sip.Registrar;

namespace Lineup.Fuzz;

/// <summary>
/// What each fuzz target does with one input. A target must never throw for any input: an exception is a crash
/// that afl++ records. Beyond "does not throw", every input a parser accepts is re-checked: written back out and
/// parsed again, which must succeed and agree (the habit of garnet's fuzz targets). The same methods replay the
/// committed corpus in tests/Lineup.Sip.Tests (FuzzCorpusTests), so a found input stays fixed.
/// </summary>
public static class FuzzTargets
{
    /// <summary>The targets by name (the fuzz program's argument and the corpus folder's name).</summary>
    public static IReadOnlyDictionary<string, Action<ReadOnlyMemory<byte>>> All { get; } =
        new Dictionary<string, Action<ReadOnlyMemory<byte>>>(StringComparer.Ordinal)
        {
            ["sip"] = Sip,
            ["sdp"] = Sdp,
            ["digest"] = Digest,
            ["rtp"] = Rtp,
        };

    /// <summary>RFC 3261 parser, both framings; the stream framer; accepted messages round-trip through the writer.</summary>
    public static void Sip(ReadOnlyMemory<byte> input)
    {
        var data = input.Span;
        var datagram = SipParser.Parse(data, SipFraming.Datagram);
        var status = SipStreamFramer.TryFrame(data, out var skipped, out var length);
        if (status == SipFrameStatus.Message)
        {
            Check(skipped >= 0 && length > 0 && skipped + length <= data.Length, "framer slice out of range");
            _ = SipParser.Parse(data.Slice(skipped, length), SipFraming.Stream);
        }
        if (!datagram.Success)
        {
            return;
        }
        var message = datagram.Message!;
        var written = SipWriter.Write(message);
        var again = SipParser.Parse(written, SipFraming.Stream);
        Check(again.Success, $"a written message does not parse again: {again.Error} {again.Detail}");
        var m2 = again.Message!;
        Check(m2.IsRequest == message.IsRequest, "request/response changed in a round trip");
        Check(m2.Body.Span.SequenceEqual(message.Body.Span), "body changed in a round trip");
        Check(m2.CallId == message.CallId, "Call-ID changed in a round trip");
    }

    /// <summary>RFC 4566 parser; accepted descriptions round-trip through the writer and go through offer/answer.</summary>
    public static void Sdp(ReadOnlyMemory<byte> input)
    {
        var session = Lineup.Sip.Media.Sdp.Parse(input.Span, out var error);
        if (session is null)
        {
            Check(error is not null, "no reason for a refused SDP");
            return;
        }
        var written = Lineup.Sip.Media.Sdp.Write(session);
        // Writing adds t=, s= and CRs to LF-only input, so an input near the size limit may write back past it.
        if (written.Length > Lineup.Sip.Media.Sdp.MaxLength)
        {
            return;
        }
        var again = Lineup.Sip.Media.Sdp.Parse(written, out var error2);
        Check(again is not null, $"a written SDP does not parse again: {error2}");
        Check(again!.Media.Count == session.Media.Count, "m= count changed in a round trip");
        var local = new SdpLocal("192.0.2.1", 20000, 1, 1);
        _ = SdpOfferAnswer.Answer(session, local, out _);
        _ = SdpOfferAnswer.AcceptAnswer(session, out _);
    }

    /// <summary>The Authorization header's Digest credentials (RFC 7616 §3.4), read as UTF-8 the way the stack does.</summary>
    public static void Digest(ReadOnlyMemory<byte> input)
    {
        var text = Encoding.UTF8.GetString(input.Span);
        if (SipDigestCredentials.TryParse(text, out var credentials))
        {
            Check(credentials.Username is not null && credentials.Nonce is not null && credentials.Response is not null,
                "accepted credentials lack a required parameter");
        }
    }

    /// <summary>RFC 3550 packet parser and the SRTP receive path (RFC 3711) with a fixed key: garbage never throws,
    /// and nothing but a packet protected with the key is accepted.</summary>
    public static void Rtp(ReadOnlyMemory<byte> input)
    {
        var data = input.Span;
        if (RtpPacket.TryParse(data, out var packet, out var error))
        {
            Check(packet.Payload.Length <= data.Length - RtpPacket.HeaderLength, "payload longer than the packet");
            Span<byte> copy = stackalloc byte[RtpPacket.HeaderLength + packet.Payload.Length];
            var n = RtpPacket.Write(copy, packet.Marker, packet.PayloadType, packet.SequenceNumber, packet.Timestamp, packet.Ssrc, packet.Payload);
            Check(RtpPacket.TryParse(copy[..n], out var p2, out _) && p2.SequenceNumber == packet.SequenceNumber
                && p2.Payload.SequenceEqual(packet.Payload), "a written RTP packet does not parse again");
        }
        else
        {
            Check(error is not null, "no reason for a refused RTP packet");
        }
        SrtpReceive(data, SrtpSuite.AesCm128HmacSha1_80);
        SrtpReceive(data, SrtpSuite.AesCm128HmacSha1_32);
    }

    /// <summary>A fixed key, so that a seed protected with it reaches the decryption path.</summary>
    public static SrtpMasterKey FuzzKey(SrtpSuite suite) =>
        SrtpMasterKey.FromBytes(suite, Convert.FromHexString("E1F97A0D3E018BE0D64FA32C06DE4139"), Convert.FromHexString("0EC675AD498AFEEBB6960B3AABE6"));

    private static void SrtpReceive(ReadOnlySpan<byte> data, SrtpSuite suite)
    {
        using var receiver = new SrtpContext(FuzzKey(suite));
        var buffer = data.ToArray();
        var n = receiver.Unprotect(buffer, buffer.Length, out var error);
        if (n < 0)
        {
            Check(error != SrtpError.None, "a refused SRTP packet without a reason");
            return;
        }
        // Accepted: it must be exactly what a sender with the key makes of the plaintext (no forgery got through),
        // and the same packet again is a replay.
        using var sender = new SrtpContext(FuzzKey(suite));
        var again = new byte[data.Length];
        buffer.AsSpan(0, n).CopyTo(again);
        Check(sender.Protect(again, n) == data.Length && again.AsSpan().SequenceEqual(data), "SRTP accepted a packet its key did not make");
        Check(receiver.Unprotect(data.ToArray(), data.Length, out var replay) < 0 && replay == SrtpError.Replayed, "SRTP replay accepted");
    }

    private static void Check(bool condition, string what)
    {
        if (!condition)
        {
            throw new InvalidOperationException("fuzz invariant broken: " + what);
        }
    }
}
