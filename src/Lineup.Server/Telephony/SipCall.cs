using Lineup.Engine;
using Lineup.Server.Tenancy;
using Lineup.Sip;
using Lineup.Sip.Media;
using Lineup.Sip.Stack;
using Lineup.Sip.Transport;

namespace Lineup.Server.Telephony;

/// <summary>
/// The SIP legs of one engine call: the caller's (or, for a callback, the customer's), the agents being rung (one
/// leg per agent, forked to each registered contact), the connected agent, and a transfer. SIP events arrive on
/// the stack's threads and engine effects on the tenant's mailbox, so state changes take the call's lock; SIP and
/// RTP actions run after it is released, because the stack raises a session's events on the thread that acts on
/// the session, and those handlers take this lock again.
/// </summary>
/// <summary>Where to ring a phone: its Contact, where to send the INVITE, and a Route set (a stored Path).</summary>
internal readonly record struct SipTarget(string Uri, SipRemote? Destination, IReadOnlyList<SipHeader>? Headers = null);

internal sealed partial class SipCall
{
    public enum Purpose { Transfer, Callback }

    private readonly SipFrontEnd _fe;
    private readonly Lock _gate = new();
    private readonly Dictionary<AgentId, AgentLeg> _offers = [];
    private InviteSession? _caller;
    private RtpLeg? _callerMedia;
    private bool _callerDone;
    private AgentLeg? _connected;
    private Leg? _transfer;
    private WavRecorder? _recorder;
    private bool _engineEnded;

    // Post-call survey: the caller stays on the line after the agent's hang-up until it rates (then hears the thanks)
    // or the engine ends the call.
    private bool _surveying;
    private bool _surveyRated;

    public SipCall(SipFrontEnd fe, ITenant host, InviteSession caller, RtpLeg media, string callerNumber, string? callerName)
    {
        _fe = fe;
        Host = host;
        CallerNumber = callerNumber;
        CallerName = callerName;
        AttachCaller(caller, media);
    }

    public ITenant Host { get; }
    public CallId Id { get; set; }

    /// <summary>What the caller hears while waiting (the queue's hold music); set in the tenant's mailbox.</summary>
    public AudioClip Music { get; set; } = AudioClip.HoldMusic();

    /// <summary>The waiting queue's prompt language.</summary>
    public string? Language { get; set; }
    public string CallerNumber { get; }
    public string? CallerName { get; }

    private class Leg(RtpLeg media)
    {
        public readonly List<InviteSession> Forks = [];
        public readonly RtpLeg Media = media;
        public InviteSession? Answered;
        public bool Done;
        public bool LocalHangup;

        /// <summary>For <c>Sip:MediaTimeoutSeconds</c> (<see cref="CheckMedia"/>; made by its first sweep).</summary>
        public MediaWatch? Watch;
    }

    private sealed class AgentLeg(SipCall owner, AgentId agent, RtpLeg media) : Leg(media)
    {
        public readonly AgentId Agent = agent;

        /// <summary>The call this leg's session events go to: the call that rang it, or the caller's call it was handed
        /// over to at the end of an attended transfer (<see cref="HandOver"/>).</summary>
        public volatile SipCall Owner = owner;

        /// <summary>Handed over answered from a consultation: bridged without the queue's whisper (the agent has just
        /// talked to the first agent about this caller).</summary>
        public bool HandedOver;

        /// <summary>The engine has connected this agent already (a pickup): the phone's answer is bridged at once
        /// instead of being reported, and a phone that does not answer ends the talk.</summary>
        public bool Connected;

        /// <summary>Whether the bridge is recorded (the queue's setting when the engine connected the call).</summary>
        public bool Record;

        /// <summary>What this agent alone hears between its answer and the bridge (the queue's whisper); null once
        /// played or when there is none.</summary>
        public IReadOnlyList<AudioClip>? Whisper;

        /// <summary>The agent's phone holds the call (a re-INVITE offering sendonly or inactive): the caller hears the
        /// queue's music instead of the agent until it resumes.</summary>
        public bool Held;
    }

