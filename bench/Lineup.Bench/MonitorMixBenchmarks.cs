using BenchmarkDotNet.Attributes;
using Lineup.Sip.Media;

namespace Lineup.Bench;

/// <summary>
/// The media work of a monitored call per 20 ms packet time (issue 15), against a plain bridge. A bridge relays one
/// packet each way and copies the payload. A supervisor in barge mode (the most work: everyone hears two sources)
/// makes the mixer decode the three parties' frames once and build three mixed frames (decode the main source, add
/// the second, encode: <see cref="ThreePartyMix.MixFrame"/>) instead of two copies. Socket sends and receives are not
/// in it: the supervisor's leg costs what any leg costs (docs/benchmarks.md, Telephony).
/// </summary>
[MemoryDiagnoser]
public class MonitorMixBenchmarks
{
    private readonly byte[] _caller = new byte[160], _agent = new byte[160], _supervisor = new byte[160];
    private readonly byte[] _out1 = new byte[160], _out2 = new byte[160], _out3 = new byte[160];
    private readonly short[] _pcmAgent = new short[160], _pcmSupervisor = new short[160];

    [GlobalSetup]
    public void Setup()
    {
        var pcm = new short[160];
        for (var i = 0; i < 160; i++) pcm[i] = (short)(8000 * Math.Sin(2 * Math.PI * 1850 * i / 8000));
        G711.Encode(Codec.Pcmu, pcm, _caller);
        for (var i = 0; i < 160; i++) pcm[i] = (short)(8000 * Math.Sin(2 * Math.PI * 2350 * i / 8000));
        G711.Encode(Codec.Pcmu, pcm, _agent);
        for (var i = 0; i < 160; i++) pcm[i] = (short)(8000 * Math.Sin(2 * Math.PI * 1000 * i / 8000));
        G711.Encode(Codec.Pcmu, pcm, _supervisor);
    }

    /// <summary>One packet time of a plain bridge: a payload copy each way.</summary>
    [Benchmark(Baseline = true)]
    public byte BridgeStep()
    {
        _caller.CopyTo(_out1, 0);
        _agent.CopyTo(_out2, 0);
        return (byte)(_out1[0] ^ _out2[0]);
    }

    /// <summary>One packet time of a barged call: the second sources decoded as they arrive, then three mixed frames
    /// (agent hears caller + supervisor, caller hears agent + supervisor, supervisor hears caller + agent).</summary>
    [Benchmark]
    public byte BargeStep()
    {
        G711.Decode(Codec.Pcmu, _agent, _pcmAgent);
        G711.Decode(Codec.Pcmu, _supervisor, _pcmSupervisor);
        ThreePartyMix.MixFrame(Codec.Pcmu, _caller, _pcmSupervisor, Codec.Pcmu, _out1);
        ThreePartyMix.MixFrame(Codec.Pcmu, _agent, _pcmSupervisor, Codec.Pcmu, _out2);
        ThreePartyMix.MixFrame(Codec.Pcmu, _caller, _pcmAgent, Codec.Pcmu, _out3);
        return (byte)(_out1[0] ^ _out2[0] ^ _out3[0]);
    }
}
