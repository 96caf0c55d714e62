using System.Buffers.Binary;
using Lineup.Sip.Media;

namespace Lineup.Sip.Tests.Media;

public class WavTests
{
    private static byte[] WavImage(ReadOnlySpan<short> samples, int channels = 1)
    {
        var stream = new MemoryStream();
        using (var writer = new WavWriter(stream, channels, leaveOpen: true)) writer.Write(samples);
        return stream.ToArray();
    }

    /// <summary>A hand-made WAV with any format fields.</summary>
    private static byte[] Custom(ushort format, ushort channels, int rate, ushort bits, byte[] data)
    {
        var h = new byte[44 + data.Length];
        "RIFF"u8.CopyTo(h);
        BinaryPrimitives.WriteInt32LittleEndian(h.AsSpan(4), 36 + data.Length);
        "WAVEfmt "u8.CopyTo(h.AsSpan(8));
        BinaryPrimitives.WriteInt32LittleEndian(h.AsSpan(16), 16);
        BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(20), format);
        BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(22), channels);
        BinaryPrimitives.WriteInt32LittleEndian(h.AsSpan(24), rate);
        BinaryPrimitives.WriteInt32LittleEndian(h.AsSpan(28), rate * channels * bits / 8);
        BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(32), (ushort)(channels * bits / 8));
        BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(34), bits);
        "data"u8.CopyTo(h.AsSpan(36));
        BinaryPrimitives.WriteInt32LittleEndian(h.AsSpan(40), data.Length);
        data.CopyTo(h, 44);
        return h;
    }

    [Fact]
    public void Write_then_read_round_trips()
    {
        short[] samples = [0, 1, -1, short.MaxValue, short.MinValue, 1234];
        var image = WavImage(samples);
        Assert.Equal(44 + 12, image.Length);
        Assert.Equal(samples, WavFile.TryDecode(image, out var error));
        Assert.Null(error);
    }

    [Fact]
    public void Reads_mu_law_and_a_law_files()
    {
        Assert.Equal(new short[] { 0, 32124 }, WavFile.TryDecode(Custom(7, 1, 8000, 8, [0xFF, 0x80]), out _));
        Assert.Equal(new short[] { 8, 32256 }, WavFile.TryDecode(Custom(6, 1, 8000, 8, [0xD5, 0xAA]), out _));
    }

    [Theory]
    [InlineData(1, 2, 8000, 16, "mono")]
    [InlineData(1, 1, 44100, 16, "8000 Hz")]
    [InlineData(1, 1, 8000, 8, "16-bit PCM")]
    [InlineData(3, 1, 8000, 32, "format 3")]
    public void Refuses_other_formats_with_a_clear_reason(int format, int channels, int rate, int bits, string expected)
    {
        Assert.Null(WavFile.TryDecode(Custom((ushort)format, (ushort)channels, rate, (ushort)bits, new byte[8]), out var error));
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Refuses_non_wav_and_never_throws_on_garbage()
    {
        Assert.Null(WavFile.TryDecode("hello"u8, out var error));
        Assert.Equal("not a RIFF/WAVE file", error);
        var random = new Random(3);
        var valid = WavImage([1, 2, 3, 4]);
        for (var i = 0; i < 5000; i++)
        {
            var copy = (byte[])valid.Clone();
            copy[random.Next(copy.Length)] = (byte)random.Next(256);
            _ = WavFile.TryDecode(copy.AsSpan(0, random.Next(copy.Length + 1)), out _);
        }
    }

    [Fact]
    public void A_data_chunk_cut_short_is_read_to_the_end()
    {
        var image = Custom(1, 1, 8000, 16, [1, 0, 2, 0, 3, 0]);
        Assert.Equal(new short[] { 1, 2 }, WavFile.TryDecode(image.AsSpan(0, image.Length - 2), out _));
    }

    [Fact]
    public void Recorder_mixes_both_sides_with_clipping()
    {
        var stream = new MemoryStream();
        using (var recorder = new WavRecorder(stream, leaveOpen: true))
        {
            recorder.Write(RecordingSide.Left, [100, 30000, -30000]);
            recorder.Write(RecordingSide.Right, [5, 30000, -30000, 7]);
        }
        Assert.Equal(new short[] { 105, short.MaxValue, short.MinValue, 7 }, WavFile.TryDecode(stream.ToArray(), out _));
    }

    [Fact]
    public void Recorder_writes_a_side_that_runs_far_ahead_against_silence()
    {
        var stream = new MemoryStream();
        var recorder = new WavRecorder(stream, leaveOpen: true);
        recorder.Write(RecordingSide.Left, new short[WavRecorder.MaxLagSamples + 800]);
        Assert.Equal(800, recorder.SampleFrames);
        recorder.Dispose();
        recorder.Write(RecordingSide.Right, [1]); // after the call ended: ignored
        Assert.Equal(WavRecorder.MaxLagSamples + 800, WavFile.TryDecode(stream.ToArray(), out _)!.Length);
    }

    [Fact]
    public void Recorder_file_is_readable_before_it_is_closed()
    {
        var stream = new MemoryStream();
        var recorder = new WavRecorder(stream, leaveOpen: true);
        var second = new short[8000];
        recorder.Write(RecordingSide.Left, second);
        recorder.Write(RecordingSide.Right, second);
        recorder.Write(RecordingSide.Left, [1, 2, 3]); // not yet patched into the header
        // The process dies here: the header written after the first second says one second.
        Assert.Equal(8000, WavFile.TryDecode(stream.ToArray(), out _)!.Length);
        recorder.Dispose();
    }

    [Fact]
    public void Stereo_recording_keeps_the_sides_apart()
    {
        var stream = new MemoryStream();
        using (var recorder = new WavRecorder(stream, stereo: true, leaveOpen: true))
        {
            recorder.Write(RecordingSide.Left, [1, 2]);
            recorder.Write(RecordingSide.Right, [3, 4]);
        }
        var bytes = stream.ToArray();
        Assert.Equal(2, BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(22)));
        Assert.Equal([1, 3, 2, 4], Enumerable.Range(0, 4).Select(i => BinaryPrimitives.ReadInt16LittleEndian(bytes.AsSpan(44 + (2 * i)))));
    }

    [Fact]
    public void Recorder_writes_a_file_on_disk()
    {
        var path = Path.Combine(Path.GetTempPath(), $"lineup-rec-{Guid.NewGuid():N}.wav");
        try
        {
            using (var recorder = new WavRecorder(path))
            {
                recorder.Write(RecordingSide.Left, [10, 20]);
                recorder.Write(RecordingSide.Right, [1, 2]);
            }
            Assert.Equal(new short[] { 11, 22 }, WavFile.Read(path));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