    /// <summary>Runs <paramref name="body"/> under the lock, then the actions it queued.</summary>
    private void Locked(Action<List<Action>> body)
    {
        var later = new List<Action>();
        lock (_gate) body(later);
        foreach (var action in later) action();
    }

    private void AttachCaller(InviteSession session, RtpLeg media)
    {
        _caller = session;
        _callerMedia = media;
        _callerDone = false;
        _callerWatch = null;
        session.Ended += CallerEnded;
        session.InfoDtmf += (_, digit) => _fe.Report(this, CallEventType.Dtmf, digits: digit);
        media.Dtmf += (_, digit) => _fe.Report(this, CallEventType.Dtmf, digits: digit.ToString());
    }

    private void CallerEnded(InviteSession session, SipEndReason reason)
    {
        var report = false;
        Locked(later =>
        {
            if (session != _caller || _callerDone) return;
            _callerDone = true;
            SipLog.HungUp(_fe.Log, "the caller", session.Peer, Id.Value, reason, session.CallId);
            Release(later, _callerMedia);
            // A transferred caller has left the engine: the far end is hung up here. Otherwise the engine decides
            // (an abandon while waiting, the end of talk when connected) and its effects hang up the agent.
            if (_transfer != null) End(later, _transfer);
            else report = !_engineEnded;
        });
        if (report) _fe.Report(this, CallEventType.CallerHangup);
        FinishVoicemail(hangup: false, "the caller's hang-up");
    }

    public void Play(IReadOnlyList<AudioClip> clips, AudioClip loop) => Locked(later =>
    {
        if (!_callerDone && _connected == null && _transfer == null && _callerMedia is { } m) later.Add(() => m.Play(clips, loop));
    });

    /// <summary>Rings an agent: one INVITE per registered contact, all with the same SDP offer; the first 2xx wins.
    /// <paramref name="connected"/>: a pickup, see <see cref="AgentLeg.Connected"/>.</summary>
    public void Ring(AgentId agent, IReadOnlyList<SipTarget> targets, SrtpPolicy srtp, bool connected = false, bool record = false,
        IReadOnlyList<AudioClip>? whisper = null)
    {
        if (!_fe.TryCreateLeg(out var media))
        {
            _fe.Report(this, connected ? CallEventType.AgentHangup : CallEventType.AgentBusy, agent);
            return;
        }
        media.Srtp = srtp;
        var leg = new AgentLeg(this, agent, media) { Connected = connected, Record = record, Whisper = whisper };
        var offer = media.CreateOffer();
        Locked(later =>
        {
            if (_offers.Remove(agent, out var old)) End(later, old);
            _offers[agent] = leg;
            foreach (var (uri, destination, headers) in targets)
            {
                // Subscribed before the INVITE leaves: a phone on the LAN may answer 180 within microseconds.
                var s = _fe.Stack.Invite(new InviteRequest(uri, CallerNumber, CallerName, offer, destination, headers), s =>
                {
                    s.Answered += x => leg.Owner.AgentAnswered(leg, x);
                    s.Failed += (x, code) => leg.Owner.AgentFailed(leg, x, code);
                    s.Ended += (x, reason) => leg.Owner.AgentEnded(leg, x, reason);
                    s.Referred += (x, refer) => leg.Owner.AgentReferred(leg, x, refer);
                    s.Reoffered += (x, direction) => leg.Owner.AgentReoffered(leg, x, direction);
                });
                leg.Forks.Add(s);
            }
        });
    }

    private void AgentAnswered(AgentLeg leg, InviteSession session)
    {
        var report = false;
        var bridge = false;
        Locked(later =>
        {
            if (leg.Done || leg.Answered != null)
            {
                later.Add(session.Hangup);
                return;
            }
            leg.Answered = session;
            SipLog.AgentAnswered(_fe.Log, leg.Agent.Value, Id.Value, session.Peer, session.CallId);
            foreach (var other in leg.Forks)
                if (other != session) later.Add(other.Cancel);
            leg.Media.AcceptAnswer(session.RemoteSdp.Span);
            bridge = leg.Connected;
            report = !bridge;
        });
        if (bridge) Bridge(leg.Agent, leg.Record);
        if (report) _fe.Report(this, CallEventType.AgentAnswered, leg.Agent, then: r => AnswerRefused(leg, r));
    }

