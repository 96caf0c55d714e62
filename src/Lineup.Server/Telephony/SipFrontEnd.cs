using System.Collections.Concurrent;
using Lineup.Engine;
using Lineup.Server.Tenancy;
using Lineup.Sip;
using Lineup.Sip.Media;
using Lineup.Sip.Registrar;
using Lineup.Sip.Stack;
using Lineup.Sip.Transport;

namespace Lineup.Server.Telephony;

/// <summary>A phone registered for an agent: where to reach it, over what, from where, until when.</summary>
public sealed record SipContact(string Uri, string Transport, string Source, DateTimeOffset ExpiresAt);

/// <summary>An agent's SIP user and its live registrations.</summary>
public sealed record SipRegistration(long AgentId, string Username, IReadOnlyList<SipContact> Contacts);

/// <summary>
/// The built-in SIP/RTP front-end, a B2BUA: callers' INVITEs to a queue's extension are answered and enqueued; the
/// engine's media effects become SIP and RTP actions (ring agents' registered phones, cancel, bridge, play prompts
/// and hold music, transfer, hang up); SIP outcomes become engine commands. See docs/design/sip.md.
/// </summary>
public sealed partial class SipFrontEnd : IHostedService, IAsyncDisposable, IMediaNode
{
    private readonly TelephonyOptions _options;
    private readonly ITenantGateway _tenants;
    private readonly MediaEffects _effects;
    private readonly SipCredentialStore _credentials;
    private readonly TimeProvider _time;
    private readonly ILogger<SipFrontEnd> _log;
    private readonly ILoggerFactory _logs;
    private readonly ServerMetrics _metrics;
    private readonly MediaLibrary _library;
    private readonly VoicemailBox _voicemails;
    private readonly VoicemailMailer _mailer;
    private readonly ConcurrentDictionary<(long Tenant, long Call), SipCall> _calls = new();
    private readonly ITelephonyCluster? _cluster;
    // Cluster mode: calls enqueued whose engine id is not known here yet, by the token their first effects carry.
    private readonly ConcurrentDictionary<long, SipCall> _pending = new();
    private long _tokens;
    private SipStack? _stack;
    private MediaEngine? _media;
    private SipRegistrar? _registrar;
    private AuthThrottle? _throttle;
    private PromptLibrary? _prompts;

    public SipFrontEnd(TelephonyOptions options, ITenantGateway tenants, MediaEffects effects, SipCredentialStore credentials,
        TimeProvider time, ILoggerFactory logs, ServerMetrics metrics, MediaLibrary library, VoicemailBox voicemails, VoicemailMailer mailer,
        ITelephonyCluster? cluster = null)
    {
        _library = library;
        _voicemails = voicemails;
        _mailer = mailer;
        _cluster = cluster;
        _metrics = metrics;
        _options = options;
        _tenants = tenants;
        _effects = effects;
        _credentials = credentials;
        _time = time;
        _logs = logs;
        _log = logs.CreateLogger<SipFrontEnd>();
    }

    /// <summary>Where SIP listens once started (the port is known when the options asked for port 0).</summary>
    public System.Net.IPEndPoint? LocalEndPoint => _stack?.LocalEndPoint;

    /// <summary>Calls with at least one live SIP leg (for metrics and tests).</summary>
    public int ActiveCalls => _calls.Count;

    public MediaEngine? Media => _media;

    /// <summary>The REGISTER authentication throttle (blocked addresses and users), or null while SIP is off.</summary>
    public AuthThrottle? Throttle => _throttle;

    /// <summary>SIP messages dropped because they could not be parsed nor answered.</summary>
    public long DroppedMessages => _stack?.DroppedMessages ?? 0;

