namespace Lineup.Sip.Tests.Stack;

/// <summary>Every RFC 4475 vector through the stack: the handling the RFC expects, and never an exception.</summary>
public sealed class StackVectorTests
{
    private static readonly string Dir = Path.Combine(AppContext.BaseDirectory, "Vectors", "4475");

    /// <summary>
    /// The answer each vector must get. Invalid requests get 400 (or 505 for the version), valid requests whatever the
    /// core gives them (RFC 4475 §3.3: 416, 420, 415; 501 for unknown methods); responses and unanswerable ones nothing.
    /// </summary>
    private static readonly Dictionary<string, int?> Expected = new()
    {
        ["wsinv.sip"] = 481, // INVITE with a To tag: no such dialog (§12.2.2)
        ["esc01.sip"] = 480,
        ["escnull.sip"] = 405, // REGISTER without a handler
        ["esc02.sip"] = 501, // method RE%47IST%45R is not REGISTER
        ["lwsdisp.sip"] = 200, // OPTIONS
        ["longreq.sip"] = 480,
        ["dblreq.sip"] = 405,
        ["semiuri.sip"] = 200,
        ["transports.sip"] = 200,
        ["mpart01.sip"] = 405, // MESSAGE without a handler
        ["noreason.sip"] = null, // a response: nothing matches it
        ["intmeth.sip"] = 501,
        ["unreason.sip"] = null,
        ["badinv01.sip"] = 400,
        ["clerr.sip"] = 400,
        ["ncl.sip"] = 400,
        ["scalar02.sip"] = 400,
        ["scalarlg.sip"] = null, // a response with overlarge values: dropped
        ["quotbal.sip"] = 400,
        ["ltgtruri.sip"] = 400,
        ["lwsruri.sip"] = null, // start line unreadable: no way to trust the headers
        ["lwsstart.sip"] = null,
        ["trws.sip"] = null,
        ["escruri.sip"] = 400,
        ["baddate.sip"] = 400,
        ["regbadct.sip"] = 400,
        ["badaspec.sip"] = 400,
        ["baddn.sip"] = 400,
        ["badvers.sip"] = 505,
        ["mismatch01.sip"] = 400,
        ["mismatch02.sip"] = 400,
        ["bigcode.sip"] = null, // a response with a bad status code
        ["badbranch.sip"] = 400,
        ["unkscm.sip"] = 416,
        ["unksm2.sip"] = 405,
        ["bext01.sip"] = 420,
        ["invut.sip"] = 415,
        ["insuf.sip"] = null, // no From, To nor Call-ID to answer with: dropped (RFC 4475 §3.3.1 hopes for a 400)
        ["novelsc.sip"] = 416, // soap.beep: a scheme we do not serve
        ["regaut01.sip"] = 405, // REGISTER without a handler (the registrar answers it 401: SipRegistrarTests)
        ["multi01.sip"] = 400,
        ["mcl01.sip"] = 400,
        ["bcast.sip"] = null, // a response matching no transaction; nothing is ever sent to 255.255.255.255
        ["zeromf.sip"] = 200, // Max-Forwards 0 stops proxies (483), not the UAS it reached
        ["cparam01.sip"] = 405,
        ["cparam02.sip"] = 405,
        ["regescrt.sip"] = 405,
        ["sdp01.sip"] = 480, // INVITE without a handler (the application would answer 406)
        ["inv2543.sip"] = 480, // RFC 2543 syntax (no branch cookie, no Max-Forwards) is served
    };

    public static TheoryData<string> Files()
    {
        var data = new TheoryData<string>();
        foreach (var f in Directory.GetFiles(Dir, "*.sip").Select(Path.GetFileName).Order())
        {
            data.Add(f!);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void Vector_gets_the_expected_answer_from_the_stack(string file)
    {
        Assert.True(Expected.TryGetValue(file, out var expected), $"{file} has no expected handling in this test");
        var h = new Harness();
        h.Transport.Deliver(Harness.Peer, File.ReadAllBytes(Path.Combine(Dir, file)));
        var statuses = h.Sent.Where(m => m.StatusLine is { StatusCode: > 100 }).Select(m => m.StatusLine!.StatusCode).ToList();
        if (expected is null)
        {
            Assert.Empty(statuses);
        }
        else
        {
            Assert.Equal([expected.Value], statuses);
        }
        h.Advance(TimeSpan.FromSeconds(40));
        Assert.Equal(0, h.Stack.TransactionCount);
    }

    [Fact]
    public void Every_vector_on_disk_has_an_expectation()
    {
        var onDisk = Directory.GetFiles(Dir, "*.sip").Select(Path.GetFileName).ToHashSet();
        Assert.Equal(onDisk.Order(), Expected.Keys.Order());
    }

    [Fact]
    public void Vectors_also_survive_a_stack_with_a_handler_that_accepts_everything()
    {
        var h = new Harness(onRequest: r =>
        {
            if (r.Request.RequestLine!.Method == "INVITE")
            {
                r.AcceptInvite().Answer("v=0\r\n"u8.ToArray());
            }
            else
            {
                r.Respond(200);
            }
            return ValueTask.CompletedTask;
        });
        foreach (var f in Directory.GetFiles(Dir, "*.sip"))
        {
            h.Transport.Deliver(Harness.Peer, File.ReadAllBytes(f));
        }
        h.Advance(TimeSpan.FromSeconds(70)); // 2xx given up at 32 s, then the BYE's own timer F
        Assert.Equal(0, h.Stack.TransactionCount);
        Assert.True(h.Stack.SessionCount == 0, string.Join("\n", h.Stack.Sessions.Select(s => $"{s.CallId} {s.State}"))); // answered INVITEs never got an ACK: BYE after 64*T1
    }
}