    /// <summary>The engine refused the answer (the offer ended meanwhile): that phone is hung up.</summary>
    private void AnswerRefused(AgentLeg leg, CommandResult result)
    {
        if (result == CommandResult.Ok) return;
        Locked(later =>
        {
            if (_offers.TryGetValue(leg.Agent, out var current) && current == leg) _offers.Remove(leg.Agent);
            End(later, leg);
        });
    }

    private void AgentFailed(AgentLeg leg, InviteSession session, int code)
    {
        var report = false;
        var outcome = leg.Connected ? CallEventType.AgentHangup : Outcome(code);
        Locked(later =>
        {
            leg.Forks.Remove(session);
            // A fork Lineup cancelled (another answered, the offer ended) fails with 487: that is no refusal.
            if (leg.Done || leg.Answered != null) return;
            report = leg.Forks.Count == 0;
            SipLog.AgentRefused(_fe.Log, leg.Agent.Value, session.Peer, Id.Value, code,
                report ? $", reported as {SipFrontEnd.EventName(outcome)}" : $", {leg.Forks.Count} other phone(s) still ringing", session.CallId);
            if (!report) return;
            leg.Done = true;
            if (_offers.TryGetValue(leg.Agent, out var current) && current == leg) _offers.Remove(leg.Agent);
            Release(later, leg.Media);
        });
        if (report) _fe.Report(this, outcome, leg.Agent);
    }

    /// <summary>RFC 3261 §21: busy is busy, timeouts and unavailability are no answer, anything else a rejection.</summary>
    internal static CallEventType Outcome(int code) => code switch
    {
        486 or 600 => CallEventType.AgentBusy,
        408 or 480 or 487 => CallEventType.AgentNoAnswer,
        _ => CallEventType.AgentRejected,
    };

    private void AgentEnded(AgentLeg leg, InviteSession session, SipEndReason reason)
    {
        var report = false;
        SipCall? owner = null;
        Locked(later =>
        {
            // Handed over (an attended transfer) after this event was raised: the caller's call it went to reports it.
            if (leg.Owner != this)
            {
                owner = leg.Owner;
                return;
            }
            if (session != leg.Answered || leg.LocalHangup || leg.Done) return;
            leg.Done = true;
            SipLog.HungUp(_fe.Log, $"agent {leg.Agent.Value}", session.Peer, Id.Value, reason, session.CallId);
            report = !_engineEnded;
            Release(later, leg.Media);
        });
        if (report) _fe.Report(this, CallEventType.AgentHangup);
        owner?.AgentEnded(leg, session, reason);
    }

    /// <summary>The engine ended an offer: a ringing phone stops ringing (ring-all losers, ring timeout). The answered
    /// offer also ends (as answered); its leg stays for the bridge.</summary>
    public void EndOffer(AgentId agent, AttemptOutcome outcome) => Locked(later =>
    {
        if (outcome == AttemptOutcome.Answered || !_offers.TryGetValue(agent, out var leg) || leg == _connected) return;
        _offers.Remove(agent);
        if (!leg.Done) SipLog.StopRinging(_fe.Log, agent.Value, Id.Value, System.Text.Json.JsonNamingPolicy.SnakeCaseLower.ConvertName(outcome.ToString()));
        End(later, leg);
    });

