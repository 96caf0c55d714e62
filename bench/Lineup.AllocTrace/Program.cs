// Where a server's bytes go, per request: reads a dotnet-trace taken with `--profile gc-verbose` (the runtime's
// AllocationTick events, one per ~100 KB allocated, with the type and the stack of the allocation that crossed the
// mark) and divides the sampled bytes by the number of requests served while it was taken.
//
//   dotnet run -c Release --project bench/Lineup.AllocTrace -- TRACE.nettrace REQUESTS [--type NAME] [--top N]
//
// Prints bytes per request by type, by frame (inclusive) and by allocating stack. Two traces of the same load on two
// builds, read side by side, show what one allocates that the other does not (docs/benchmarks.md, issue 11).
using System.Globalization;
using Microsoft.Diagnostics.Tracing.Etlx;
using Microsoft.Diagnostics.Tracing.Parsers.Clr;

if (args.Length < 2 || !double.TryParse(args[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var requests) || requests <= 0)
{
    Console.Error.WriteLine("usage: Lineup.AllocTrace TRACE.nettrace REQUESTS [--type NAME] [--top N]");
    return 2;
}
string? Option(string name) => Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? args[i + 1] : null;
var onlyType = Option("--type");
var top = int.Parse(Option("--top") ?? "40", CultureInfo.InvariantCulture);
const int StackDepth = 12;

using var log = new TraceLog(TraceLog.CreateFromEventPipeDataFile(args[0]));
var byType = new Dictionary<string, double>(StringComparer.Ordinal);
var byFrame = new Dictionary<string, double>(StringComparer.Ordinal);
var byStack = new Dictionary<string, double>(StringComparer.Ordinal);
double total = 0;
foreach (var e in log.Events)
{
    if (e is not GCAllocationTickTraceData tick) continue;
    if (onlyType != null && !tick.TypeName.Contains(onlyType, StringComparison.Ordinal)) continue;
    double bytes = tick.AllocationAmount64;
    total += bytes;
    Add(byType, tick.TypeName, bytes);
    var frames = new List<string>();
    var seen = new HashSet<string>(StringComparer.Ordinal);
    for (var s = e.CallStack(); s != null; s = s.Caller)
    {
        var method = s.CodeAddress.FullMethodName is { Length: > 0 } m ? m : s.CodeAddress.ModuleName + "!?";
        frames.Add(method);
        if (seen.Add(method)) Add(byFrame, method, bytes);
    }
    Add(byStack, tick.TypeName + "  <=  " + string.Join("  <  ", frames.Take(StackDepth)), bytes);
}

Console.WriteLine($"sampled {total / 1e6:F1} MB over {requests:F0} requests: {total / requests:F0} B per request");
Print("bytes per request by type", byType);
Print("bytes per request by frame (inclusive)", byFrame);
Print("bytes per request by allocating stack", byStack);
return 0;

void Print(string title, Dictionary<string, double> figures)
{
    Console.WriteLine($"== {title}");
    foreach (var (key, bytes) in figures.OrderByDescending(kv => kv.Value).Take(top))
        Console.WriteLine($"{bytes / requests,9:F1} B  {key}");
}

static void Add(Dictionary<string, double> figures, string key, double bytes) =>
    figures[key] = figures.GetValueOrDefault(key) + bytes;
