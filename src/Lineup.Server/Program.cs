using Lineup.Server.Hosting;

return await LineupProgram.RunAsync(args, Console.Out, Console.Error);

/// <summary>The entry point, visible to WebApplicationFactory in the tests.</summary>
public partial class Program;
