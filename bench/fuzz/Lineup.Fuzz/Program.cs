using Lineup.Fuzz;
using SharpFuzz;

// One target per process (afl++ runs it as a forkserver child): `Lineup.Fuzz <target>` reads inputs from afl++;
// `Lineup.Fuzz <target> <file>...` runs the given inputs once each without afl++ (to reproduce a crash).
if (args.Length == 0 || !FuzzTargets.All.TryGetValue(args[0], out var target))
{
    Console.Error.WriteLine($"usage: Lineup.Fuzz <{string.Join('|', FuzzTargets.All.Keys)}> [input files]");
    return 2;
}
if (args.Length > 1)
{
    foreach (var file in args.Skip(1))
    {
        target(File.ReadAllBytes(file));
        Console.WriteLine($"ok {file}");
    }
    return 0;
}
Fuzzer.OutOfProcess.Run(stream =>
{
    using var buffer = new MemoryStream();
    stream.CopyTo(buffer);
    target(buffer.GetBuffer().AsMemory(0, (int)buffer.Length));
});
return 0;