    /// <summary>The engine connected the caller to <paramref name="agent"/>: bridged now if the agent's phone answered; if
    /// it still rings (the agent picked the call up while offered it), bridged when it answers. False when no phone of
    /// the agent was rung (a pickup): the caller has to ring it. <paramref name="whisper"/>: played to the agent alone
    /// before the bridge.</summary>
    public bool Connect(AgentId agent, bool record, IReadOnlyList<AudioClip>? whisper = null)
    {
        var found = false;
        var answered = false;
        Locked(_ =>
        {
            if (!_offers.TryGetValue(agent, out var leg)) return;
            found = true;
            leg.Record = record;
            leg.Whisper = leg.HandedOver ? null : whisper;
            answered = leg.Answered != null;
            leg.Connected = !answered;
        });
        if (answered) Bridge(agent, record);
        return found;
    }

    /// <summary>Media flows between the caller and the agent's answered phone, hold music stops, and the bridge is
    /// recorded when <paramref name="record"/>. A queue's whisper plays to the agent first (the caller hears its music
    /// on meanwhile) and the bridge follows when it has been said.</summary>
    private void Bridge(AgentId agent, bool record) => Locked(later =>
    {
        if (!_offers.TryGetValue(agent, out var leg) || leg.Answered == null || leg.Done || leg == _connected
            || _callerMedia is not { } caller || _callerDone) return;
        if (leg.Whisper is { Count: > 0 } whisper)
        {
            leg.Whisper = null;
            SipLog.AgentWhisper(_fe.Log, agent.Value, Id.Value, whisper.Sum(c => c.Duration.TotalSeconds));
            later.Add(() =>
            {
                void Said(RtpLeg media)
                {
                    media.PlaybackFinished -= Said;
                    Bridge(agent, record);
                }
                leg.Media.PlaybackFinished += Said;
                leg.Media.Play(whisper, null);
            });
            return;
        }
        _connected = leg;
        _agentMedia = leg.Media;
        var recorder = record ? _fe.StartRecording(this) : null;
        later.Add(() =>
        {
            caller.Stop();
            caller.BridgeTo(leg.Media);
            if (recorder != null)
            {
                caller.StartRecording(recorder, RecordingSide.Left);
                leg.Media.StartRecording(recorder, RecordingSide.Right);
            }
        });
        _recorder = recorder;
    });

    /// <summary>A new INVITE for a transfer (the caller is bridged to it) or a callback (it becomes the caller).</summary>
    public void Dial(string? uri, Purpose purpose)
    {
        if (uri == null || !_fe.TryCreateLeg(out var media))
        {
            DialFailed(purpose);
            return;
        }
        var leg = new Leg(media);
        var from = purpose == Purpose.Transfer ? CallerNumber : "lineup";
        Locked(later =>
        {
            if (purpose == Purpose.Transfer) _transfer = leg;
            var session = _fe.Stack.Invite(new InviteRequest(uri, from, purpose == Purpose.Transfer ? CallerName : null, media.CreateOffer()), s =>
            {
                s.Answered += x => Dialled(leg, x, purpose);
                s.Failed += (_, _) =>
                {
                    Locked(l =>
                    {
                        leg.Done = true;
                        Release(l, media);
                    });
                    DialFailed(purpose);
                };
                s.Ended += (x, _) => DialledEnded(leg, x, purpose);
            });
            leg.Forks.Add(session);
        });
    }

    private void Dialled(Leg leg, InviteSession session, Purpose purpose)
    {
        var report = false;
        Locked(later =>
        {
            leg.Answered = session;
            leg.Media.AcceptAnswer(session.RemoteSdp.Span);
            if (purpose == Purpose.Callback)
            {
                AttachCaller(session, leg.Media);
                report = true;
                return;
            }
            if (_callerDone || _callerMedia is not { } caller)
            {
                End(later, leg);
                return;
            }
            later.Add(() =>
            {
                caller.Stop();
                caller.BridgeTo(leg.Media);
            });
        });
        if (report) _fe.Report(this, CallEventType.CallbackAnswered);
    }

    private void DialledEnded(Leg leg, InviteSession session, Purpose purpose)
    {
        // A callback's customer leg is the caller from its answer on: CallerEnded reports it.
        if (purpose != Purpose.Transfer || session != leg.Answered) return;
        var hangup = false;
        Locked(later =>
        {
            if (leg.LocalHangup || leg.Done) return;
            leg.Done = true;
            Release(later, leg.Media);
            hangup = true;
        });
        if (hangup) HangupCaller();
    }

