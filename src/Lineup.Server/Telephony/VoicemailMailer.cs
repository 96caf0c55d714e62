using System.ComponentModel.DataAnnotations;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Net.Security;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Threading.Channels;
using Lineup.Server.Records;
using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.Options;
using MimeKit;

namespace Lineup.Server.Telephony;

/// <summary>The SMTP server voicemail e-mails go through (section <c>Smtp</c>); no <see cref="Host"/>: no e-mail.</summary>
public sealed class SmtpOptions : IValidatableObject
{
    public const string Section = "Smtp";

    /// <summary>The SMTP server's host name or address; empty (the default): voicemails are not e-mailed.</summary>
    public string? Host { get; set; }

    /// <summary>The SMTP server's port (25, 587 for submission, 465 for TLS from the start).</summary>
    [Range(1, 65535)]
    public int Port { get; set; } = 25;

    /// <summary>The sender address of voicemail e-mails (required with a host).</summary>
    public string? From { get; set; }

    /// <summary>Transport security: <c>auto</c> (TLS from the start on port 465, else STARTTLS when the server offers
    /// it), <c>starttls</c> (required), <c>tls</c> (from the start), or <c>none</c> (clear text).</summary>
    public string Security { get; set; } = "auto";

    /// <summary>The user name to authenticate with; empty: no authentication.</summary>
    public string? Username { get; set; }

    /// <summary>The password of <see cref="Username"/>.</summary>
    public string? Password { get; set; }

    /// <summary>PEM file of the certificate authorities that alone are trusted for the SMTP server's certificate: a
    /// private CA, or the server's own self-signed certificate. Empty (the default): the system's roots. The server's
    /// name is checked either way; no setting accepts any certificate.</summary>
    public string? CaFile { get; set; }

    /// <summary>Attempts per e-mail before it is given up (the voicemail stays, marked <c>failed</c>).</summary>
    [Range(1, 50)]
    public int MaxAttempts { get; set; } = 5;

    /// <summary>The wait before the first retry; each later one waits twice as long, up to an hour.</summary>
    [Range(0.01, 3600)]
    public double RetrySeconds { get; set; } = 30;

    /// <summary>How long one attempt may take.</summary>
    [Range(1, 600)]
    public double TimeoutSeconds { get; set; } = 30;

    public bool Enabled => !string.IsNullOrWhiteSpace(Host);

    internal static readonly string[] SecurityNames = ["auto", "starttls", "tls", "none"];


    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!SecurityNames.Contains(Security, StringComparer.OrdinalIgnoreCase))
            yield return new ValidationResult($"Smtp:Security must be one of: {string.Join(", ", SecurityNames)}.", [nameof(Security)]);
        if (!Enabled) yield break;
        if (string.IsNullOrWhiteSpace(From) || !IsAddress(From))
            yield return new ValidationResult("Smtp:From must be an e-mail address when Smtp:Host is set.", [nameof(From)]);
        if (string.IsNullOrEmpty(Username) != string.IsNullOrEmpty(Password))
            yield return new ValidationResult("Smtp:Username and Smtp:Password go together.", [nameof(Username)]);
        if (!string.IsNullOrEmpty(CaFile) && Authorities() is null)
            yield return new ValidationResult($"Smtp:CaFile: {CaFile} is not a readable PEM file of certificates.", [nameof(CaFile)]);
    }

    // Apart, so that a server without SMTP never loads MimeKit.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static bool IsAddress(string text) => MailboxAddress.TryParse(text, out _);

    /// <summary>The certificates of <see cref="CaFile"/>; null when it is not set, or cannot be read or holds none.</summary>
    public X509Certificate2Collection? Authorities()
    {
        if (string.IsNullOrEmpty(CaFile)) return null;
        try
        {
            var roots = new X509Certificate2Collection();
            roots.ImportFromPemFile(CaFile);
            return roots.Count > 0 ? roots : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException)
        {
            return null;
        }
    }

    /// <summary>Accepts a server certificate that names the server and chains to one of <paramref name="roots"/> (and
    /// only those), within its validity period; revocation is not checked (a private CA publishes no list).</summary>
    public static RemoteCertificateValidationCallback TrustOnly(X509Certificate2Collection roots) => (_, certificate, presented, errors) =>
    {
        if (certificate is null || (errors & (SslPolicyErrors.RemoteCertificateNameMismatch | SslPolicyErrors.RemoteCertificateNotAvailable)) != 0) return false;
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.CustomTrustStore.AddRange(roots);
        // The intermediates the server sent.
        if (presented != null)
            foreach (var element in presented.ChainElements) chain.ChainPolicy.ExtraStore.Add(element.Certificate);
        using var leaf = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        return chain.Build(leaf);
    };
}

