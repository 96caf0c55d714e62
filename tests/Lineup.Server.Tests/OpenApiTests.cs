using System.Net;
using System.Text.Json;

namespace Lineup.Server.Tests;

/// <summary>The OpenAPI document describes what the handlers really read and write: request and response schemas
/// with the API's snake_case names, a success response and a summary on every operation.</summary>
public sealed class OpenApiTests(LineupFactory factory) : IClassFixture<LineupFactory>
{
    private static readonly string[] Methods = ["get", "put", "post", "delete", "patch"];

    [Fact]
    public async Task Create_call_documents_its_body_and_the_created_call()
    {
        var doc = await DocumentAsync();
        var post = Operation(doc, "/api/v1/calls", "post");

        var body = Schema(doc, post.GetProperty("requestBody").GetProperty("content").GetProperty("application/json"));
        AssertProperties(body, "queue_id", "caller_number", "caller_name", "priority", "external_id");

        var created = Schema(doc, post.GetProperty("responses").GetProperty("201").GetProperty("content").GetProperty("application/json"));
        AssertProperties(created, "id", "state", "offers", "caller_number");
    }

    [Fact]
    public async Task Queue_status_documents_its_200_schema()
    {
        var doc = await DocumentAsync();
        var get = Operation(doc, "/api/v1/queues/{id}/status", "get");
        var status = Schema(doc, get.GetProperty("responses").GetProperty("200").GetProperty("content").GetProperty("application/json"));
        AssertProperties(status, "queue_id", "waiting", "available_agents", "estimated_wait_seconds");
        Assert.True(get.GetProperty("responses").TryGetProperty("404", out _), "GET /api/v1/queues/{id}/status should document its 404");
    }

    [Fact]
    public async Task Login_documents_credentials_and_tokens()
    {
        var doc = await DocumentAsync();
        var post = Operation(doc, "/api/v1/auth/login", "post");
        var body = Schema(doc, post.GetProperty("requestBody").GetProperty("content").GetProperty("application/json"));
        AssertProperties(body, "username", "password", "tenant");
        var ok = Schema(doc, post.GetProperty("responses").GetProperty("200").GetProperty("content").GetProperty("application/json"));
        AssertProperties(ok, "access_token", "refresh_token", "expires_in", "user");
    }

    [Fact]
    public async Task Every_api_operation_has_a_summary_and_a_described_success_response()
    {
        var doc = await DocumentAsync();
        var count = 0;
        foreach (var path in doc.GetProperty("paths").EnumerateObject().Where(p => p.Name.StartsWith("/api/v1/", StringComparison.Ordinal)))
        {
            foreach (var op in path.Value.EnumerateObject().Where(o => Methods.Contains(o.Name)))
            {
                count++;
                var name = $"{op.Name.ToUpperInvariant()} {path.Name}";
                Assert.False(string.IsNullOrWhiteSpace(op.Value.TryGetProperty("summary", out var s) ? s.GetString() : null), $"{name} has no summary");
                var success = op.Value.GetProperty("responses").EnumerateObject().Where(r => r.Name.StartsWith('2')).ToList();
                Assert.True(success.Count > 0, $"{name} documents no 2xx response");
                // A success with a body must say what the body is (the framework's default is a bare "200 OK").
                foreach (var r in success.Where(r => r.Name != "204"))
                    Assert.True(r.Value.TryGetProperty("content", out var content) && content.EnumerateObject().Any(c => c.Value.TryGetProperty("schema", out _)),
                        $"{name} documents a {r.Name} without a schema");
            }
        }
        Assert.True(count >= 40, $"only {count} operations under /api/v1");
    }

    [Fact]
    public async Task Every_protected_operation_names_the_bearer_and_api_key_schemes_so_docs_can_authorize()
    {
        var doc = await DocumentAsync();
        var schemes = doc.GetProperty("components").GetProperty("securitySchemes");
        var bearer = schemes.GetProperty("bearer");
        Assert.Equal(("http", "bearer"), (bearer.GetProperty("type").GetString(), bearer.GetProperty("scheme").GetString()));
        var apiKey = schemes.GetProperty("api_key");
        Assert.Equal(("apiKey", "header", "X-API-Key"),
            (apiKey.GetProperty("type").GetString(), apiKey.GetProperty("in").GetString(), apiKey.GetProperty("name").GetString()));

        var anonymous = new List<string>();
        var protectedCount = 0;
        foreach (var path in doc.GetProperty("paths").EnumerateObject())
        {
            foreach (var op in path.Value.EnumerateObject().Where(o => Methods.Contains(o.Name)))
            {
                var name = $"{op.Name.ToUpperInvariant()} {path.Name}";
                if (!op.Value.TryGetProperty("security", out var security))
                {
                    anonymous.Add(name);
                    continue;
                }
                protectedCount++;
                var named = security.EnumerateArray().SelectMany(r => r.EnumerateObject().Select(p => p.Name)).Order().ToArray();
                Assert.Equal(["api_key", "bearer"], named);
                Assert.Contains("role or above", op.Value.GetProperty("description").GetString(), StringComparison.Ordinal);
            }
        }
        // Exactly the endpoints that let anyone in: sign-in, refresh and the operations endpoints.
        Assert.Equal(["GET /healthz", "GET /metrics", "GET /readyz", "POST /api/v1/auth/login", "POST /api/v1/auth/refresh"], anonymous.Order().ToArray());
        Assert.True(protectedCount >= 40, $"only {protectedCount} protected operations");
        Assert.Contains("supervisor role", Operation(doc, "/api/v1/queues", "get").GetProperty("description").GetString(), StringComparison.Ordinal);
        Assert.Contains("admin role", Operation(doc, "/api/v1/queues", "post").GetProperty("description").GetString(), StringComparison.Ordinal);
    }

    private async Task<JsonElement> DocumentAsync()
    {
        var response = await factory.CreateClient().GetAsync("/openapi/v1.json");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }

    private static JsonElement Operation(JsonElement doc, string path, string method)
    {
        Assert.True(doc.GetProperty("paths").TryGetProperty(path, out var item), $"no {path} in the document");
        Assert.True(item.TryGetProperty(method, out var op), $"no {method.ToUpperInvariant()} {path} in the document");
        return op;
    }

    /// <summary>The schema of a media type, with a reference to components followed.</summary>
    private static JsonElement Schema(JsonElement doc, JsonElement mediaType)
    {
        var schema = mediaType.GetProperty("schema");
        while (schema.TryGetProperty("$ref", out var reference))
        {
            var name = reference.GetString()!;
            const string prefix = "#/components/schemas/";
            Assert.StartsWith(prefix, name, StringComparison.Ordinal);
            schema = doc.GetProperty("components").GetProperty("schemas").GetProperty(name[prefix.Length..]);
        }
        return schema;
    }

    private static void AssertProperties(JsonElement schema, params string[] names)
    {
        Assert.True(schema.TryGetProperty("properties", out var properties), $"schema without properties: {schema}");
        var present = properties.EnumerateObject().Select(p => p.Name).ToList();
        foreach (var name in names)
            Assert.True(present.Contains(name), $"schema lacks '{name}'; it has [{string.Join(", ", present)}]");
    }
}
