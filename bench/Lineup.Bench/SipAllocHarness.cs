using System.Globalization;
using Lineup.Sip;

namespace Lineup.Bench;

/// <summary>
/// Exact bytes allocated per SIP message, without BenchmarkDotNet (`-- --sip-alloc`): the same INVITE as
/// <see cref="SipBenchmarks"/>, parsed 100,000 times on one thread after a warm-up, divided by the count
/// (<see cref="GC.GetAllocatedBytesForCurrentThread"/> is exact and does not depend on the machine's load).
/// Two figures: parsing alone (what <c>SipBenchmarks.ParseInvite</c> reports), and parsing followed by the reads a
/// server makes of a new INVITE (Call-ID, top Via and its branch, From and its tag, To, CSeq, Contact, Content-Type,
/// Max-Forwards): with values materialised on demand the second is the honest per-INVITE cost.
/// </summary>
internal static class SipAllocHarness
{
    public static void Run()
    {
        const int n = 100_000;
        var parse = Measure(n, static () => SipParser.Parse(SipBenchmarks.Invite).Message);
        var read = Measure(n, static () =>
        {
            var m = SipParser.Parse(SipBenchmarks.Invite).Message!;
            _ = m.CallId;
            _ = m.TopVia!.Branch;
            _ = m.From!.Tag;
            _ = m.To!.Tag;
            _ = m.CSeq;
            _ = m.Contacts;
            _ = m.ContentType;
            _ = m.MaxForwards;
            return m;
        });
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"INVITE with SDP ({SipBenchmarks.Invite.Length} bytes): parse {parse:F0} B, parse + the server's reads {read:F0} B"));
    }

    private static double Measure(int n, Func<SipMessage?> work)
    {
        for (var i = 0; i < 1_000; i++)
        {
            GC.KeepAlive(work());
        }
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < n; i++)
        {
            GC.KeepAlive(work());
        }
        return (GC.GetAllocatedBytesForCurrentThread() - before) / (double)n;
    }
}
