using System.ComponentModel.DataAnnotations;
using System.Globalization;
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

    public SecureSocketOptions SocketOptions => Security.ToLowerInvariant() switch
    {
        "starttls" => SecureSocketOptions.StartTls,
        "tls" => SecureSocketOptions.SslOnConnect,
        "none" => SecureSocketOptions.None,
        _ => SecureSocketOptions.Auto,
    };

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!SecurityNames.Contains(Security, StringComparer.OrdinalIgnoreCase))
            yield return new ValidationResult($"Smtp:Security must be one of: {string.Join(", ", SecurityNames)}.", [nameof(Security)]);
        if (!Enabled) yield break;
        if (string.IsNullOrWhiteSpace(From) || !MailboxAddress.TryParse(From, out _))
            yield return new ValidationResult("Smtp:From must be an e-mail address when Smtp:Host is set.", [nameof(From)]);
        if (string.IsNullOrEmpty(Username) != string.IsNullOrEmpty(Password))
            yield return new ValidationResult("Smtp:Username and Smtp:Password go together.", [nameof(Username)]);
    }
}

/// <summary>
/// E-mails each voicemail to its queue's address (docs/sip.md, "Voicemail"), with the WAV attached when the queue says
/// so, through MailKit. Outside the engine and the call: a failed attempt is logged and retried after
/// <see cref="SmtpOptions.RetrySeconds"/>, doubling, up to <see cref="SmtpOptions.MaxAttempts"/>; each outcome is
/// written to the voicemail's description, so pending e-mails survive a restart and the API shows the state. A
/// voicemail is never removed because its e-mail failed.
/// </summary>
public sealed partial class VoicemailMailer(IOptions<SmtpOptions> options, VoicemailBox box, TimeProvider time, ILogger<VoicemailMailer> log)
    : BackgroundService
{
    private readonly SmtpOptions _options = options.Value;
    private readonly Channel<(long Tenant, long Id)> _queue = Channel.CreateUnbounded<(long, long)>();

    /// <summary>An SMTP server is configured.</summary>
    public bool Enabled => _options.Enabled;

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
                LogFailed(log, ex, tenant, id, attempts, _options.MaxAttempts, last ? "given up" : "will retry");
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
        using var client = new SmtpClient { Timeout = (int)(_options.TimeoutSeconds * 1000) };
        await client.ConnectAsync(_options.Host!, _options.Port, _options.SocketOptions, stop);
        if (!string.IsNullOrEmpty(_options.Username)) await client.AuthenticateAsync(_options.Username, _options.Password ?? "", stop);
        await client.SendAsync(message, stop);
        await client.DisconnectAsync(true, stop);
    }

    [LoggerMessage(EventId = 655, Level = LogLevel.Information, Message = "Voicemail {Id} of tenant {Tenant} e-mailed to {To}")]
    private static partial void LogSent(ILogger logger, long tenant, long id, string to);

    [LoggerMessage(EventId = 656, Level = LogLevel.Warning, Message = "Voicemail {Id} of tenant {Tenant}: e-mail attempt {Attempt} of {Max} failed, {Outcome}")]
    private static partial void LogFailed(ILogger logger, Exception ex, long tenant, long id, int attempt, int max, string outcome);
}