    private void DialFailed(Purpose purpose)
    {
        if (purpose == Purpose.Transfer)
        {
            HangupCaller();
            return;
        }
        // The engine frees the agent (and retries later): the agent's phone is hung up now.
        Locked(later =>
        {
            foreach (var leg in _offers.Values) End(later, leg);
            _offers.Clear();
        });
        _fe.Report(this, CallEventType.CallbackFailed);
    }

    /// <summary>The engine transferred the connected call: the agent's leg (and a supervisor's, and the recording) ends,
    /// the caller stays and hears hold music until the transfer's next effect (a new INVITE to the number, or the
    /// queue it now waits in).</summary>
    public void ReleaseAgent() => Locked(later =>
    {
        // The agent's phone that asked for it hears that it is done before its leg is hung up (RFC 3515 §2.4.5).
        if (_refer is { } refer) later.Add(() => refer.Notify(200, "OK"));
        _refer = null;
        EndMonitorLocked(later);
        foreach (var leg in _offers.Values) End(later, leg);
        _offers.Clear();
        _connected = null;
        if (_recorder is { } r) later.Add(r.Dispose);
        _recorder = null;
        if (_callerDone || _callerMedia is not { } caller) return;
        var music = Music;
        later.Add(() => caller.Play([], music));
    });

    /// <summary>
    /// The connected agent's phone put the call on hold (RFC 3264 §8.4: a re-INVITE offering sendonly or inactive, as a
    /// phone does before a consultation call) or took it off hold: on hold the caller hears the queue's music instead of
    /// silence, and on resume the two are bridged again. The engine is not told: the talk goes on (hold time is talk time,
    /// as in the usual ACD reports). Another leg's re-INVITE (a phone still ringing, a released one) changes nothing.
    /// </summary>
    private void AgentReoffered(AgentLeg leg, InviteSession session, Lineup.Sip.Media.MediaDirection direction) => Locked(later =>
    {
        if (leg != _connected || session != leg.Answered || leg.Done || _callerDone || _transfer != null || _surveying
            || _callerMedia is not { } caller) return;
        var hold = HoldAnswer.IsHold(direction);
        if (hold == leg.Held) return;
        leg.Held = hold;
        SipLog.AgentHold(_fe.Log, leg.Agent.Value, Id.Value, hold ? "holds the caller (music on)" : "resumes the call");
        var music = Music;
        if (hold) later.Add(() => caller.Play([], music)); // ends the bridge, both directions
        else later.Add(() =>
        {
            caller.Stop();
            caller.BridgeTo(leg.Media);
        });
    });

    /// <summary>A REFER from an agent's phone (a blind transfer, RFC 3515): only the phone bridged to the caller may
    /// transfer it; the front-end checks the target and carries the transfer out.</summary>
    private void AgentReferred(AgentLeg leg, InviteSession session, SipRefer refer)
    {
        var connected = false;
        Locked(_ => connected = leg == _connected && session == leg.Answered && !_callerDone && _transfer == null && _refer == null);
        if (!connected)
        {
            _fe.RefuseRefer(this, refer, 403, "Forbidden", "only the phone talking to the caller can transfer the call, once");
            return;
        }
        _ = _fe.ReferAsync(this, leg.Agent, refer);
    }

    /// <summary>The REFER the front-end accepted: answered by NOTIFY when the engine releases the agent, or when it
    /// refuses the transfer.</summary>
    private SipRefer? _refer;

    internal void ReferAccepted(SipRefer refer) => Locked(_ => _refer = refer);

    /// <summary>The engine refused the accepted transfer (the call moved on meanwhile): the phone is told so.</summary>
    internal void ReferFailed(SipRefer refer) => Locked(later =>
    {
        if (_refer != refer) return;
        _refer = null;
        later.Add(() => refer.Notify(503, "Service Unavailable"));
    });

