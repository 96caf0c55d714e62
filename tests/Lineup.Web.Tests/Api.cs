using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace Lineup.Web.Tests;

/// <summary>The REST API as the tests' set-up and checks use it: JSON in and out, any non-2xx answer an exception
/// that carries the body.</summary>
public sealed class Api(HttpClient http) : IDisposable
{
    public HttpClient Http { get; } = http;

    /// <summary>Signs in (<c>POST /api/v1/auth/login</c>) and sends the access token with every later call.</summary>
    public static async Task<Api> SignInAsync(Uri baseAddress, string username, string password, string tenant)
    {
        var api = new Api(new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(60) });
        var session = await api.SendAsync(HttpMethod.Post, "/api/v1/auth/login", new { username, password, tenant });
        api.Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", session.GetProperty("access_token").GetString());
        return api;
    }

    public Task<JsonElement> GetAsync(string path) => SendAsync(HttpMethod.Get, path);

    public Task<JsonElement> PostAsync(string path, object? body = null) => SendAsync(HttpMethod.Post, path, body);

    public Task<JsonElement> PutAsync(string path, object body) => SendAsync(HttpMethod.Put, path, body);

    public async Task<JsonElement> SendAsync(HttpMethod method, string path, object? body = null)
    {
        using var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative));
        if (body != null) request.Content = JsonContent.Create(body);
        using var response = await Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
            throw new HttpRequestException($"{method} {path} answered {(int)response.StatusCode}: {text}", null, response.StatusCode);
        return text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
    }

    public static long Id(JsonElement e) => e.GetProperty("id").GetInt64();

    public void Dispose() => Http.Dispose();
}
