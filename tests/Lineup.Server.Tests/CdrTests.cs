using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Lineup.Server.Tests;

/// <summary>Call detail records: filters, paging and CSV.</summary>
public class CdrTests(CdrTests.Calls fx) : IClassFixture<CdrTests.Calls>
{
    /// <summary>Two queues with an agent each and five finished calls, made once for the whole class.</summary>
    public sealed class Calls : ApiFixture
    {
        public long Queue1 { get; private set; }
        public long Queue2 { get; private set; }
        public long Agent1 { get; private set; }
        public long Agent2 { get; private set; }
        public List<long> CallIds { get; } = new();

        public override async Task InitializeAsync()
        {
            await base.InitializeAsync();
            Queue1 = await Tenant.QueueAsync();
            Queue2 = await Tenant.QueueAsync();
            Agent1 = await Tenant.ReadyAgentAsync(Queue1);
            Agent2 = await Tenant.ReadyAgentAsync(Queue2);
            CallIds.Add(await Tenant.AnsweredCallAsync(Queue1, Agent1, "+100", "Plain Name"));
            CallIds.Add(await Tenant.AnsweredCallAsync(Queue2, Agent2, "+200", "Smith, \"Jr\""));
            CallIds.Add(await Tenant.AnsweredCallAsync(Queue1, Agent1, "+300", "=HYPERLINK(\"http://x\")"));
            CallIds.Add(await Tenant.AnsweredCallAsync(Queue2, Agent2, "+400", "two\nlines"));
            // One nobody answered.
            await Tenant.Admin.PutOkAsync($"/api/v1/agents/{Agent1}/status", new { status = "not_ready" });
            var abandoned = await Tenant.CallAsync(Queue1, "+500");
            await Tenant.EventAsync(abandoned.Id(), "caller_hangup");
            CallIds.Add(abandoned.Id());
        }
    }

    private HttpClient Admin => fx.Tenant.Admin;

    [Fact]
    public async Task Lists_every_call_of_the_tenant_in_order_of_ending()
    {
        var all = (await Admin.OkAsync("/api/v1/cdrs")).Items();
        Assert.Equal(fx.CallIds, all.Select(c => c.Long("call_id")));
        var first = all[0];
        Assert.Equal("+100", first.Str("caller_number"));
        Assert.Equal("Plain Name", first.Str("caller_name"));
        Assert.Equal("answered", first.Str("disposition"));
        Assert.Equal(fx.Agent1, first.Long("agent_id"));
        Assert.Equal(fx.Queue1, first.Long("answered_queue_id"));
        Assert.Equal(fx.Queue1, Assert.Single(first.GetProperty("queues").EnumerateArray()).Long("queue_id"));
        Assert.Equal("answered", Assert.Single(first.GetProperty("attempts").EnumerateArray()).Str("outcome"));
        var last = all[^1];
        Assert.Equal("abandoned", last.Str("disposition"));
        Assert.True(last.IsNull("agent_id"));
        Assert.Empty(last.GetProperty("attempts").EnumerateArray());
    }

    [Fact]
    public async Task Filters_by_queue_and_agent()
    {
        Assert.Equal(new[] { fx.CallIds[0], fx.CallIds[2], fx.CallIds[4] }, await CallIdsAsync($"queue_id={fx.Queue1}"));
        Assert.Equal(new[] { fx.CallIds[1], fx.CallIds[3] }, await CallIdsAsync($"queue_id={fx.Queue2}"));
        Assert.Equal(new[] { fx.CallIds[0], fx.CallIds[2] }, await CallIdsAsync($"agent_id={fx.Agent1}"));
        Assert.Equal(new[] { fx.CallIds[1], fx.CallIds[3] }, await CallIdsAsync($"agent_id={fx.Agent2}&queue_id={fx.Queue2}"));
        Assert.Empty(await CallIdsAsync($"agent_id={fx.Agent2}&queue_id={fx.Queue1}"));
        Assert.Empty(await CallIdsAsync("queue_id=999999999"));
    }