    /// <summary>The agent hung up first and the queue surveys: the agents' legs and the recording end, the caller hears
    /// the question and its keys rate the call (reported as DTMF; the engine takes 1 to the maximum).</summary>
    public void StartSurvey(IReadOnlyList<AudioClip> question) => Locked(later =>
    {
        if (_callerDone || _callerMedia is not { } caller || _transfer != null) return;
        _surveying = true;
        foreach (var leg in _offers.Values) End(later, leg);
        _offers.Clear();
        _connected = null;
        if (_recorder is { } r) later.Add(r.Dispose);
        _recorder = null;
        SipLog.SurveyStarted(_fe.Log, Id.Value);
        later.Add(() =>
        {
            caller.Unbridge();
            caller.PlaybackFinished += _ => SurveyPromptDone();
            caller.Play(question, null);
        });
    });

    /// <summary>The engine took the caller's rating: the thanks, then the caller is hung up.</summary>
    public void Rated(IReadOnlyList<AudioClip> thanks)
    {
        var hangup = false;
        Locked(later =>
        {
            if (!_surveying || _callerDone || _callerMedia is not { } caller) return;
            _surveyRated = true;
            if (thanks.Count == 0) hangup = true;
            else later.Add(() => caller.Play(thanks, null));
        });
        if (hangup) HangupCaller();
    }

    private void SurveyPromptDone()
    {
        bool rated;
        RtpLeg? caller;
        lock (_gate)
        {
            rated = _surveyRated;
            caller = _callerMedia;
        }
        // The thanks has been said (the question ending just as the caller rated leaves the thanks playing).
        if (rated && caller is { IsPlaying: false }) HangupCaller();
    }

    /// <summary>Lineup ends the caller's leg (BYE, or a final response if it was never answered).</summary>
    public void HangupCaller() => Locked(HangupCallerLocked);

    private void HangupCallerLocked(List<Action> later)
    {
        if (_callerDone || _caller is not { } caller) return;
        _callerDone = true;
        SipLog.CallerReleased(_fe.Log, Id.Value, caller.Peer, caller.CallId);
        later.Add(() => End(caller));
        Release(later, _callerMedia);
    }

    /// <summary>Talk ended (or the call is going away): every leg is hung up, except a transfer in progress.</summary>
    public void HangupAll() => Locked(HangupAllLocked);

    private void HangupAllLocked(List<Action> later)
    {
        EndMonitorLocked(later);
        foreach (var leg in _offers.Values) End(later, leg);
        _offers.Clear();
        _connected = null;
        // A caller answering the survey stays until it has heard the thanks (or until the engine ends an unrated survey).
        // So does a caller leaving a voicemail, until the message ends.
        if (_transfer == null && !_surveying && _voicemail == null) HangupCallerLocked(later);
        if (_recorder is { } r) later.Add(r.Dispose);
        _recorder = null;
    }

    /// <summary>The engine's call ended; a transferred caller stays bridged to the transfer target until either hangs up.</summary>
    public void EngineEnded()
    {
        Locked(later =>
        {
            _engineEnded = true;
            if (!_surveyRated) _surveying = false; // timed out or left unrated: hang up now
            HangupAllLocked(later);
        });
        _fe.Forget(this);
    }

    private static void End(List<Action> later, Leg leg)
    {
        leg.LocalHangup = true;
        if (leg.Done) return;
        leg.Done = true;
        foreach (var s in leg.Forks.ToArray()) later.Add(() => End(s));
        Release(later, leg.Media);
    }

    private static void End(InviteSession s)
    {
        switch (s.State)
        {
            case InviteState.Established:
                s.Hangup();
                break;
            case InviteState.Terminated:
                break;
            default:
                if (s.IsUas) s.Reject(480);
                else s.Cancel();
                break;
        }
    }

    private static void Release(List<Action> later, RtpLeg? media)
    {
        if (media != null) later.Add(() => _ = media.DisposeAsync().AsTask());
    }
}
