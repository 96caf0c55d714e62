using System.Reflection;
using System.Security.Cryptography;

namespace Lineup.Server.Wallboard;

/// <summary>Serves the landing page (<c>/</c>, links to everything a newcomer looks for), the wallboard
/// (<c>/wallboard</c>), the agent panel (<c>/agent</c>) and the icon from files embedded in the assembly: static pages
/// that sign in through the API and follow the event stream.</summary>
public static class WallboardPages
{
    private static readonly Dictionary<string, (byte[] Bytes, string Type, string ETag)> s_files = Load();

    public static void MapWallboardPages(this IEndpointRouteBuilder app)
    {
        // Static pages: they sign in from the browser, so anyone may load them.
        app.MapGet("/", (HttpContext http) => Serve(http, "index.html")).ExcludeFromDescription().AllowAnonymous();
        app.MapGet("/favicon.ico", (HttpContext http) => Serve(http, "favicon.ico")).ExcludeFromDescription().AllowAnonymous();
        app.MapGet("/wallboard", (HttpContext http) => Serve(http, "wallboard.html")).ExcludeFromDescription().AllowAnonymous();
        app.MapGet("/agent", (HttpContext http) => Serve(http, "agent.html")).ExcludeFromDescription().AllowAnonymous();
        app.MapGet("/ui/{file}", (string file, HttpContext http) => Serve(http, file)).ExcludeFromDescription().AllowAnonymous();
    }

    private static IResult Serve(HttpContext http, string name)
    {
        if (!s_files.TryGetValue(name, out var f)) return Results.NotFound();
        http.Response.Headers.ETag = f.ETag;
        http.Response.Headers.CacheControl = "no-cache";
        http.Response.Headers["X-Content-Type-Options"] = "nosniff";
        if (name.EndsWith(".html", StringComparison.Ordinal))
            http.Response.Headers.ContentSecurityPolicy = "default-src 'self'; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'";
        if (http.Request.Headers.IfNoneMatch == f.ETag) return Results.StatusCode(StatusCodes.Status304NotModified);
        return Results.Bytes(f.Bytes, f.Type);
    }

    private static Dictionary<string, (byte[], string, string)> Load()
    {
        var asm = Assembly.GetExecutingAssembly();
        var files = new Dictionary<string, (byte[], string, string)>(StringComparer.Ordinal);
        const string prefix = "Lineup.Server.Wallboard.";
        foreach (var resource in asm.GetManifestResourceNames().Where(n => n.StartsWith(prefix, StringComparison.Ordinal)))
        {
            using var stream = asm.GetManifestResourceStream(resource)!;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            var bytes = copy.ToArray();
            var name = resource[prefix.Length..];
            var type = Path.GetExtension(name) switch
            {
                ".html" => "text/html; charset=utf-8",
                ".css" => "text/css; charset=utf-8",
                ".js" => "text/javascript; charset=utf-8",
                ".svg" => "image/svg+xml",
                ".ico" => "image/x-icon",
                _ => "application/octet-stream",
            };
            files[name] = (bytes, type, $"\"{Convert.ToHexStringLower(SHA256.HashData(bytes))[..16]}\"");
        }
        return files;
    }
}
