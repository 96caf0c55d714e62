using System.Text;

namespace Lineup.Sip.Tests.Stack;

/// <summary>Mutated messages through the stack: nothing throws inside it, and every transaction and session expires.</summary>
public sealed class StackFuzzTests
{
    private static readonly string Dir = Path.Combine(AppContext.BaseDirectory, "Vectors", "4475");

    [Fact]
    public void Mutated_vectors_and_calls_never_raise_an_internal_error_and_all_state_expires()
    {
        var h = new Harness(onRequest: r =>
        {
            if (r.Request.RequestLine!.Method == "INVITE")
            {
                var s = r.AcceptInvite();
                s.Ringing();
                s.Answer("v=0\r\n"u8.ToArray());
            }
            else
            {
                r.Respond(200);
            }
            return ValueTask.CompletedTask;
        });
        var seeds = Directory.GetFiles(Dir, "*.sip").Select(File.ReadAllBytes).ToList();
        seeds.Add(Encoding.UTF8.GetBytes(h.Request("INVITE", body: "v=0\n").Replace("\n", "\r\n", StringComparison.Ordinal)));
        seeds.Add(Encoding.UTF8.GetBytes(h.Request("BYE", toTag: "x").Replace("\n", "\r\n", StringComparison.Ordinal)));
        seeds.Add(Encoding.UTF8.GetBytes(h.Request("CANCEL").Replace("\n", "\r\n", StringComparison.Ordinal)));
        var random = new Random(4475);
        for (var i = 0; i < 5000; i++)
        {
            var bytes = (byte[])seeds[random.Next(seeds.Count)].Clone();
            var edits = random.Next(1, 4);
            for (var e = 0; e < edits; e++)
            {
                var at = random.Next(bytes.Length);
                switch (random.Next(3))
                {
                    case 0:
                        bytes[at] = (byte)random.Next(256);
                        break;
                    case 1:
                        bytes[at] = (byte)"\r\n:;,<>\"@ 0z"[random.Next(12)];
                        break;
                    default:
                        bytes = bytes[..at];
                        break;
                }
                if (bytes.Length == 0)
                {
                    break;
                }
            }
            h.Transport.Deliver(Harness.Peer, bytes);
            if (i % 500 == 0)
            {
                h.AdvanceMs(700);
            }
        }
        Assert.Empty(h.Log.Errors);
        h.Advance(TimeSpan.FromMinutes(4));
        Assert.Empty(h.Log.Errors);
        Assert.Equal(0, h.Stack.TransactionCount);
        Assert.Equal(0, h.Stack.SessionCount);
    }
}
