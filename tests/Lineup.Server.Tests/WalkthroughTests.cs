using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Lineup.Server.Tests;

public class WalkthroughTests
{
    [Fact]
    public async Task Queue_agent_call_answer_and_cdr_through_the_api()
    {
        using var factory = new LineupFactory();
        var api = await factory.SignInAsync();

        var queue = await Created(api, "/api/v1/queues", new { name = "support", strategy = "longest_idle" });
        var agent = await Created(api, "/api/v1/agents", new { name = "Ana", number = "1001" });
        var queueId = queue.GetProperty("id").GetInt64();
        var agentId = agent.GetProperty("id").GetInt64();
        await Created(api, $"/api/v1/queues/{queueId}/members", new { agent_id = agentId, level = 0, position = 1 });
        (await api.PostAsync($"/api/v1/agents/{agentId}/login", null)).EnsureSuccessStatusCode();

        var call = await Created(api, "/api/v1/calls", new { queue_id = queueId, caller_number = "+14155550100" });
        Assert.Equal("waiting", call.GetProperty("state").GetString());
        Assert.Equal(agentId, call.GetProperty("offers")[0].GetProperty("agent_id").GetInt64());
        var callId = call.GetProperty("id").GetInt64();

        var answered = await api.PostAsJsonAsync($"/api/v1/calls/{callId}/events", new { type = "agent_answered", agent_id = agentId });
        Assert.Equal("connected", (await answered.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("state").GetString());
        var hungUp = await api.PostAsJsonAsync($"/api/v1/calls/{callId}/events", new { type = "caller_hangup" });
        Assert.Equal("ended", (await hungUp.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("state").GetString());

        var cdrs = await api.GetFromJsonAsync<JsonElement>("/api/v1/cdrs");
        var cdr = Assert.Single(cdrs.GetProperty("items").EnumerateArray());
        Assert.Equal(callId, cdr.GetProperty("call_id").GetInt64());
        Assert.Equal("answered", cdr.GetProperty("disposition").GetString());
        Assert.Equal(agentId, cdr.GetProperty("agent_id").GetInt64());
    }

    private static async Task<JsonElement> Created(HttpClient api, string path, object body)
    {
        var response = await api.PostAsJsonAsync(path, body);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }
}
