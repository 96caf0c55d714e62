using System.Diagnostics;
using System.Diagnostics.Metrics;
using Lineup.Server.Records;
using Lineup.Server.Telephony;
using Lineup.Server.Tests.Telephony;
using Lineup.Sip.Media;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MimeKit;

namespace Lineup.Server.Tests.Media;

/// <summary>
/// Voicemail e-mail through an SMTP server as providers run them (python3-aiosmtpd started by the test): STARTTLS
/// required before anything else, then AUTH LOGIN or PLAIN before MAIL, with a certificate from a private CA that the
/// test makes with openssl. Lineup trusts that server only when told to (<c>Smtp:CaFile</c>) and only for the name
/// it connects to, authenticates over TLS
/// and delivers; a wrong password or an untrusted certificate is a bounded number of attempts, each logged with its
/// reason and counted in <c>lineup_voicemail_email_attempts_total</c>, then the message is marked failed and kept.
/// </summary>
public sealed class SmtpSecurityTests : IDisposable
{
    private const string User = "voicemail@example.com";
    private const string Password = "s3cret-pass";
    private readonly string _dir = Directory.CreateTempSubdirectory("lineup-smtp-tls-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("LOGIN")]
    [InlineData("PLAIN")]
    public async Task Lineup_authenticates_over_starttls_to_a_server_of_a_private_ca_and_delivers(string mechanism)
    {
        var pki = await PrivateCaAsync();
        await using var smtp = await SmtpSink.StartAsync(new SmtpSinkSecurity(pki.Certificate, pki.Key, User, Password, mechanism));
        var run = await SendAsync(smtp, Password, pki.Ca, security: "starttls", maxAttempts: 3);

        Assert.True(run.Record.MailState == VoicemailRecord.MailSent, string.Join('\n', run.Exceptions));
        Assert.Equal(1, run.Record.MailAttempts);
        var mail = await smtp.WaitForAsync(m => m.Subject?.Contains("5550100", StringComparison.Ordinal) == true);
        Assert.Equal("ops@example.com", Assert.Single(mail.To.Mailboxes).Address);
        Assert.Equal($"voicemail-{run.Record.Id}.wav", Assert.Single(mail.Attachments.OfType<MimePart>()).FileName);
        // The server saw one login, with this mechanism, over TLS (it refuses AUTH and MAIL before STARTTLS anyway).
        Assert.Equal([$"AUTH {mechanism} {User} accepted tls=True"], AuthLines(smtp));
        Assert.Equal([("sent", null)], run.Attempts);
    }

    [Fact]
    public async Task A_wrong_password_is_a_bounded_number_of_attempts_logged_and_counted_as_authentication_then_failed()
    {
        var pki = await PrivateCaAsync();
        await using var smtp = await SmtpSink.StartAsync(new SmtpSinkSecurity(pki.Certificate, pki.Key, User, Password, "PLAIN"));
        var run = await SendAsync(smtp, "wrong-password", pki.Ca, security: "auto", maxAttempts: 3);
        // The message stays, its e-mail marked failed after three attempts; the server saw exactly three logins.

        Assert.True(run.Record.MailState == VoicemailRecord.MailFailed, string.Join('\n', run.Exceptions));
        Assert.Equal(3, run.Record.MailAttempts);
        Assert.Contains("535", run.Record.MailError, StringComparison.Ordinal); // the server's own answer, kept for the API
        Assert.Empty(smtp.Messages());
        Assert.Equal(Enumerable.Repeat($"AUTH PLAIN {User} refused tls=True", 3), AuthLines(smtp));
        Assert.Equal([("retry", "authentication"), ("retry", "authentication"), ("failed", "authentication")], run.Attempts);
        Assert.Equal(3, run.Log.Count(l => l.Contains("failed (authentication: ", StringComparison.Ordinal)));
        Assert.Contains(run.Log, l => l.EndsWith("given up", StringComparison.Ordinal));
        Assert.DoesNotContain(run.Log, l => l.Contains("wrong-password", StringComparison.Ordinal)); // never a secret in the log
    }

    [Fact]
    public async Task Without_the_private_ca_the_server_s_certificate_is_refused_and_nothing_is_sent()
    {
        var pki = await PrivateCaAsync();
        await using var smtp = await SmtpSink.StartAsync(new SmtpSinkSecurity(pki.Certificate, pki.Key, User, Password, "LOGIN"));
        var run = await SendAsync(smtp, Password, caFile: null, security: "starttls", maxAttempts: 2);

        Assert.Equal((VoicemailRecord.MailFailed, 2), (run.Record.MailState, run.Record.MailAttempts));
        Assert.Empty(AuthLines(smtp)); // the password never left Lineup
        Assert.Empty(smtp.Messages());
        Assert.Equal([("retry", "certificate"), ("failed", "certificate")], run.Attempts);

        // A CA that did not sign the server's certificate is no better.
        var other = await PrivateCaAsync("other");
        var again = await SendAsync(smtp, Password, other.Ca, security: "starttls", maxAttempts: 1);
        Assert.Equal([("failed", "certificate")], again.Attempts);
        Assert.Empty(AuthLines(smtp));
    }

    [Fact]
    public async Task A_certificate_of_the_trusted_ca_for_another_name_is_refused()
    {
        var pki = await PrivateCaAsync("elsewhere", names: "DNS:mail.example.com");
        await using var smtp = await SmtpSink.StartAsync(new SmtpSinkSecurity(pki.Certificate, pki.Key, User, Password, "LOGIN"));
        var run = await SendAsync(smtp, Password, pki.Ca, security: "starttls", maxAttempts: 1);
        Assert.Equal([("failed", "certificate")], run.Attempts);
        Assert.Empty(AuthLines(smtp));
    }

    [Fact]
    public void A_ca_file_that_is_missing_or_not_pem_stops_start_up_naming_the_key()
    {
        var notPem = Path.Combine(_dir, "not.pem");
        File.WriteAllText(notPem, "not a certificate");
        foreach (var file in new[] { notPem, Path.Combine(_dir, "missing.pem") })
        {
            var o = new SmtpOptions { Host = "127.0.0.1", From = "lineup@example.com", CaFile = file };
            var errors = o.Validate(new System.ComponentModel.DataAnnotations.ValidationContext(o)).ToList();
            Assert.Contains(errors, e => e.ErrorMessage!.StartsWith("Smtp:CaFile", StringComparison.Ordinal));
        }
    }

    private sealed record Run(VoicemailRecord Record, List<(string Outcome, string? Reason)> Attempts, List<string> Log, List<string> Exceptions);

    private static List<string> AuthLines(SmtpSink smtp) =>
        [.. smtp.Output.Split('\n', StringSplitOptions.TrimEntries).Where(l => l.StartsWith("AUTH ", StringComparison.Ordinal))];

    /// <summary>One pending voicemail e-mailed by a VoicemailMailer of its own, until it is sent or given up: the record
    /// then, the attempts the metric counted, and what was logged.</summary>
    private async Task<Run> SendAsync(SmtpSink smtp, string password, string? caFile, string security, int maxAttempts)
    {
        var box = new VoicemailBox(new TelephonyOptions { RecordingsPath = Path.Combine(_dir, "recordings") }, TimeProvider.System);
        var (record, audio) = box.Start(1, 2, 7_000_000_001, "5550100", "Ann", "ops@example.com", attachAudio: true, mailConfigured: true);
        using (var recorder = new MessageRecorder(audio, 10, 0)) recorder.Write(RecordingSide.Left, new short[WavFile.SampleRate]);
        box.Complete(1, record.Id, 1);
        var options = Options.Create(new SmtpOptions
        {
            Host = "127.0.0.1",
            Port = smtp.Port,
            From = "lineup@example.com",
            Security = security,
            Username = User,
            Password = password,
            CaFile = caFile,
            MaxAttempts = maxAttempts,
            RetrySeconds = 0.05,
            TimeoutSeconds = 10,
        });
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var metrics = new ServerMetrics(services.GetRequiredService<IMeterFactory>(), TimeProvider.System);
        var attempts = new List<(string, string?)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter == metrics.Meter && instrument.Name == "lineup_voicemail_email_attempts_total") l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            string? outcome = null, reason = null;
            foreach (var t in tags)
            {
                if (t.Key == "outcome") outcome = (string?)t.Value;
                if (t.Key == "reason") reason = (string?)t.Value;
            }
            lock (attempts) attempts.Add((outcome!, reason));
        });
        listener.Start();
        var log = new ListLogger();
        using var mailer = new VoicemailMailer(options, box, TimeProvider.System, log, metrics);
        await mailer.StartAsync(CancellationToken.None); // finds the pending message on disk
        var clock = Stopwatch.StartNew();
        while (box.Get(1, record.Id)!.MailState == VoicemailRecord.MailPending && clock.Elapsed < TimeSpan.FromSeconds(60)) await Task.Delay(50);
        await mailer.StopAsync(CancellationToken.None);
        Assert.False(mailer.ExecuteTask!.IsFaulted, mailer.ExecuteTask.Exception?.ToString()); // never a crash
        lock (attempts) return new Run(box.Get(1, record.Id)!, [.. attempts], log.Lines, log.Exceptions);
    }

    /// <summary>A private CA (made here with openssl) and a certificate it signed for <paramref name="names"/> (subject
    /// alternative names; by default 127.0.0.1 and localhost, where the sink listens).</summary>
    private async Task<(string Ca, string Certificate, string Key)> PrivateCaAsync(string name = "ca", string names = "IP:127.0.0.1,DNS:localhost")
    {
        var dir = Directory.CreateDirectory(Path.Combine(_dir, name)).FullName;
        string F(string file) => Path.Combine(dir, file);
        await OpenSslAsync("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", $"/CN=Lineup test {name}",
            "-keyout", F("ca.key"), "-out", F("ca.pem"), "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign");
        await OpenSslAsync("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=Lineup test server", "-keyout", F("server.key"), "-out", F("server.csr"));
        await File.WriteAllTextAsync(F("server.ext"), $"subjectAltName={names}\nextendedKeyUsage=serverAuth\n");
        await OpenSslAsync("x509", "-req", "-in", F("server.csr"), "-CA", F("ca.pem"), "-CAkey", F("ca.key"), "-CAcreateserial",
            "-days", "2", "-extfile", F("server.ext"), "-out", F("server.pem"));
        return (F("ca.pem"), F("server.pem"), F("server.key"));
    }

    private static async Task OpenSslAsync(params string[] arguments)
    {
        const string openssl = "/usr/bin/openssl";
        if (!File.Exists(openssl)) Assert.Fail("openssl is missing: apt-get install -y openssl");
        using var process = Process.Start(new ProcessStartInfo(openssl, arguments) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var output = process.StandardError.ReadToEndAsync();
        await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"openssl {string.Join(' ', arguments)}: {await output}");
    }

    /// <summary>Keeps each formatted line (with its exception's message), as an operator would read it.</summary>
    private sealed class ListLogger : ILogger<VoicemailMailer>
    {
        public List<string> Lines { get; } = [];

        /// <summary>The exceptions logged, whole (for a failing test's message).</summary>
        public List<string> Exceptions { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (Lines)
            {
                Lines.Add(formatter(state, exception));
                if (exception != null) Exceptions.Add(exception.ToString());
            }
        }
    }
}
