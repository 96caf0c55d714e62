using Lineup.Server;

var builder = WebApplication.CreateBuilder(args);
builder.AddLineup();
var app = builder.Build();
app.MapLineup();
await app.RunAsync();

/// <summary>The entry point, visible to WebApplicationFactory in the tests.</summary>
public partial class Program;
