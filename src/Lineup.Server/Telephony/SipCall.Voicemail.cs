using Lineup.Engine;
using Lineup.Sip.Media;

namespace Lineup.Server.Telephony;

/// <summary>Voicemail (docs/sip.md, "Voicemail"): the engine sent the call to a queue's voicemail box and ended it; the
/// caller stays on the line, hears the greeting and the tone, and what it says is recorded until it hangs up, falls
/// silent, or the box's longest message is reached.</summary>
internal sealed partial class SipCall
{
    private Voicemail? _voicemail;

    private sealed class Voicemail(VoicemailSettings settings, long queue)
    {
        public readonly VoicemailSettings Settings = settings;
        public readonly long Queue = queue;
        public MessageRecorder? Recorder;
        public Records.VoicemailRecord? Record;
        /// <summary>Counts the time no packet came as silence (MessageRecorder.CatchUp), at the moments it asks.</summary>
        public ITimer? Clock;
        public long StartedAt;
        public bool Finished;
        public string EndedBy = "the caller's hang-up";
    }

    /// <summary>Plays the greeting (then the tone); the recording starts when it has been heard.</summary>
    public void StartVoicemail(IReadOnlyList<AudioClip> greeting, VoicemailSettings settings, long queue) => Locked(later =>
    {
        if (_callerDone || _callerMedia is not { } caller || _transfer != null || _voicemail != null) return;
        _voicemail = new Voicemail(settings, queue);
        foreach (var leg in _offers.Values) End(later, leg);
        _offers.Clear();
        SipLog.VoicemailGreeting(_fe.Log, Id.Value, queue);
        later.Add(() =>
        {
            caller.PlaybackFinished += _ => GreetingDone();
            caller.Play(greeting, null);
        });
    });

    private void GreetingDone()
    {
        Exception? failed = null;
        Locked(later =>
        {
            if (_voicemail is not { Recorder: null, Finished: false } vm || _callerDone || _callerMedia is not { } caller) return;
            try
            {
                var (record, audio) = _fe.Voicemails.Start(Host.TenantId, vm.Queue, Id.Value, CallerNumber, CallerName,
                    vm.Settings.MailTo, vm.Settings.AttachAudio, _fe.Mailer.Enabled);
                var recorder = new MessageRecorder(audio, vm.Settings.MaxSeconds, vm.Settings.SilenceSeconds);
                // Raised on the media loop's thread, which must not release its own leg: finished on the thread pool.
                recorder.Ended += (_, why) => ThreadPool.QueueUserWorkItem(
                    _ => FinishVoicemail(hangup: true, why == MessageEnd.Silence ? "silence" : "the longest message"));
                vm.Recorder = recorder;
                vm.Record = record;
                // A caller that sends no packets (muted, or a phone that stops sending while quiet) is silent too: the
                // clock records the time no packet covered as silence, so silence and length end the message as usual.
                vm.StartedAt = _fe.Time.GetTimestamp();
                vm.Clock = _fe.Time.CreateTimer(_ => CatchUpVoicemail(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
                vm.Clock.Change(recorder.CatchUp(TimeSpan.Zero, PacketTolerance) ?? Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
                later.Add(() => caller.StartRecording(recorder, RecordingSide.Left));
            }
            catch (Exception ex)
            {
                failed = ex;
                vm.Finished = true;
                HangupCallerLocked(later);
            }
        });
        if (failed != null) SipLog.VoicemailFailed(_fe.Log, failed, Id.Value);
    }

    /// <summary>How late a packet may come (network jitter) before the time it should have covered counts as silence.</summary>
    private static readonly TimeSpan PacketTolerance = TimeSpan.FromMilliseconds(200);

    /// <summary>The clock's turn: the time no packet covered is silence; the recorder says when to look again (its
    /// Ended finishes the message when that silence or length ends it).</summary>
    private void CatchUpVoicemail() => Locked(_ =>
    {
        if (_voicemail is not { Finished: false, Recorder: { } recorder, Clock: { } clock } vm) return;
        if (recorder.CatchUp(_fe.Time.GetElapsedTime(vm.StartedAt), PacketTolerance) is { } next) clock.Change(next, Timeout.InfiniteTimeSpan);
    });

    /// <summary>The message ended (silence, length, or the caller hung up): it is stored, published and mailed, and the
    /// caller hung up when still there.</summary>
    private void FinishVoicemail(bool hangup, string reason)
    {
        Voicemail? done = null;
        Locked(later =>
        {
            if (_voicemail is not { Finished: false } vm) return;
            // No catch-up at a hang-up: the message ends with the caller's last packet. Time no packet covered just
            // before the BYE is packets still in flight, or a sender that fell behind, not silence the caller left.
            vm.Finished = true;
            vm.EndedBy = reason;
            done = vm;
            if (_callerMedia is { } caller) later.Add(caller.StopRecording);
            if (hangup) HangupCallerLocked(later);
        });
        if (done == null) return;
        done.Clock?.Dispose();
        if (done.Recorder is not { } recorder || done.Record is not { } record) return;
        try
        {
            _fe.VoicemailRecorded(this, done.Queue, record, recorder, done.EndedBy);
        }
        catch (Exception ex)
        {
            // On a media or timer thread: logged, never thrown there. The box completes the message at the next start.
            SipLog.VoicemailFailed(_fe.Log, ex, Id.Value);
        }
    }
}
