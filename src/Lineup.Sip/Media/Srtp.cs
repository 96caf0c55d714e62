using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;

namespace Lineup.Sip.Media;

/// <summary>The SRTP crypto suites of RFC 4568 §6.2 that Lineup speaks: AES in counter mode with a 128-bit key and
/// HMAC-SHA1 authentication, with an 80-bit or a 32-bit tag (RFC 3711 §5: the mandatory transform).</summary>
public enum SrtpSuite
{
    /// <summary><c>AES_CM_128_HMAC_SHA1_80</c>: 10-byte authentication tag (the default).</summary>
    AesCm128HmacSha1_80,
    /// <summary><c>AES_CM_128_HMAC_SHA1_32</c>: 4-byte authentication tag (RFC 4568 §6.2.2; RTP only).</summary>
    AesCm128HmacSha1_32,
}

/// <summary>Names and sizes of <see cref="SrtpSuite"/>.</summary>
public static class SrtpSuites
{
    /// <summary>Master key length in bytes (RFC 4568 §6.2.1: 128 bits).</summary>
    public const int MasterKeyLength = 16;
    /// <summary>Master salt length in bytes (112 bits).</summary>
    public const int MasterSaltLength = 14;

    /// <summary>The suite's name in <c>a=crypto</c>.</summary>
    public static string Name(SrtpSuite suite) => suite switch
    {
        SrtpSuite.AesCm128HmacSha1_32 => "AES_CM_128_HMAC_SHA1_32",
        _ => "AES_CM_128_HMAC_SHA1_80",
    };

    /// <summary>Reads a suite name (case-sensitive, as RFC 4568 §9.1 registers them).</summary>
    public static bool TryParse(ReadOnlySpan<char> name, out SrtpSuite suite)
    {
        if (name.SequenceEqual("AES_CM_128_HMAC_SHA1_80"))
        {
            suite = SrtpSuite.AesCm128HmacSha1_80;
            return true;
        }
        if (name.SequenceEqual("AES_CM_128_HMAC_SHA1_32"))
        {
            suite = SrtpSuite.AesCm128HmacSha1_32;
            return true;
        }
        suite = default;
        return false;
    }

    /// <summary>Bytes of authentication tag appended to each packet.</summary>
    public static int TagLength(SrtpSuite suite) => suite == SrtpSuite.AesCm128HmacSha1_32 ? 4 : 10;
}

/// <summary>A master key and salt (RFC 3711 §3.2.1) for one direction of one media stream, as carried in an SDES
/// <c>inline:</c> key parameter (RFC 4568 §6.1: base64 of key ‖ salt).</summary>
public sealed class SrtpMasterKey
{
    private SrtpMasterKey(SrtpSuite suite, byte[] key, byte[] salt)
    {
        Suite = suite;
        Key = key;
        Salt = salt;
    }

    public SrtpSuite Suite { get; }
    internal byte[] Key { get; }
    internal byte[] Salt { get; }

    /// <summary>A fresh random key and salt from the system's cryptographic generator (RFC 4568 §6.1: one per
    /// direction, never reused across streams).</summary>
    public static SrtpMasterKey Generate(SrtpSuite suite) =>
        new(suite, RandomNumberGenerator.GetBytes(SrtpSuites.MasterKeyLength), RandomNumberGenerator.GetBytes(SrtpSuites.MasterSaltLength));

    /// <summary>A key from its parts (tests, test vectors).</summary>
    public static SrtpMasterKey FromBytes(SrtpSuite suite, ReadOnlySpan<byte> key, ReadOnlySpan<byte> salt)
    {
        if (key.Length != SrtpSuites.MasterKeyLength) throw new ArgumentException("An AES-128 master key is 16 bytes.", nameof(key));
        if (salt.Length != SrtpSuites.MasterSaltLength) throw new ArgumentException("A master salt is 14 bytes.", nameof(salt));
        return new SrtpMasterKey(suite, key.ToArray(), salt.ToArray());
    }

