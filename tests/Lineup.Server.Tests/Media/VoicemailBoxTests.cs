using System.Net;
using System.Net.Sockets;
using Lineup.Engine;
using Lineup.Server.Events;
using Lineup.Server.Records;
using Lineup.Server.Telephony;
using Lineup.Sip.Media;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Lineup.Server.Tests.Media;

/// <summary>The voicemail box and its e-mail outside a server: a message cut short by a crash is completed at the next
/// start (never lost), a failing SMTP server is tried a bounded number of times and the message stays, and what is
/// stored and published keeps its shape.</summary>
public sealed class VoicemailBoxTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("lineup-vm-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private VoicemailBox NewBox() => new(new TelephonyOptions { RecordingsPath = _dir }, TimeProvider.System);

    [Fact]
    public void A_message_a_crash_cut_short_is_completed_from_its_audio_at_the_next_start()
    {
        var box = NewBox();
        var (record, audio) = box.Start(3, 5, 7_000_000_001, "5550123", null, "ops@example.com", attachAudio: true, mailConfigured: true);
        // What a recorder leaves when the process dies: a header that lags the data (here: sizes 0), 1.5 s of audio.
        var writer = new WavWriter(audio, 1, leaveOpen: true);
        writer.Write(new short[3 * WavFile.SampleRate / 2]);
        audio.Dispose();
        Assert.Empty(box.List(3)); // incomplete: not listed
        Assert.Null(box.AudioPath(3, record.Id));

        var restarted = NewBox();
        var recovered = Assert.Single(restarted.List(3));
        Assert.Equal((record.Id, true, 1.5, VoicemailRecord.MailPending), (recovered.Id, recovered.Complete, recovered.DurationSeconds, recovered.MailState));
        Assert.Contains(restarted.PendingMail(), p => p.Tenant == 3 && p.Record.Id == record.Id); // and it will be e-mailed
        var samples = WavFile.TryDecode(File.ReadAllBytes(restarted.AudioPath(3, record.Id)!), out var error);
        Assert.True(samples != null, error);
        Assert.Equal(3 * WavFile.SampleRate / 2, samples.Length);
        // Ids go on after it; another tenant has its own.
        Assert.Equal(record.Id + 1, restarted.Start(3, 5, 7_000_000_002, "5550124", null, null, true, false).Record.Id);
        Assert.Empty(restarted.List(4));
    }

    [Fact]
    public async Task A_failing_smtp_server_is_tried_max_attempts_times_then_the_message_stays_marked_failed()
    {
        int closed;
        using (var listener = new TcpListener(IPAddress.Loopback, 0))
        {
            listener.Start();
            closed = ((IPEndPoint)listener.LocalEndpoint).Port; // nothing listens there once it is stopped
        }
        var box = NewBox();
        var (record, audio) = box.Start(1, 2, 7_000_000_009, "5550100", "Bob", "ops@example.com", attachAudio: true, mailConfigured: true);
        using (var recorder = new MessageRecorder(audio, 10, 0)) recorder.Write(RecordingSide.Left, new short[WavFile.SampleRate]);
        box.Complete(1, record.Id, 1);
        var options = Options.Create(new SmtpOptions
        {
            Host = "127.0.0.1",
            Port = closed,
            From = "lineup@example.com",
            Security = "none",
            MaxAttempts = 3,
            RetrySeconds = 0.05,
            TimeoutSeconds = 5,
        });
        using var mailer = new VoicemailMailer(options, box, TimeProvider.System, NullLogger<VoicemailMailer>.Instance);
        await mailer.StartAsync(CancellationToken.None); // finds the pending message on disk

        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (box.Get(1, record.Id)!.MailState == VoicemailRecord.MailPending && clock.Elapsed < TimeSpan.FromSeconds(30)) await Task.Delay(50);
        await mailer.StopAsync(CancellationToken.None);
        var after = box.Get(1, record.Id)!;
        Assert.Equal((VoicemailRecord.MailFailed, 3), (after.MailState, after.MailAttempts));
        Assert.False(string.IsNullOrEmpty(after.MailError));
        Assert.NotNull(box.AudioPath(1, record.Id)); // never lost because its e-mail failed
        Assert.Empty(box.PendingMail());
    }

    [Theory]
    [InlineData("127.0.0.1", null, "auto", null, null, "Smtp:From")]
    [InlineData("127.0.0.1", "not an address", "auto", null, null, "Smtp:From")]
    [InlineData(null, null, "ssl", null, null, "Smtp:Security")]
    [InlineData("127.0.0.1", "a@example.com", "tls", "user", null, "Smtp:Username")]
    public void Bad_smtp_options_are_refused_naming_the_key(string? host, string? from, string security, string? user, string? password, string key)
    {
        var o = new SmtpOptions { Host = host, From = from, Security = security, Username = user, Password = password };
        var errors = o.Validate(new System.ComponentModel.DataAnnotations.ValidationContext(o)).ToList();
        Assert.Contains(errors, e => e.ErrorMessage!.StartsWith(key, StringComparison.Ordinal));
        Assert.Empty(new SmtpOptions().Validate(new System.ComponentModel.DataAnnotations.ValidationContext(o))); // off: nothing required
    }

    [Fact]
    public void The_stored_description_and_the_voicemail_left_event_keep_their_shape()
    {
        var at = DateTimeOffset.FromUnixTimeMilliseconds(1_767_603_600_000);
        var stored = new VoicemailRecord(4, 2, 7_000_000_001, "+14155550100", "Bob", at, 12.34, true, "ops@example.com", true,
            VoicemailRecord.MailSent, 1, null, at.AddSeconds(3));
        RecordsGoldenTests.Golden("voicemail.json", stored.Json());
        Assert.Equal(stored, VoicemailRecord.Parse(stored.Json()[..^1] + ",\"added_later\":1}"));

        var engine = new CallCenter(new EngineOptions { Seed = 1, CallIdBase = 7_000_000_000 });
        var events = new List<EventRecord>();
        new EventMapper(42).Map(engine, new EngineEvent(EventKind.VoicemailLeft, 1_767_603_600_000, new QueueId(2), default, new CallId(7_000_000_001),
            Value: 4, Value2: 12_340, Text: "+14155550100"), events);
        RecordsGoldenTests.Golden("voicemail-left.json", Assert.Single(events).Json);
    }
}