    [Fact]
    public async Task Filters_by_time_from_inclusive_to_exclusive()
    {
        var all = (await Admin.OkAsync("/api/v1/cdrs")).Items();
        var ends = all.Select(c => (Id: c.Long("call_id"), End: c.GetProperty("ended_at").GetDateTimeOffset())).ToList();
        var pivot = ends[2].End;
        var iso = Uri.EscapeDataString(pivot.ToString("O", CultureInfo.InvariantCulture));

        Assert.Equal(ends.Where(e => e.End >= pivot).Select(e => e.Id), await CallIdsAsync($"from={iso}"));
        Assert.Equal(ends.Where(e => e.End < pivot).Select(e => e.Id), await CallIdsAsync($"to={iso}"));
        var upper = Uri.EscapeDataString(ends[3].End.ToString("O", CultureInfo.InvariantCulture));
        Assert.Equal(ends.Where(e => e.End >= pivot && e.End < ends[3].End).Select(e => e.Id), await CallIdsAsync($"from={iso}&to={upper}"));

        // Unix seconds work too.
        var hourAgo = DateTimeOffset.UtcNow.AddHours(-1).ToUnixTimeSeconds();
        var inAnHour = DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeSeconds();
        Assert.Equal(fx.CallIds, await CallIdsAsync($"from={hourAgo}&to={inAnHour}"));
        Assert.Empty(await CallIdsAsync($"from={inAnHour}"));
        Assert.Empty(await CallIdsAsync($"to={hourAgo}"));
    }

    [Fact]
    public async Task Pages_with_limit_and_cursor()
    {
        var seen = new List<long>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var page = await Admin.OkAsync("/api/v1/cdrs?limit=2" + (cursor != null ? "&cursor=" + Uri.EscapeDataString(cursor) : ""));
            seen.AddRange(page.Items().Select(c => c.Long("call_id")));
            cursor = page.Str("next_cursor");
            pages++;
        }
        while (cursor != null);
        Assert.Equal(fx.CallIds, seen);
        Assert.Equal(3, pages);