    /// <summary>Reads the base64 of an <c>inline:</c> key; false unless it decodes to exactly 30 bytes.</summary>
    public static bool TryParseInline(SrtpSuite suite, ReadOnlySpan<char> base64, [NotNullWhen(true)] out SrtpMasterKey? key)
    {
        key = null;
        Span<byte> bytes = stackalloc byte[SrtpSuites.MasterKeyLength + SrtpSuites.MasterSaltLength + 3];
        if (base64.Length != 40 || !Convert.TryFromBase64Chars(base64, bytes, out var n) || n != SrtpSuites.MasterKeyLength + SrtpSuites.MasterSaltLength)
        {
            return false;
        }
        key = new SrtpMasterKey(suite, bytes[..SrtpSuites.MasterKeyLength].ToArray(), bytes[SrtpSuites.MasterKeyLength..n].ToArray());
        return true;
    }

    /// <summary>The base64 of key ‖ salt for an <c>inline:</c> parameter.</summary>
    public string ToInline()
    {
        var bytes = new byte[Key.Length + Salt.Length];
        Key.CopyTo(bytes, 0);
        Salt.CopyTo(bytes, Key.Length);
        return Convert.ToBase64String(bytes);
    }
}

/// <summary>
/// Session keys derived from a master key (RFC 3711 §4.3.1, key derivation rate 0): the AES-CM pseudo-random
/// function keyed with the master key, run over the master salt XORed with a label.
/// </summary>
internal static class SrtpKeyDerivation
{
    public const byte RtpEncryption = 0;
    public const byte RtpAuthentication = 1;
    public const byte RtpSalt = 2;

    /// <summary>The first <paramref name="length"/> bytes of PRF(master key, (label ‖ 0⁴⁸) XOR salt), §4.3.1–4.3.3.</summary>
    public static byte[] Derive(byte[] masterKey, ReadOnlySpan<byte> masterSalt, byte label, int length)
    {
        // x = key_id XOR master_salt, where key_id = label ‖ r and r = index DIV kdr = 0: the label lands on the
        // 8th byte of the 14-byte salt. The PRF's IV is x · 2¹⁶, i.e. x followed by a 16-bit block counter.
        Span<byte> iv = stackalloc byte[16];
        masterSalt.CopyTo(iv);
        iv[7] ^= label;
        using var aes = Aes.Create();
        aes.Key = masterKey;
        var blocks = (length + 15) / 16;
        var counters = new byte[blocks * 16];
        for (var j = 0; j < blocks; j++)
        {
            iv.CopyTo(counters.AsSpan(j * 16));
            BinaryPrimitives.WriteUInt16BigEndian(counters.AsSpan((j * 16) + 14), (ushort)j);
        }
        var stream = aes.EncryptEcb(counters, PaddingMode.None);
        return stream[..length];
    }
}

/// <summary>Why <see cref="SrtpContext.Unprotect"/> refused a packet.</summary>
public enum SrtpError
{
    None,
    /// <summary>Shorter than an RTP header plus the authentication tag, or not RTP version 2.</summary>
    Malformed,
    /// <summary>The authentication tag does not match: tampered, or not from the key's holder (RFC 3711 §3.3 step 5).</summary>
    AuthenticationFailed,
    /// <summary>Already received, or older than the replay window (RFC 3711 §3.3.2).</summary>
    Replayed,
}

/// <summary>
/// The SRTP cryptographic context of one direction of one media stream (RFC 3711 §3.2): derived session keys, the
/// rollover counter and highest sequence number per SSRC (§3.3.1), and the replay list (§3.3.2, a 128-packet
/// window). <see cref="Protect"/> turns an RTP packet into SRTP in place (§3.3: encrypt the payload with AES-CM,
/// append the HMAC-SHA1 tag over header ‖ payload ‖ ROC); <see cref="Unprotect"/> is its inverse and refuses
/// tampered and replayed packets. One context per direction per leg: the sender's under the leg's send lock, the
/// receiver's on the leg's receive loop. Not thread-safe. Nothing is allocated per packet.
/// </summary>
public sealed class SrtpContext : IDisposable
{
    /// <summary>Packets behind the highest one that are still accepted (if not seen before).</summary>
    public const int ReplayWindow = 128;
    /// <summary>SSRCs whose rollover state one receiving context keeps (a peer changes SSRC rarely).</summary>
    private const int MaxStreams = 4;
    private const int MaxPacket = 2048;