    /// <summary>New INVITEs refused with 503 by overload control for <paramref name="reason"/>.</summary>
    public long ShedInvites(SipOverloadReason reason) => _stack?.Overload.Shed(reason) ?? 0;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!_options.Enabled) return;
        var advertised = _options.Advertised();
        _prompts = PromptLibrary.Load(_options.PromptsPath);
        _media = new MediaEngine(new MediaOptions
        {
            Bind = _options.Listen.Address,
            SdpAddress = advertised.ToString(),
            PortMin = _options.RtpPortMin,
            PortMax = _options.RtpPortMax,
            PlayIntervalInstrument = _metrics.RtpSendInterval,
            TickLatenessInstrument = _metrics.RtpTickLateness,
            LegQuality = _metrics.LegQuality,
            Srtp = _options.Srtp,
            RealtimePriority = _options.MediaRealtimePriority,
        });
        _throttle = new AuthThrottle(new AuthThrottleOptions(), _time);
        _registrar = new SipRegistrar(new SipRegistrarOptions { Algorithms = _options.DigestAlgorithms }, _time, _credentials, _throttle);
        _stack = new SipStack(new SipStackOptions
        {
            Listen = _options.Listen,
            PublicHost = advertised.ToString(),
            OutboundProxy = _options.OutboundProxy is { } proxy ? new SipRemote(_options.OutboundProxyTransport, proxy) : null,
            OutboundProxyServerName = _options.OutboundProxyHost,
            Tls = _options.TlsOptions(),
            TlsListen = _options.TlsListen,
            UserAgent = "Lineup",
            MaxTransactions = _options.MaxTransactions,
            MaxSessions = _options.MaxSessions,
            Overload = _options.Overload(),
        }, _time, _logs.CreateLogger<SipStack>());
        _stack.OnRequest = OnRequestAsync;
        await _stack.StartAsync(cancellationToken);
        // On a single node the effects are carried out in the tenant's turn; in a cluster they go to the call's media node.
        if (_cluster != null) _cluster.Start(this);
        else _effects.Attach(OnEffects, QualityOf);
        if (_options.MediaTimeoutSeconds > 0)
        {
            var timeout = TimeSpan.FromSeconds(_options.MediaTimeoutSeconds);
            var period = TimeSpan.FromMilliseconds(Math.Clamp(timeout.TotalMilliseconds / 4, 500, 5000));
            _mediaSweep = _time.CreateTimer(_ => SweepMedia(timeout), null, period, period);
        }
        LogListening(_log, _stack.LocalEndPoint, advertised.ToString(), _options.RtpPortMin, _options.RtpPortMax);
        if (_stack.TlsEndPoint is { } tls) LogTlsListening(_log, tls, _options.TlsCertificate!, _options.Srtp);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_mediaSweep is { } sweep) await sweep.DisposeAsync();
        _mediaSweep = null;
        _effects.Detach();
        foreach (var call in _calls.Values) call.HangupAll();
        _calls.Clear();
        if (_stack != null) await _stack.DisposeAsync();
        if (_media != null) await _media.DisposeAsync();
        _stack = null;
        _media = null;
    }

    public async ValueTask DisposeAsync() => await StopAsync(CancellationToken.None);

    private ITimer? _mediaSweep;
    private int _sweeping;

    /// <summary>Sip:MediaTimeoutSeconds: every call's talking legs are checked for silence from their far end.</summary>
    private void SweepMedia(TimeSpan timeout)
    {
        if (Interlocked.Exchange(ref _sweeping, 1) == 1) return; // the previous sweep is still running
        try
        {
            var now = _time.GetTimestamp();
            foreach (var call in _calls.Values)
            {
                try
                {
                    call.CheckMedia(now, timeout, _time);
                }
                catch (Exception ex)
                {
                    LogCommandFailed(_log, ex, "media timeout");
                }
            }
        }
        finally
        {
            Volatile.Write(ref _sweeping, 0);
        }
    }

    /// <summary>A Request-URI host that names a tenant selects it; anything else (an IP address) is the default tenant.</summary>
    internal ITenant? ResolveTenant(SipMessage request)
    {
        var host = SipUri.TryParse(request.RequestLine!.RequestUri, out var uri) ? uri.Host : null;
        return (host != null ? _tenants.Find(host) : null) ?? _tenants.Find(_options.DefaultTenant);
    }

    private async ValueTask OnRequestAsync(SipIncomingRequest request)
    {
        switch (request.Request.RequestLine!.Method)
        {
            case "REGISTER":
                var tenant = ResolveTenant(request.Request);
                if (tenant == null)
                {
                    request.Respond(404, "No Such Domain");
                    LogRegister(request, null, 404, "No Such Domain", 0);
                    break;
                }
                if (_cluster != null && request.Request.GetFirst("Authorization") is { } authorization
                    && SipDigestCredentials.TryParse(authorization, out var digest))
                    await _credentials.RefreshAsync(tenant.TenantId, tenant.Name, digest.Username);
                var response = _registrar!.Handle(request.Request, request.Remote, tenant.Name);
                if (_cluster != null && response.StatusLine!.StatusCode == 200) await StoreBindingsAsync(tenant, request);
                request.Respond(response);
                LogRegister(request, tenant.Name, response.StatusLine!.StatusCode, response.StatusLine.ReasonPhrase, response.Contacts?.Count ?? 0);
                if (_options.LoginOnRegister && response.StatusLine.StatusCode == 200 && response.Contacts?.Count > 0) LoginOnRegister(tenant, request.Request);
                break;
            case "INVITE":
                await OnInviteAsync(request);
                break;
            default:
                request.Respond(405, headers: [new SipHeader("Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, REGISTER")]);
                break;
        }
    }

    /// <summary>A REGISTER's outcome, one line (a 401 challenge, half of every registration, only at Debug).</summary>
    private void LogRegister(SipIncomingRequest request, string? realm, int status, string reason, int contacts)
    {
        var msg = request.Request;
        var user = msg.To?.SipUri?.User ?? "?";
        if (status == 401) SipLog.Challenged(_log, user, realm ?? "?", request.Remote, msg.CallId ?? "");
        else SipLog.Registered(_log, user, realm ?? "?", request.Remote, status, reason, contacts, msg.CallId ?? "");
    }

    /// <summary>An INVITE to a queue's extension: answered with hold music, then enqueued.</summary>
    private async Task OnInviteAsync(SipIncomingRequest request)
    {
        var msg = request.Request;
        var host = ResolveTenant(msg);
        var number = SipUri.TryParse(msg.RequestLine!.RequestUri, out var uri) ? uri.User : null;
        var from = msg.From;
        var caller = from?.SipUri?.User is { Length: > 0 } u ? u : "anonymous";
        void Refuse(int status, string reason, IEnumerable<SipHeader>? headers = null)
        {
            request.Respond(status, headers: headers);
            SipLog.InviteRefused(_log, caller, request.Remote, number ?? "?", status, reason, msg.CallId ?? "");
        }
        if (host == null || string.IsNullOrEmpty(number))
        {
            Refuse(404, host == null ? $"no tenant is named by the Request-URI, nor the default tenant '{_options.DefaultTenant}'" : "no number in the Request-URI");
            return;
        }
        if (await TryFeatureCodeAsync(request, host, number, caller)) return;
        int? queue;
        QueueConfig? config = null;
        try
        {
            if (_cluster != null) queue = await _cluster.QueueOfExtensionAsync(host.TenantId, number);
            else
            {
                config = await host.QueryAsync(engine => engine.Queues.FirstOrDefault(q => q.Config.Extension == number)?.Config);
                queue = config?.Id.Value;
            }
        }
        catch (Exception ex) when (ex is TenantUnavailableException or TimeoutException || _cluster != null)
        {
            // The tenant is moving between nodes: the caller may try again in a moment.
            LogCommandFailed(_log, ex, "queue lookup");
            Refuse(503, $"tenant '{host.Name}' is moving between nodes", [new SipHeader("Retry-After", "2")]);
            return;
        }
        if (queue is not { } queueId)
        {
            Refuse(404, $"no queue of tenant '{host.Name}' has the extension {number}");
            return;
        }
        if (!TryCreateLeg(out var leg))
        {
            Refuse(503, "no free RTP port", [new SipHeader("Retry-After", "5")]);
            return;
        }
        leg.Srtp = _options.SrtpForQueue(number);
        var answer = leg.Answer(msg.Body.Span, out var refusal);
        if (answer == null)
        {
            await leg.DisposeAsync();
            // RFC 3261 §21.4.26: 488 with a Warning saying what could not be accepted (no codec, clear text refused…).
            Refuse(488, refusal ?? "the offer is not acceptable", [new SipHeader("Warning", $"399 lineup \"{refusal?.Replace("\"", "'", StringComparison.Ordinal)}\"")]);
            return;
        }
        var session = request.AcceptInvite();
        var call = new SipCall(this, host, session, leg, caller, Trim(from?.DisplayName, 128));
        if (config != null) UseQueueMedia(call, config.HoldMusic, config.Language); // in a cluster: at its CallQueued effect
        session.Answer(answer);
        leg.Play([], call.Music);
        var command = new EnqueueCommand(queueId, caller, Trim(from?.DisplayName, 128), 0, Trim(session.CallId, 128));
        if (_cluster != null)
        {
            await EnqueueThroughClusterAsync(_cluster, call, command, request, number);
            return;
        }
        try
        {
            // The projection runs in the tenant's mailbox before the batch's media effects are delivered, so the
            // call is known by its engine id when the first effect (an offer, a prompt) arrives.
            var result = await host.ExecuteAsync(command, (_, r) =>
            {
                if (r != CommandResult.Ok) return r;
                Register(call, command.Call);
                // Logged here, before the batch's effects ring anyone, so the lines come in the order things happened.
                SipLog.InviteQueued(_log, caller, request.Remote, number, host.Name, command.Call.Value, session.CallId);
                return r;
            });
            if (result != CommandResult.Ok)
            {
                LogEnqueueRefused(_log, result, number);
                call.HangupAll();
            }
        }
        catch (Exception ex)
        {
            LogCommandFailed(_log, ex, "enqueue");
            call.HangupAll();
            Forget(call);
        }
    }

    /// <summary>Cluster mode: the call is enqueued on the tenant's node, which sends its effects back here.</summary>
    private async Task EnqueueThroughClusterAsync(ITelephonyCluster cluster, SipCall call, EnqueueCommand command, SipIncomingRequest request, string number)
    {
        var token = Interlocked.Increment(ref _tokens);
        _pending[token] = call;
        try
        {
            var (result, id) = await cluster.EnqueueAsync(call.Host.TenantId, command, token);
            if (result != CommandResult.Ok)
            {
                _pending.TryRemove(token, out _);
                LogEnqueueRefused(_log, result, number);
                call.HangupAll();
                return;
            }
            // The first effects may have arrived (and registered the call) before this answer.
            RegisterPending(token, new CallId(id));
            SipLog.InviteQueued(_log, call.CallerNumber, request.Remote, number, call.Host.Name, id, request.Request.CallId ?? "");
        }
        catch (Exception ex)
        {
            _pending.TryRemove(token, out _);
            LogCommandFailed(_log, ex, "enqueue");
            call.HangupAll();
            Forget(call);
        }
    }

    private void Register(SipCall call, CallId id)
    {
        call.Id = id;
        _calls[(call.Host.TenantId, id.Value)] = call;
    }

    /// <summary>Registers the call waiting for its enqueue's answer under <paramref name="token"/>, if any (the answer
    /// and the call's first effects race for it). Registered before it leaves the pending table: the other, on another
    /// thread at the same moment, must not find it in neither and report its legs lost (a fresh call hung up at once).</summary>
    private SipCall? RegisterPending(long token, CallId id)
    {
        if (!_pending.TryGetValue(token, out var call)) return null;
        Register(call, id);
        _pending.TryRemove(token, out _);
        return call;
    }

    /// <summary>The media quality of a call whose legs are here, for its CDR; null otherwise.</summary>
    private Records.CdrMediaQualityRecord? QualityOf(ITenant host, CallId call) =>
        _calls.TryGetValue((host.TenantId, call.Value), out var c) ? c.Quality() : null;

    internal void Forget(SipCall call) => _calls.TryRemove(new KeyValuePair<(long, long), SipCall>((call.Host.TenantId, call.Id.Value), call));

    private static string? Trim(string? s, int max) => s == null ? null : s.Length <= max ? s : s[..max];

    /// <summary>Runs in the tenant's mailbox after each durable batch.</summary>
    private void OnEffects(ITenant host, CallCenter engine, IReadOnlyList<EngineEvent> effects)
    {
        foreach (var e in effects)
        {
            if (!_calls.TryGetValue((host.TenantId, e.Call.Value), out var call)) continue;
            try
            {
                var action = Plan(engine, e);
                Execute(call, action, action.Kind is EventKind.CallOffered or EventKind.CallAnswered ? LocalTargets(host, action) : default);
            }
            catch (Exception ex)
            {
                LogEffectFailed(_log, ex, e.Kind, e.Call.Value);
            }
        }
    }

    /// <summary>The effect with what the engine knows about its agent and queue (in the tenant's turn).</summary>
    public MediaAction Plan(CallCenter engine, in EngineEvent e)
    {
        var action = new MediaAction(e.Kind, e.Call.Value, e.Agent.Value, e.Code, e.Value, e.Value2, e.Text);
        if (e.Kind is EventKind.CallQueued or EventKind.CallMoved
            && engine.TryGetQueue(e.Kind == EventKind.CallMoved ? new QueueId((int)e.Value) : e.Queue, out var waitsIn))
            return action with { HoldMusic = waitsIn.Config.HoldMusic, Language = waitsIn.Config.Language };
        if (e.Kind == EventKind.CallToVoicemail && VoicemailBoxOf(engine, e) is { } box)
            return action with { Voicemail = box.Config.Voicemail, VoicemailQueue = box.Id.Value };
        if (e.Kind is not (EventKind.CallOffered or EventKind.CallAnswered)) return action;
        if (engine.TryGetAgent(e.Agent, out var agent) && !string.IsNullOrEmpty(agent.Config.Number))
            action = action with { AgentNumber = agent.Config.Number, RemoteAgent = agent.Config.Kind == AgentKind.Remote };
        if (e.Kind == EventKind.CallAnswered && engine.TryGetQueue(e.Queue, out var queue))
        {
            var c = queue.Config;
            action = action with
            {
                Record = c.RecordCalls,
                AgentAnnounce = c.AgentAnnouncePrompt,
                AgentAnnounceWait = c.AgentAnnounceWaitTime ? e.Value / 1000 : null,
                Language = c.Language,
            };
        }
        return action;
    }

    /// <summary>Cluster mode: effects sent by the tenant's node for calls whose SIP legs are here, in order.</summary>
    public async Task ApplyAsync(long tenantId, IReadOnlyList<(long Token, MediaAction Action)> actions)
    {
        HashSet<long>? unknown = null;
        foreach (var (token, action) in actions)
        {
            if (!_calls.TryGetValue((tenantId, action.Call), out var call))
            {
                // The call's first effects can overtake the answer to its enqueue.
                if (RegisterPending(token, new CallId(action.Call)) is not { } pending)
                {
                    // No legs here for it (its enqueue's answer was lost, and the caller was hung up): the engine must
                    // not wait for them.
                    if (action.Kind != EventKind.CallEnded && (unknown ??= []).Add(action.Call)) _ = ReportLostAsync(tenantId, action.Call);
                    continue;
                }
                call = pending;
            }
            try
            {
                var targets = action.Kind is EventKind.CallOffered or EventKind.CallAnswered ? await StoredTargetsAsync(call.Host, action) : default;
                Execute(call, action, targets);
            }
            catch (Exception ex)
            {
                LogEffectFailed(_log, ex, action.Kind, action.Call);
            }
        }
    }

    private async Task ReportLostAsync(long tenantId, long call)
    {
        try
        {
            await _cluster!.ExecuteAsync(tenantId, new MediaLostCommand(call));
        }
        catch (Exception ex)
        {
            LogCommandFailed(_log, ex, nameof(MediaLostCommand));
        }
    }

    private void Execute(SipCall call, MediaAction a, (List<SipTarget> Targets, string? User) ring)
    {
        var agent = new AgentId(a.Agent);
        switch (a.Kind)
        {
            case EventKind.Announcement:
                call.Play(Announcement(call, (PromptKind)a.Code, (int)a.Value, (int)a.Value2, a.Text), call.Music);
                break;
            case EventKind.CallSurvey:
                call.StartSurvey(Prompt(call, a.Text, PromptLibrary.SurveyQuestion));
                break;
            case EventKind.CallRated:
                call.Rated(Prompt(call, a.Text, PromptLibrary.SurveyThanks));
                break;
            case EventKind.CallQueued or EventKind.CallMoved:
                // The queue it waits in now (first known here in a cluster): its music and language.
                var music = call.Music;
                UseQueueMedia(call, a.HoldMusic, a.Language);
                if (!ReferenceEquals(music, call.Music)) call.Play([], call.Music);
                break;
            case EventKind.CallOffered:
                Offer(call, a, ring);
                break;
            case EventKind.OfferEnded:
                call.EndOffer(agent, (AttemptOutcome)a.Code);
                break;
            case EventKind.CallAnswered:
                // A pickup connects an agent whose phone was not rung: it is rung now, and bridged when it answers.
                // The agent alone hears the queue's whisper first (the caller keeps its music), then the two are bridged.
                var whisper = AgentWhisper(call, a);
                if (!call.Connect(agent, a.Record, whisper)) Offer(call, a, ring, connected: true, a.Record, whisper);
                break;
            case EventKind.CallbackDial:
                Dial(call, a.Text!, SipCall.Purpose.Callback);
                break;
            case EventKind.CallbackScheduled:
                call.HangupCaller();
                break;
            case EventKind.CallTransferStarted:
                // A consultation joined to a caller carried here keeps its agent's answered leg for that caller.
                if (a.Code == (int)TransferTarget.Call && _calls.TryGetValue((call.Host.TenantId, a.Value), out var into)
                    && call.HandOver(agent, into)) break;
                call.ReleaseAgent();
                break;
            case EventKind.CallTransferred:
                Dial(call, a.Text!, SipCall.Purpose.Transfer);
                break;
            case EventKind.CallToVoicemail:
                if (a.Voicemail is { Enabled: true } own)
                    call.StartVoicemail([.. Prompt(call, own.Greeting, PromptLibrary.VoicemailGreeting), AudioClip.Beep()], own, a.VoicemailQueue);
                else if (_options.VoicemailUri is { } vm) Dial(call, a.Text is { Length: > 0 } box ? BoxUri(vm, box) : vm, SipCall.Purpose.Transfer);
                else call.HangupCaller();
                break;
            case EventKind.CallHangup:
                call.HangupCaller();
                break;
            case EventKind.CallWrapUp:
                call.HangupAll();
                break;
            case EventKind.CallEnded:
                call.EngineEnded();
                break;
        }
    }

    /// <summary>The hold music and prompt language of the queue the call waits in: the queue's <c>hold_music</c> from the
    /// tenant's media library (or ringback), else the built-in music.</summary>
    private void UseQueueMedia(SipCall call, string? holdMusic, string? language)
    {
        call.Language = language;
        call.Music = string.Equals(holdMusic, MediaLibrary.Ringback, StringComparison.OrdinalIgnoreCase) ? AudioClip.Ringback()
            : _library.Resolve(call.Host.TenantId, holdMusic, language) ?? AudioClip.HoldMusic();
    }

    /// <summary>An announcement's clips: the queue's intro or periodic prompt from the media library when it names one,
    /// and every built-in prompt replaced by the tenant's media of the same name in the queue's language, if any.</summary>
    private IReadOnlyList<AudioClip> Announcement(SipCall call, PromptKind kind, int position, int wait, string? promptId)
    {
        var tenant = call.Host.TenantId;
        var language = call.Language;
        if (kind is PromptKind.Intro or PromptKind.Periodic && _library.Resolve(tenant, promptId, language) is { } own) return [own];
        return _prompts!.Compose(kind, position, wait, promptId, name => _library.Resolve(tenant, name, language, byName: true));
    }

    /// <summary>A prompt the queue names (a media), else the tenant's media named like the built-in one, else the built-in.</summary>
    private IReadOnlyList<AudioClip> Prompt(SipCall call, string? reference, string builtIn)
    {
        var clip = _library.Resolve(call.Host.TenantId, reference, call.Language)
            ?? _library.Resolve(call.Host.TenantId, builtIn, call.Language, byName: true) ?? _prompts!.Find(builtIn);
        return clip != null ? [clip] : [];
    }

    /// <summary>What the answering agent hears before the bridge: the queue's announce prompt (a media of the tenant's
    /// library, in the queue's language), then the caller's wait ("the caller waited 42 seconds", each word a built-in
    /// prompt unless the tenant has its own media of that name). Empty when the queue whispers nothing.</summary>
    private IReadOnlyList<AudioClip> AgentWhisper(SipCall call, MediaAction a)
    {
        var tenant = call.Host.TenantId;
        var language = a.Language ?? call.Language;
        var clips = new List<AudioClip>(8);
        if (a.AgentAnnounce != null && _library.Resolve(tenant, a.AgentAnnounce, language) is { } prompt) clips.Add(prompt);
        if (a.AgentAnnounceWait is { } wait)
            clips.AddRange(_prompts!.Waited((int)Math.Min(int.MaxValue, wait), name => _library.Resolve(tenant, name, language, byName: true)));
        return clips;
    }

    private static string BoxUri(string voicemail, string box) =>
        SipUri.TryParse(voicemail, out var u) ? $"sip:{box}@{u.Host}{(u.Port is { } p ? ":" + p : "")}" : voicemail;

    /// <summary>Rings the phones in <paramref name="ring"/> (every registered phone of a local agent, or a remote
    /// agent's number through the outbound proxy). <paramref name="connected"/>: the engine has connected the agent
    /// already (a pickup), so an agent that cannot be reached ends the talk (agent_hangup) instead of being busy.</summary>
    private void Offer(SipCall call, MediaAction a, (List<SipTarget> Targets, string? User) ring, bool connected = false, bool record = false,
        IReadOnlyList<AudioClip>? whisper = null)
    {
        var agent = new AgentId(a.Agent);
        var unreachable = connected ? CallEventType.AgentHangup : CallEventType.AgentBusy;
        if (a.AgentNumber == null)
        {
            SipLog.Unreachable(_log, agent.Value, call.Id.Value, "the agent has no number", EventName(unreachable));
            Report(call, unreachable, agent);
            return;
        }
        if (ring.Targets.Count == 0)
        {
            // No phone to ring: busy, so the agent's busy delay applies and the call moves on at once.
            SipLog.Unreachable(_log, agent.Value, call.Id.Value, a.RemoteAgent
                ? "a remote agent, and no Sip:OutboundProxy to call it through"
                : $"no phone is registered as {ring.User}@{call.Host.Name}", EventName(unreachable));
            Report(call, unreachable, agent);
            return;
        }
        SipLog.Ringing(_log, agent.Value, call.Id.Value, call.CallerNumber,
            string.Join(", ", ring.Targets.Select(t => t.Destination is { } d ? $"{t.Uri} via {d.Transport.ToString().ToLowerInvariant()} {d.EndPoint}" : t.Uri)));
        call.Ring(agent, ring.Targets, a.RemoteAgent ? _options.Srtp : _options.SrtpForAgent(ring.User!), connected, record, whisper);
    }

    /// <summary>Single node: the agent's phones as this node's registrar knows them.</summary>
    private (List<SipTarget>, string?) LocalTargets(ITenant host, MediaAction a)
    {
        if (a.AgentNumber == null) return ([], null);
        if (a.RemoteAgent) return (RemoteTarget(a.AgentNumber), null);
        var user = SipUser(host, a.Agent, a.AgentNumber)!;
        return ([.. _registrar!.Lookup(host.Name, user).Select(b => new SipTarget(b.ContactUri, Destination(b)))], user);
    }

    /// <summary>Cluster mode: the agent's phones as stored by whichever node they registered through; a phone
    /// registered through a proxy is reached through it, with its Path as the Route set (RFC 3327).</summary>
    private async Task<(List<SipTarget>, string?)> StoredTargetsAsync(ITenant host, MediaAction a)
    {
        if (a.AgentNumber == null) return ([], null);
        if (a.RemoteAgent) return (RemoteTarget(a.AgentNumber), null);
        await _cluster!.RefreshCredentialAsync(host.TenantId, a.Agent);
        var user = SipUser(host, a.Agent, a.AgentNumber)!;
        var targets = new List<SipTarget>();
        foreach (var b in await _cluster.BindingsAsync(host.TenantId, user))
        {
            if (b.Path.Count > 0 && SipNameAddress.TryParse(b.Path[0], out var hop) && hop.SipUri is { } first
                && System.Net.IPAddress.TryParse(first.Host.Trim('[', ']'), out var proxy))
            {
                var kind = string.Equals(first.Parameter("transport")?.Value, "tcp", StringComparison.OrdinalIgnoreCase) ? SipTransportKind.Tcp : SipTransportKind.Udp;
                targets.Add(new SipTarget(b.Contact, new SipRemote(kind, new System.Net.IPEndPoint(proxy, first.Port ?? 5060)),
                    [.. b.Path.Select(p => new SipHeader("Route", p))]));
            }
            else if (System.Net.IPEndPoint.TryParse(b.Source, out var source))
            {
                var kind = Enum.TryParse<SipTransportKind>(b.Transport, ignoreCase: true, out var k) ? k : SipTransportKind.Udp;
                targets.Add(new SipTarget(b.Contact, Destination(new SipBinding(b.Contact, new SipRemote(kind, source), "", 0, b.ExpiresAt))));
            }
        }
        return (targets, user);
    }

    private List<SipTarget> RemoteTarget(string number) =>
        _options.OutboundProxy is { } proxy ? [new SipTarget($"sip:{number}@{proxy}", null)] : [];

    /// <summary>Cluster mode: stores the registration the registrar just accepted, with its Path, for every node.</summary>
    private async Task StoreBindingsAsync(ITenant tenant, SipIncomingRequest request)
    {
        var msg = request.Request;
        if (msg.To?.SipUri?.User is not { Length: > 0 } user || msg.Contacts is not { Count: > 0 } contacts) return;
        try
        {
            if (contacts.Any(c => c.IsWildcard))
            {
                await _cluster!.RemoveBindingsAsync(tenant.TenantId, user);
                return;
            }
            var path = msg.Headers.Where(h => string.Equals(h.Name, "Path", StringComparison.OrdinalIgnoreCase))
                .SelectMany(h => SplitList(h.Value)).ToList();
            var live = _registrar!.Lookup(tenant.Name, user);
            var transport = request.Remote.Transport.ToString().ToLowerInvariant();
            foreach (var contact in contacts)
            {
                var binding = live.FirstOrDefault(b => b.ContactUri == contact.Uri);
                await _cluster!.SaveBindingAsync(tenant.TenantId, user, contact.Uri, path, transport, request.Remote.EndPoint.ToString(), binding?.ExpiresAt);
            }
        }
        catch (Exception ex)
        {
            LogCommandFailed(_log, ex, "store registration");
        }
    }

    /// <summary>A comma-separated header value split into its entries (commas inside &lt;&gt; kept).</summary>
    private static IEnumerable<string> SplitList(string value)
    {
        var parts = new List<string>();
        var (depth, start) = (0, 0);
        for (var i = 0; i <= value.Length; i++)
        {
            var c = i < value.Length ? value[i] : ',';
            depth += c == '<' ? 1 : c == '>' ? -1 : 0;
            if (c != ',' || depth > 0) continue;
            if (value[start..i].Trim() is { Length: > 0 } part) parts.Add(part);
            start = i + 1;
        }
        return parts;
    }

    /// <summary>
    /// Where to send an INVITE for a binding. A phone behind NAT writes a private address in its Contact: it is
    /// reached at the address its REGISTER came from (and over TCP on that connection). A Contact whose host is the
    /// REGISTER's source address is reachable as written (a phone, or a test tool, may register from another port
    /// than the one it listens on). A Contact that asks for TLS (<c>sips:</c> or <c>transport=tls</c>) registered over
    /// another transport gets no fixed destination: the stack connects to it over TLS (never in clear text).
    /// </summary>
    internal static SipRemote? Destination(SipBinding binding)
    {
        var source = binding.Source;
        if (source.Transport != SipTransportKind.Tls && SipUri.TryParse(binding.ContactUri, out var secure)
            && (secure.Secure || string.Equals(secure.Parameter("transport")?.Value, "tls", StringComparison.OrdinalIgnoreCase)))
            return null;
        if (source.Transport == SipTransportKind.Udp && SipUri.TryParse(binding.ContactUri, out var contact)
            && System.Net.IPAddress.TryParse(contact.Host.Trim('[', ']'), out var host) && host.Equals(source.EndPoint.Address))
            return new SipRemote(SipTransportKind.Udp, new System.Net.IPEndPoint(host, contact.Port ?? 5060));
        return source;
    }

    /// <summary>A callback to the customer or a transfer: a new INVITE through the outbound proxy.</summary>
    private void Dial(SipCall call, string number, SipCall.Purpose purpose)
    {
        string? uri = number.StartsWith("sip:", StringComparison.OrdinalIgnoreCase) ? number
            : _options.OutboundProxy is { } proxy ? $"sip:{number}@{proxy}" : null;
        call.Dial(uri, purpose);
    }

    /// <summary>The Lineup voicemail box a call sent to voicemail leaves its message in: the queue the destination's
    /// target names (its id or extension) when that queue has one, else the queue the call left, if it has one.</summary>
    private static Queue? VoicemailBoxOf(CallCenter engine, in EngineEvent e)
    {
        if (e.Text is { Length: > 0 } target)
        {
            var named = int.TryParse(target, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var id)
                && engine.TryGetQueue(new QueueId(id), out var byId) ? byId : engine.Queues.FirstOrDefault(q => q.Config.Extension == target);
            if (named is { Config.Voicemail.Enabled: true }) return named;
        }
        return engine.TryGetQueue(e.Queue, out var left) && left.Config.Voicemail.Enabled ? left : null;
    }

    internal VoicemailBox Voicemails => _voicemails;

    internal VoicemailMailer Mailer => _mailer;

    internal TimeProvider Time => _time;

    /// <summary>A voicemail's recording ended: an empty one (no voice, under half a second) is removed; otherwise it is
    /// complete, published (VoicemailLeftCommand → <c>voicemail.left</c>) and e-mailed when its box says so.</summary>
    internal void VoicemailRecorded(SipCall call, long queue, Records.VoicemailRecord record, MessageRecorder recorder, string endedBy)
    {
        var tenant = call.Host.TenantId;
        var (samples, voiced) = (recorder.Samples, recorder.VoicedSamples);
        var seconds = samples / (double)WavFile.SampleRate;
        try
        {
            recorder.Dispose();
            if (voiced == 0 || samples < WavFile.SampleRate / 2)
            {
                _voicemails.Delete(tenant, record.Id);
                SipLog.VoicemailEmpty(_log, call.Id.Value, seconds);
                return;
            }
            if (_voicemails.Complete(tenant, record.Id, seconds) is not { } done) return;
            SipLog.VoicemailStored(_log, call.Id.Value, done.Id, queue, seconds, endedBy);
            Post(call.Host, new VoicemailLeftCommand((int)queue, call.Id.Value, done.Id, (long)Math.Round(seconds * 1000), call.CallerNumber));
            if (done.MailState == Records.VoicemailRecord.MailPending) _mailer.Enqueue(tenant, done.Id);
        }
        finally
        {
            recorder.Dispose();
        }
    }

    /// <summary>A recording of the call's bridge, in a WAV file that the CDR names (SetRecordingCommand).</summary>
    internal WavRecorder StartRecording(SipCall call)
    {
        var dir = Path.Combine(_options.RecordingsPath, call.Host.TenantId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Directory.CreateDirectory(dir);
        var id = $"{call.Id.Value}.wav";
        var recorder = new WavRecorder(Path.Combine(dir, id));
        Post(call.Host, new SetRecordingCommand(call.Id.Value, id));
        return recorder;
    }

    /// <summary>An agent's SIP user name: the one set with its SIP credentials, else its number.</summary>
    internal string? SipUser(ITenant host, int agent, string? number) => _credentials.UsernameOf(host.TenantId, agent) ?? number;

    /// <summary>The agent's live registered contacts, or null when SIP is off or the agent has no SIP user. In a cluster,
    /// the registrations made through every node (as stored).</summary>
    public async Task<SipRegistration?> RegistrationsAsync(ITenant host, int agent, string? number)
    {
        if (_registrar == null) return null;
        if (_cluster != null) await _cluster.RefreshCredentialAsync(host.TenantId, agent);
        if (SipUser(host, agent, number) is not { } user) return null;
        var contacts = _cluster != null
            ? [.. (await _cluster.BindingsAsync(host.TenantId, user)).Select(b => new SipContact(b.Contact, b.Transport, b.Source, b.ExpiresAt))]
            : _registrar.Lookup(host.Name, user)
                .Select(b => new SipContact(b.ContactUri, b.Source.Transport.ToString().ToLowerInvariant(), b.Source.EndPoint.ToString(), b.ExpiresAt))
                .ToList();
        return new SipRegistration(agent, user, contacts);
    }

    /// <summary>Where a call's recording is kept, or null.</summary>
    public string? RecordingPath(long tenantId, string recordingId)
    {
        if (recordingId.Contains('/') || recordingId.Contains('\\') || recordingId.Contains("..", StringComparison.Ordinal)) return null;
        var path = Path.Combine(_options.RecordingsPath, tenantId.ToString(System.Globalization.CultureInfo.InvariantCulture), recordingId);
        return File.Exists(path) ? path : null;
    }

    internal SipStack Stack => _stack!;

    /// <summary>The front-end's log (SipLog's lines for the calls' legs).</summary>
    internal ILogger Log => _log;

    /// <summary>A call event as the API and the CDRs name it (agent_busy).</summary>
    internal static string EventName(CallEventType type) => System.Text.Json.JsonNamingPolicy.SnakeCaseLower.ConvertName(type.ToString());

    internal void Report(SipCall call, CallEventType type, AgentId agent = default, string? digits = null, Action<CommandResult>? then = null) =>
        Post(call.Host, new CallEventCommand(call.Id.Value, type, agent.Value == 0 ? null : agent.Value, digits), then);

    /// <summary>A media leg from the RTP port range; false when every port is taken.</summary>
    internal bool TryCreateLeg([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out RtpLeg? leg)
    {
        if (_media!.TryCreateLeg(out leg, out var error)) return true;
        LogNoMediaPort(_log, error);
        return false;
    }

    /// <summary>Sends a command to the tenant without waiting; a refusal is normal (the call moved on meanwhile).</summary>
    internal void Post(ITenant host, TenantCommand command, Action<CommandResult>? then = null) =>
        _ = PostAsync(host, command, then);

    private async Task PostAsync(ITenant host, TenantCommand command, Action<CommandResult>? then)
    {
        try
        {
            var result = _cluster != null ? await _cluster.ExecuteAsync(host.TenantId, command) : await host.ExecuteAsync(command, (_, r) => r);
            then?.Invoke(result);
        }
        catch (Exception ex)
        {
            LogCommandFailed(_log, ex, command.GetType().Name);
        }
    }

    [LoggerMessage(EventId = 604, Level = LogLevel.Warning, Message = "SIP: no RTP port for a new leg: {Error}")]
    private static partial void LogNoMediaPort(ILogger logger, string error);

    [LoggerMessage(EventId = 600, Level = LogLevel.Information, Message = "SIP listening on {EndPoint} (UDP and TCP), media address {Address}, RTP ports {Min}-{Max}")]
    private static partial void LogListening(ILogger logger, System.Net.IPEndPoint? endPoint, string address, int min, int max);

    [LoggerMessage(EventId = 605, Level = LogLevel.Information, Message = "SIP over TLS listening on {EndPoint} with {Certificate}; SRTP {Srtp}")]
    private static partial void LogTlsListening(ILogger logger, System.Net.IPEndPoint endPoint, string certificate, SrtpPolicy srtp);

    [LoggerMessage(EventId = 601, Level = LogLevel.Information, Message = "SIP call to {Number} refused by the engine: {Result}")]
    private static partial void LogEnqueueRefused(ILogger logger, CommandResult result, string number);

    [LoggerMessage(EventId = 602, Level = LogLevel.Error, Message = "SIP: command {Command} failed")]
    private static partial void LogCommandFailed(ILogger logger, Exception ex, string command);

    [LoggerMessage(EventId = 603, Level = LogLevel.Error, Message = "SIP: carrying out {Kind} for call {Call} failed")]
    private static partial void LogEffectFailed(ILogger logger, Exception ex, EventKind kind, long call);
}