        // Paging composes with filters.
        var filtered = await Admin.OkAsync($"/api/v1/cdrs?queue_id={fx.Queue1}&limit=2");
        Assert.Equal(new[] { fx.CallIds[0], fx.CallIds[2] }, filtered.Items().Select(c => c.Long("call_id")));
        var rest = await Admin.OkAsync($"/api/v1/cdrs?queue_id={fx.Queue1}&limit=2&cursor={Uri.EscapeDataString(filtered.Str("next_cursor")!)}");
        Assert.Equal(new[] { fx.CallIds[4] }, rest.Items().Select(c => c.Long("call_id")));
        Assert.True(rest.IsNull("next_cursor"));
    }

    [Theory]
    [InlineData("limit=0", "limit")]
    [InlineData("limit=1001", "limit")]
    [InlineData("cursor=abc", "cursor")]
    [InlineData("cursor=1_2_3", "cursor")]
    [InlineData("from=yesterday", "from")]
    [InlineData("to=-5", "to")]
    [InlineData("queue_id=-1", "queue_id")]
    [InlineData("agent_id=x", "agent_id")]
    public async Task Bad_query_is_400_naming_the_parameter(string query, string field) =>
        await Admin.GetAsync("/api/v1/cdrs?" + query).ProblemAsync(HttpStatusCode.BadRequest, field);

    [Fact]
    public async Task Csv_has_a_header_row_and_one_quoted_row_per_call()
    {
        var response = await CsvAsync("/api/v1/cdrs");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/csv", response.Content.Headers.ContentType?.MediaType);
        var text = await response.Content.ReadAsStringAsync();
        Assert.EndsWith("\r\n", text, StringComparison.Ordinal);
        var rows = ParseCsv(text);

        string[] header =
        [
            "call_id", "caller_number", "caller_name", "external_id", "priority", "entered_at", "answered_at", "ended_at",
            "disposition", "exit_reason", "agent_id", "queue_id", "wait_seconds", "talk_seconds", "wrap_up_seconds", "attempts", "queues",
            "disposition_code", "rating",
        ];
        Assert.Equal(header, rows[0]);
        Assert.Equal(fx.CallIds.Count + 1, rows.Count);
        Assert.All(rows, r => Assert.Equal(header.Length, r.Length));
        var byId = rows.Skip(1).ToDictionary(r => long.Parse(r[0], CultureInfo.InvariantCulture));
        Assert.Equal(fx.CallIds.Order(), byId.Keys.Order());

        Assert.Equal("Plain Name", byId[fx.CallIds[0]][2]);
        Assert.Equal("Smith, \"Jr\"", byId[fx.CallIds[1]][2]);
        Assert.Contains("\"Smith, \"\"Jr\"\"\"", text, StringComparison.Ordinal);
        // A cell a spreadsheet would run as a formula is neutralised.
        Assert.Equal("'=HYPERLINK(\"http://x\")", byId[fx.CallIds[2]][2]);
        Assert.Equal("two\nlines", byId[fx.CallIds[3]][2]);
        Assert.Equal("+100", byId[fx.CallIds[0]][1]);

        var answered = byId[fx.CallIds[0]];
        Assert.Equal("answered", answered[8]);
        Assert.Equal(fx.Agent1.ToString(CultureInfo.InvariantCulture), answered[10]);
        Assert.Equal(fx.Queue1.ToString(CultureInfo.InvariantCulture), answered[11]);
        Assert.Equal("1", answered[15]);
        var abandoned = byId[fx.CallIds[4]];
        Assert.Equal("abandoned", abandoned[8]);
        Assert.Equal("", abandoned[10]);
        Assert.Equal("", abandoned[6]);

        // Times read exactly as in the JSON answer (milliseconds at most), so both can be joined or compared.
        var json = (await Admin.OkAsync("/api/v1/cdrs")).Items().ToDictionary(c => c.Long("call_id"));
        foreach (var (id, row) in byId)
        {
            Assert.Equal(json[id].Str("entered_at"), row[5]);
            Assert.Equal(json[id].Str("ended_at"), row[7]);
            Assert.Equal(json[id].TryGetProperty("answered_at", out var a) && a.ValueKind == JsonValueKind.String ? a.GetString() : "", row[6]);
        }
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,3})?[+-]\d\d:\d\d$", answered[5]);
    }

    [Fact]
    public async Task Csv_honours_filters_and_gives_the_next_cursor_in_a_header()
    {
        var response = await CsvAsync($"/api/v1/cdrs?queue_id={fx.Queue2}&limit=1");
        var rows = ParseCsv(await response.Content.ReadAsStringAsync());
        Assert.Equal(2, rows.Count);
        Assert.Equal(fx.CallIds[1].ToString(CultureInfo.InvariantCulture), rows[1][0]);
        var cursor = Assert.Single(response.Headers.GetValues("X-Next-Cursor"));

        var next = await CsvAsync($"/api/v1/cdrs?queue_id={fx.Queue2}&limit=1&cursor={Uri.EscapeDataString(cursor)}");
        var nextRows = ParseCsv(await next.Content.ReadAsStringAsync());
        Assert.Equal(fx.CallIds[3].ToString(CultureInfo.InvariantCulture), Assert.Single(nextRows.Skip(1))[0]);
        Assert.False(next.Headers.Contains("X-Next-Cursor"));
    }

    private async Task<long[]> CallIdsAsync(string query) =>
        (await Admin.OkAsync("/api/v1/cdrs?" + query)).Items().Select(c => c.Long("call_id")).ToArray();

    private Task<HttpResponseMessage> CsvAsync(string path)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/csv"));
        return Admin.SendAsync(request);
    }

    /// <summary>An RFC 4180 reader: quoted cells may hold commas, doubled quotes and line breaks.</summary>
    private static List<string[]> ParseCsv(string text)
    {
        var rows = new List<string[]>();
        var row = new List<string>();
        var cell = new StringBuilder();
        var quoted = false;
        for (var i = 0; i < text.Length; i++)
        {
            var ch = text[i];
            if (quoted)
            {
                if (ch == '"' && i + 1 < text.Length && text[i + 1] == '"') { cell.Append('"'); i++; }
                else if (ch == '"') quoted = false;
                else cell.Append(ch);
            }
            else if (ch == '"') quoted = true;
            else if (ch == ',') { row.Add(cell.ToString()); cell.Clear(); }
            else if (ch == '\r' && i + 1 < text.Length && text[i + 1] == '\n')
            {
                row.Add(cell.ToString());
                cell.Clear();
                rows.Add([.. row]);
                row.Clear();
                i++;
            }
            else cell.Append(ch);
        }
        Assert.False(quoted, "unterminated quoted cell");
        Assert.Empty(row);
        return rows;
    }
}