    private readonly ICryptoTransform _aes;
    private readonly Aes _aesAlgorithm;
    private readonly IncrementalHash _hmac;
    private readonly byte[] _salt;
    private readonly int _tagLength;
    private readonly byte[] _counters = new byte[MaxPacket];
    private readonly byte[] _keystream = new byte[MaxPacket];
    private readonly byte[] _tag = new byte[20];
    private readonly StreamState[] _streams = new StreamState[MaxStreams];
    private int _streamCount;
    private long _authFailures;
    private long _replays;

    /// <summary>A context for <paramref name="key"/>; the same key makes the sender's and the receiver's context.</summary>
    public SrtpContext(SrtpMasterKey key)
        : this((key ?? throw new ArgumentNullException(nameof(key))).Suite,
            SrtpKeyDerivation.Derive(key.Key, key.Salt, SrtpKeyDerivation.RtpEncryption, 16),
            SrtpKeyDerivation.Derive(key.Key, key.Salt, SrtpKeyDerivation.RtpAuthentication, 20),
            SrtpKeyDerivation.Derive(key.Key, key.Salt, SrtpKeyDerivation.RtpSalt, 14))
    {
    }

    /// <summary>A context from session keys directly (RFC 3711 appendix B.2's keystream vector gives them so).</summary>
    internal SrtpContext(SrtpSuite suite, byte[] encryptionKey, byte[] authenticationKey, byte[] sessionSalt)
    {
        Suite = suite;
        _tagLength = SrtpSuites.TagLength(suite);
        _aesAlgorithm = Aes.Create();
        _aesAlgorithm.Key = encryptionKey;
        _aesAlgorithm.Mode = CipherMode.ECB;
        _aesAlgorithm.Padding = PaddingMode.None;
        _aes = _aesAlgorithm.CreateEncryptor();
        _hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA1, authenticationKey);
        _salt = sessionSalt;
    }

    /// <summary>The context's suite.</summary>
    public SrtpSuite Suite { get; }

    /// <summary>Bytes <see cref="Protect"/> adds to a packet.</summary>
    public int Overhead => _tagLength;

    /// <summary>Packets refused because their tag did not match.</summary>
    public long AuthenticationFailures => Volatile.Read(ref _authFailures);

    /// <summary>Packets refused as replays.</summary>
    public long Replays => Volatile.Read(ref _replays);

    /// <summary>
    /// Protects the RTP packet in <c>buffer[..length]</c> in place: the payload is encrypted and the tag appended.
    /// Returns the SRTP length (<paramref name="length"/> + <see cref="Overhead"/>), or -1 when the buffer has no
    /// room for the tag or the packet is not RTP.
    /// </summary>
    public int Protect(Span<byte> buffer, int length)
    {
        if (length + _tagLength > buffer.Length || length > MaxPacket || !TryHeaderLength(buffer[..length], out var header)) return -1;
        var ssrc = BinaryPrimitives.ReadUInt32BigEndian(buffer[8..]);
        var sequence = BinaryPrimitives.ReadUInt16BigEndian(buffer[2..]);
        var state = Stream(ssrc, create: true)!;
        // The sender estimates its own index like a receiver (§3.3.1): relayed packets may go out of order.
        var (roc, index) = state.Estimate(sequence);
        Crypt(buffer[header..length], ssrc, index);
        Authenticate(buffer[..length], roc, buffer.Slice(length, _tagLength));
        state.Update(sequence, roc, index);
        return length + _tagLength;
    }

    /// <summary>
    /// Checks and decrypts the SRTP packet in <c>buffer[..length]</c> in place (§3.3): index estimation, replay check,
    /// tag verification in constant time, decryption. Returns the RTP length, or -1 with <paramref name="error"/>.
    /// Nothing changes (no rollover, no replay state) unless the packet is authentic.
    /// </summary>
    public int Unprotect(Span<byte> buffer, int length, out SrtpError error)
    {
        if (length < RtpPacket.HeaderLength + _tagLength || length > MaxPacket || length > buffer.Length
            || !TryHeaderLength(buffer[..(length - _tagLength)], out var header))
        {
            error = SrtpError.Malformed;
            return -1;
        }
        var ssrc = BinaryPrimitives.ReadUInt32BigEndian(buffer[8..]);
        var sequence = BinaryPrimitives.ReadUInt16BigEndian(buffer[2..]);
        var state = Stream(ssrc, create: false);
        var (roc, index) = state is null ? (0u, (long)sequence) : state.Estimate(sequence);
        if (state is not null && state.IsReplay(index))
        {
            Interlocked.Increment(ref _replays);
            error = SrtpError.Replayed;
            return -1;
        }
        var rtpLength = length - _tagLength;
        Authenticate(buffer[..rtpLength], roc, _tag);
        if (!CryptographicOperations.FixedTimeEquals(_tag.AsSpan(0, _tagLength), buffer.Slice(rtpLength, _tagLength)))
        {
            Interlocked.Increment(ref _authFailures);
            error = SrtpError.AuthenticationFailed;
            return -1;
        }
        Crypt(buffer[header..rtpLength], ssrc, index);
        (state ?? Stream(ssrc, create: true)!).Update(sequence, roc, index);
        error = SrtpError.None;
        return rtpLength;
    }

    /// <summary>RFC 3711 §4.1.1 AES-CM: IV = (k_s · 2¹⁶) XOR (SSRC · 2⁶⁴) XOR (index · 2¹⁶); keystream block j is
    /// AES(k_e, IV + j); the payload is XORed with it.</summary>
    private void Crypt(Span<byte> payload, uint ssrc, long index)
    {
        if (payload.IsEmpty) return;
        var blocks = (payload.Length + 15) / 16;
        Span<byte> iv = stackalloc byte[16];
        _salt.CopyTo(iv);
        iv[14] = 0;
        iv[15] = 0;
        var s = BinaryPrimitives.ReadUInt32BigEndian(iv[4..]) ^ ssrc;
        BinaryPrimitives.WriteUInt32BigEndian(iv[4..], s);
        // The 48-bit index sits in bytes 8–13.
        var hi = BinaryPrimitives.ReadUInt16BigEndian(iv[8..]) ^ (ushort)(index >> 32);
        BinaryPrimitives.WriteUInt16BigEndian(iv[8..], (ushort)hi);
        var lo = BinaryPrimitives.ReadUInt32BigEndian(iv[10..]) ^ (uint)index;
        BinaryPrimitives.WriteUInt32BigEndian(iv[10..], lo);
        var counters = _counters.AsSpan(0, blocks * 16);
        for (var j = 0; j < blocks; j++)
        {
            var block = counters.Slice(j * 16, 16);
            iv.CopyTo(block);
            // A payload is under 2¹⁶ blocks, so the counter never carries out of the low 16 bits.
            BinaryPrimitives.WriteUInt16BigEndian(block[14..], (ushort)j);
        }
        _aes.TransformBlock(_counters, 0, blocks * 16, _keystream, 0);
        Xor(payload, _keystream);
    }

    private static void Xor(Span<byte> data, ReadOnlySpan<byte> keystream)
    {
        var i = 0;
        var words = data.Length / 8;
        var d = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ulong>(data[..(words * 8)]);
        var k = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ulong>(keystream[..(words * 8)]);
        for (; i < words; i++) d[i] ^= k[i];
        for (i *= 8; i < data.Length; i++) data[i] ^= keystream[i];
    }

    /// <summary>§4.2: HMAC-SHA1(k_a, authenticated portion ‖ ROC), truncated to the suite's tag length.</summary>
    private void Authenticate(ReadOnlySpan<byte> packet, uint roc, Span<byte> tag)
    {
        Span<byte> rocBytes = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(rocBytes, roc);
        _hmac.AppendData(packet);
        _hmac.AppendData(rocBytes);
        Span<byte> full = stackalloc byte[20];
        _hmac.GetHashAndReset(full);
        full[..tag.Length].CopyTo(tag);
    }

    /// <summary>The RTP header's length (fixed part, CSRCs, extension): it is authenticated but not encrypted.</summary>
    private static bool TryHeaderLength(ReadOnlySpan<byte> packet, out int length)
    {
        length = 0;
        if (packet.Length < RtpPacket.HeaderLength || packet[0] >> 6 != 2) return false;
        var offset = RtpPacket.HeaderLength + (4 * (packet[0] & 0x0F));
        if ((packet[0] & 0x10) != 0)
        {
            if (packet.Length < offset + 4) return false;
            offset += 4 + (4 * BinaryPrimitives.ReadUInt16BigEndian(packet[(offset + 2)..]));
        }
        if (offset > packet.Length) return false;
        length = offset;
        return true;
    }

    private StreamState? Stream(uint ssrc, bool create)
    {
        for (var i = 0; i < _streamCount; i++)
        {
            if (_streams[i].Ssrc == ssrc) return _streams[i];
        }
        if (!create) return null;
        var state = new StreamState(ssrc);
        if (_streamCount < MaxStreams)
        {
            _streams[_streamCount++] = state;
        }
        else
        {
            // Forget the oldest SSRC: a peer that switched SSRCs four times has left the first long ago.
            Array.Copy(_streams, 1, _streams, 0, MaxStreams - 1);
            _streams[MaxStreams - 1] = state;
        }
        return state;
    }

    public void Dispose()
    {
        _aes.Dispose();
        _aesAlgorithm.Dispose();
        _hmac.Dispose();
    }

    /// <summary>Per-SSRC state: highest sequence number s_l, rollover counter, replay bitmap (§3.3.1, §3.3.2).</summary>
    private sealed class StreamState(uint ssrc)
    {
        private bool _started;
        private ushort _highest;
        private uint _roc;
        private long _highestIndex;
        // Bit i set: index (_highestIndex - i) was received.
        private UInt128 _seen;

        public uint Ssrc { get; } = ssrc;

        /// <summary>§3.3.1: the guessed ROC v and the packet index v · 2¹⁶ + SEQ.</summary>
        public (uint Roc, long Index) Estimate(ushort sequence)
        {
            if (!_started) return (_roc, ((long)_roc << 16) | sequence);
            uint v;
            if (_highest < 32768)
            {
                v = sequence - _highest > 32768 && _roc > 0 ? _roc - 1 : _roc;
            }
            else
            {
                v = _highest - 32768 > sequence ? _roc + 1 : _roc;
            }
            return (v, ((long)v << 16) | sequence);
        }

        public bool IsReplay(long index)
        {
            if (!_started || index > _highestIndex) return false;
            var delta = _highestIndex - index;
            if (delta >= ReplayWindow) return true;
            return ((_seen >> (int)delta) & UInt128.One) != UInt128.Zero;
        }

        public void Update(ushort sequence, uint roc, long index)
        {
            if (!_started)
            {
                _started = true;
                _highest = sequence;
                _roc = roc;
                _highestIndex = index;
                _seen = UInt128.One;
                return;
            }
            if (index > _highestIndex)
            {
                var shift = index - _highestIndex;
                _seen = shift >= ReplayWindow ? UInt128.One : (_seen << (int)shift) | UInt128.One;
                _highestIndex = index;
                _highest = sequence;
                _roc = roc;
            }
            else
            {
                var delta = _highestIndex - index;
                if (delta < ReplayWindow) _seen |= UInt128.One << (int)delta;
            }
        }
    }
}