/// <summary>
/// E-mails each voicemail to its queue's address (docs/sip.md, "Voicemail"), with the WAV attached when the queue says
/// so, through MailKit. Outside the engine and the call: a failed attempt is logged and retried after
/// <see cref="SmtpOptions.RetrySeconds"/>, doubling, up to <see cref="SmtpOptions.MaxAttempts"/>; each outcome is
/// written to the voicemail's description, so pending e-mails survive a restart and the API shows the state. A
/// voicemail is never removed because its e-mail failed.
/// </summary>
public sealed partial class VoicemailMailer(IOptions<SmtpOptions> options, VoicemailBox box, TimeProvider time, ILogger<VoicemailMailer> log,
    ServerMetrics? metrics = null) : BackgroundService
{
    private readonly SmtpOptions _options = options.Value;
    private readonly RemoteCertificateValidationCallback? _trust = options.Value.Authorities() is { } roots ? SmtpOptions.TrustOnly(roots) : null;
    private readonly Counter<long>? _attempts = metrics?.Meter.CreateCounter<long>("lineup_voicemail_email_attempts_total",
        description: "Voicemail e-mail attempts by outcome (sent, retry, failed: given up) and, for the failed ones, reason.");
    private readonly Channel<(long Tenant, long Id)> _queue = Channel.CreateUnbounded<(long, long)>();

    /// <summary>An SMTP server is configured.</summary>
    public bool Enabled => _options.Enabled;

    // Here, not on SmtpOptions: options validation reflects over every property of SmtpOptions, and a MailKit type
    // there loaded MailKit in every server, SMTP or not.
    private static SecureSocketOptions SocketOptions(string security) => security.ToLowerInvariant() switch
    {
        "starttls" => SecureSocketOptions.StartTls,
        "tls" => SecureSocketOptions.SslOnConnect,
        "none" => SecureSocketOptions.None,
        _ => SecureSocketOptions.Auto,
    };

    /// <summary>Sends the voicemail's e-mail (its description says pending) in the background.</summary>
    public void Enqueue(long tenant, long id) => _queue.Writer.TryWrite((tenant, id));

    /// <summary>Parses a list of addresses (comma-separated); false when any is not an e-mail address.</summary>
    public static bool TryParseAddresses(string? text, out InternetAddressList addresses)
    {
        addresses = [];
        if (string.IsNullOrWhiteSpace(text) || !InternetAddressList.TryParse(text, out var list)) return false;
        addresses = list;
        return list.Count > 0 && list.All(a => a is MailboxAddress m && m.Address.Contains('@', StringComparison.Ordinal));
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!Enabled) return;
        foreach (var (tenant, record) in box.PendingMail()) Enqueue(tenant, record.Id);
        var sending = new List<Task>();
        try
        {
            await foreach (var (tenant, id) in _queue.Reader.ReadAllAsync(stoppingToken))
            {
                sending.RemoveAll(t => t.IsCompleted);
                sending.Add(SendWithRetriesAsync(tenant, id, stoppingToken));
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // stopping: attempts in flight end with the token; pending e-mails are sent after the next start
        }
        await Task.WhenAll(sending);
    }

    private async Task SendWithRetriesAsync(long tenant, long id, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            if (box.Get(tenant, id) is not { MailState: VoicemailRecord.MailPending } record) return;
            try
            {
                await SendAsync(tenant, record, stop);
                box.Update(tenant, id, r => r with
                {
                    MailState = VoicemailRecord.MailSent,
                    MailAttempts = r.MailAttempts + 1,
                    MailError = null,
                    MailedAt = time.GetUtcNow(),
                });
                LogSent(log, tenant, id, record.MailTo!);
                _attempts?.Add(1, new KeyValuePair<string, object?>("outcome", "sent"));
                return;
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                var attempts = record.MailAttempts + 1;
                var last = attempts >= _options.MaxAttempts;
                box.Update(tenant, id, r => r with
                {
                    MailAttempts = attempts,
                    MailError = ex.Message,
                    MailState = last ? VoicemailRecord.MailFailed : VoicemailRecord.MailPending,
                });
                var reason = Reason(ex);
                LogFailed(log, ex, tenant, id, attempts, _options.MaxAttempts, reason, ex.Message, last ? "given up" : "will retry");
                _attempts?.Add(1, new KeyValuePair<string, object?>("outcome", last ? "failed" : "retry"), new KeyValuePair<string, object?>("reason", reason));
                if (last) return;
                var wait = Math.Min(3600, _options.RetrySeconds * Math.Pow(2, attempts - 1));
                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(wait), time, stop);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private async Task SendAsync(long tenant, VoicemailRecord record, CancellationToken stop)
    {
        if (!TryParseAddresses(record.MailTo, out var to)) throw new FormatException($"'{record.MailTo}' is not a list of e-mail addresses.");
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse(_options.From!));
        message.To.AddRange(to);
        var seconds = Math.Round(record.DurationSeconds).ToString(CultureInfo.InvariantCulture);
        var caller = string.IsNullOrEmpty(record.CallerName) ? record.CallerNumber : $"{record.CallerName} <{record.CallerNumber}>";
        message.Subject = $"Voicemail from {caller} ({seconds} s), queue {record.QueueId}";
        var body = new BodyBuilder
        {
            TextBody = string.Create(CultureInfo.InvariantCulture,
                $"A caller left a voicemail.\n\nFrom: {caller}\nQueue: {record.QueueId}\nReceived: {record.CreatedAt:yyyy-MM-dd HH:mm:ss} UTC\nLength: {seconds} s\nVoicemail id: {record.Id}\n\nAudio: /api/v1/voicemails/{record.Id}/audio\n"),
        };
        if (record.AttachAudio && box.AudioPath(tenant, record.Id) is { } audio)
            await body.Attachments.AddAsync($"voicemail-{record.Id}.wav", File.OpenRead(audio), new ContentType("audio", "wav"), stop);
        message.Body = body.ToMessageBody();
        // Without Smtp:CaFile, MailKit's own check: the system's roots and the server's name.
        using var client = new SmtpClient { Timeout = (int)(_options.TimeoutSeconds * 1000), ServerCertificateValidationCallback = _trust };
        await client.ConnectAsync(_options.Host!, _options.Port, SocketOptions(_options.Security), stop);
        if (!string.IsNullOrEmpty(_options.Username)) await client.AuthenticateAsync(_options.Username, _options.Password ?? "", stop);
        await client.SendAsync(message, stop);
        await client.DisconnectAsync(true, stop);
    }

    [LoggerMessage(EventId = 655, Level = LogLevel.Information, Message = "Voicemail {Id} of tenant {Tenant} e-mailed to {To}")]
    private static partial void LogSent(ILogger logger, long tenant, long id, string to);

    /// <summary>What went wrong, in a word an operator can act on (the log's and the metric's <c>reason</c>).</summary>
    internal static string Reason(Exception ex) => ex switch
    {
        AuthenticationException => "authentication", // MailKit's: the server refused the user name or password
        SslHandshakeException => "certificate", // TLS failed, most often a server certificate that is not trusted
        SmtpCommandException => "rejected",
        SocketException or SmtpProtocolException or IOException or TimeoutException => "connection",
        _ => "other",
    };

    [LoggerMessage(EventId = 656, Level = LogLevel.Warning,
        Message = "Voicemail {Id} of tenant {Tenant}: e-mail attempt {Attempt} of {Max} failed ({Reason}: {Error}), {Outcome}")]
    private static partial void LogFailed(ILogger logger, Exception ex, long tenant, long id, int attempt, int max, string reason, string error, string outcome);
}
