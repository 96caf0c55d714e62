using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using Lineup.Engine;
using Lineup.Engine.Staffing;

namespace Lineup.Simulator;

/// <summary>
/// Drives one <see cref="CallCenter"/> in simulated time with a discrete-event loop. The simulated world (callers
/// arriving, agents picking up, talks ending, callers giving up) lives in an <see cref="EventHeap"/>; the engine
/// keeps its own timers, and whichever is due first runs next (the engine first on a tie). The engine's events
/// drive the world: CallOffered schedules the agent's answer, CallAnswered schedules the end of the talk,
/// CallEnded is where a call is measured. Same options, same result.
/// </summary>
public sealed class Simulation
{
    /// <summary>Simulated time starts at 2026-01-05 00:00 UTC.</summary>
    public const long StartMs = 1_767_571_200_000;

    private static readonly QueueId Queue = new(1);
    private static readonly CallerInfo Caller = new("sim");

    private readonly SimulationOptions _o;
    private readonly CallCenter _engine;
    private readonly EventHeap _heap = new(4096);
    private readonly Dictionary<long, CallData> _calls = new(4096);
    private readonly long _measureFromMs;
    private readonly long _arrivalsEndMs;
    private readonly long _answerDelayMs;
    private readonly long _slaMs;
    private readonly double _meanTalkMs;
    // One random stream per source, so that turning patience on does not change the arrivals or talk times a
    // seed gives (common random numbers: two runs differ only in what their options change).
    private Xoshiro _arrivals, _talks, _patience;

    private long _simulated;
    private long _offered, _answered, _abandoned, _withinSla, _waited;
    private long _sumWaitAnsweredMs, _sumWaitAllMs, _maxWaitMs, _talkInWindowMs;
    private ErrorSum _queueLength, _lastToEnterService, _headOfLine;
    private readonly Batch[] _batches = new Batch[BatchMeans.Batches];

    private Simulation(SimulationOptions options)
    {
        _o = options;
        _arrivals = new Xoshiro(options.Seed, 1);
        _talks = new Xoshiro(options.Seed, 2);
        _patience = new Xoshiro(options.Seed, 3);
        _engine = new CallCenter(new EngineOptions { Seed = (ulong)options.Seed * 0x9E3779B97F4A7C15UL | 1 });
        _measureFromMs = StartMs + (long)Math.Round(options.WarmupHours * 3_600_000);
        _arrivalsEndMs = StartMs + (long)Math.Round(options.Hours * 3_600_000);
        _answerDelayMs = (long)Math.Round(options.AnswerDelaySeconds * 1000);
        _slaMs = (long)Math.Round(options.SlaSeconds * 1000);
        _meanTalkMs = options.AhtSeconds * 1000;
    }

    /// <summary>Runs the simulation to the end: arrivals stop after <see cref="SimulationOptions.Hours"/>, and
    /// every call still in the system is played out.</summary>
    public static SimulationResult Run(SimulationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var wall = Stopwatch.StartNew();
        var sim = new Simulation(options);
        sim.Staff();
        sim.Loop();
        wall.Stop();
        return sim.Result(wall.Elapsed.TotalSeconds);
    }

    private void Staff()
    {
        _engine.UpsertQueue(new QueueConfig
        {
            Id = Queue,
            Name = "simulated",
            Strategy = _o.Strategy,
            SkillsRouting = _o.SkillsRouting,
            RingTimeoutSeconds = _o.RingTimeoutSeconds,
            WrapUpSeconds = 0,
            ExpectedHandleSeconds = Math.Max(1, (int)Math.Round(_o.AhtSeconds)),
        }, StartMs);
        for (var i = 1; i <= _o.Agents; i++)
        {
            var agent = new AgentId(i);
            _engine.UpsertAgent(new AgentConfig { Id = agent, Name = $"agent {i}" }, StartMs);
            _engine.SetMember(Queue, agent, new MemberConfig { Position = i }, StartMs);
            _engine.Login(agent, null, StartMs);
        }
        _engine.ClearEvents();
    }

    private void Loop()
    {
        var meanGapMs = 3_600_000.0 / _o.ArrivalsPerHour;
        var arrivalClock = StartMs + _arrivals.NextExponential(meanGapMs);
        if (arrivalClock < _arrivalsEndMs) _heap.Push((long)Math.Round(arrivalClock), SimEventKind.Arrival, 0);

        while (true)
        {
            var deadline = _engine.NextDeadline;
            if (deadline is { } due && (_heap.Count == 0 || due <= _heap.PeekTime))
            {
                _engine.Advance(due);
                Drain();
                continue;
            }
            if (_heap.Count == 0) break;

            var e = _heap.Pop();
            switch (e.Kind)
            {
                case SimEventKind.Arrival:
                    Arrive(e.At);
                    arrivalClock += _arrivals.NextExponential(meanGapMs);
                    if (arrivalClock < _arrivalsEndMs) _heap.Push((long)Math.Round(arrivalClock), SimEventKind.Arrival, 0);
                    break;
                case SimEventKind.Answer:
                    {
                        // The offer can be gone by now: another agent of a ring-all answered first (NoSuchOffer), or
                        // the caller hung up while it rang (UnknownCall: the call has ended).
                        var result = _engine.AgentAnswered(new CallId(e.Call), new AgentId(e.Agent), e.At);
                        if (result is not (CommandResult.Ok or CommandResult.NoSuchOffer or CommandResult.UnknownCall))
                            Unexpected("AgentAnswered", result, e.Call);
                        Drain();
                        break;
                    }
                case SimEventKind.TalkEnd:
                    Expect("AgentHangup", _engine.AgentHangup(new CallId(e.Call), e.At), e.Call);
                    Drain();
                    break;
                case SimEventKind.Abandon:
                    if (_engine.TryGetCall(new CallId(e.Call), out var call) && call.State == CallState.Waiting)
                    {
                        Expect("CallerHangup", _engine.CallerHangup(call.Id, e.At), e.Call);
                        Drain();
                    }
                    break;
            }
        }
        // Every call ends exactly once: anything left here is an engine bug, not a statistic.
        if (_calls.Count > 0) throw new InvalidOperationException($"{_calls.Count} calls never ended");
    }

    private static void Expect(string command, CommandResult result, long call)
    {
        if (result != CommandResult.Ok) Unexpected(command, result, call);
    }

    [DoesNotReturn]
    private static void Unexpected(string command, CommandResult result, long call) =>
        throw new InvalidOperationException($"engine bug: {command} for call {call} returned {result}");

    private void Arrive(long at)
    {
        // Ask every estimator what it would tell this caller, just before the call joins.
        _engine.Advance(at);
        var estimates = new CallData(
            _engine.EstimateWaitSeconds(Queue, WaitEstimatorKind.QueueLength),
            _engine.EstimateWaitSeconds(Queue, WaitEstimatorKind.LastToEnterService),
            _engine.EstimateWaitSeconds(Queue, WaitEstimatorKind.HeadOfLine),
            Measured: at >= _measureFromMs,
            Batch: BatchOf(at));
        var (result, id) = _engine.Enqueue(Queue, Caller, at);
        Expect("Enqueue", result, id.Value);
        _simulated++;
        _calls.Add(id.Value, estimates);
        Drain();
        if (_o.PatienceSeconds is { } patience)
            _heap.Push(at + (long)Math.Round(_patience.NextExponential(patience * 1000)), SimEventKind.Abandon, id.Value);
    }

    /// <summary>The batch of a call arriving at <paramref name="at"/>: the measured window cut into equal spans of time.</summary>
    private int BatchOf(long at)
    {
        var windowMs = _arrivalsEndMs - _measureFromMs;
        if (at < _measureFromMs || windowMs <= 0) return 0;
        return (int)Math.Min(BatchMeans.Batches - 1, (at - _measureFromMs) * BatchMeans.Batches / windowMs);
    }

    /// <summary>Reacts to the engine's events (scheduling only: no engine command runs while they are read).</summary>
    private void Drain()
    {
        foreach (ref readonly var e in _engine.PendingEvents)
        {
            switch (e.Kind)
            {
                case EventKind.CallOffered:
                    _heap.Push(e.At + _answerDelayMs, SimEventKind.Answer, e.Call.Value, e.Agent.Value);
                    break;
                case EventKind.CallAnswered:
                    _heap.Push(e.At + (long)Math.Round(_talks.NextExponential(_meanTalkMs)), SimEventKind.TalkEnd, e.Call.Value);
                    break;
                case EventKind.CallEnded:
                    Measure(e.Record!);
                    break;
                default:
                    break;
            }
        }
        _engine.ClearEvents();
    }

    private void Measure(CallRecord cdr)
    {
        _calls.Remove(cdr.Id.Value, out var data);
        if (cdr.AnsweredAt is { } answeredAt && cdr.TalkEndedAt is { } talkEnd)
        {
            var from = Math.Max(answeredAt, _measureFromMs);
            var to = Math.Min(talkEnd, _arrivalsEndMs);
            if (to > from) _talkInWindowMs += to - from;
        }
        if (!data.Measured) return;

        _offered++;
        ref var batch = ref _batches[data.Batch];
        batch.Offered++;
        long wait;
        if (cdr.Disposition == Disposition.Answered && cdr.AnsweredAt is { } answered)
        {
            wait = answered - cdr.EnteredAt;
            _answered++;
            _sumWaitAnsweredMs += wait;
            if (wait <= _slaMs) _withinSla++;
            batch.Answered++;
            batch.WaitAnsweredMs += wait;
            if (wait <= _slaMs) batch.WithinSla++;
            if (wait > 0) _waited++;
            var actual = wait / 1000.0;
            _queueLength.Add(data.QueueLength - actual);
            _lastToEnterService.Add(data.LastToEnterService - actual);
            _headOfLine.Add(data.HeadOfLine - actual);
        }
        else
        {
            wait = (cdr.EndedAt ?? cdr.EnteredAt) - cdr.EnteredAt;
            if (cdr.Disposition == Disposition.Abandoned)
            {
                _abandoned++;
                batch.Abandoned++;
            }
        }
        _sumWaitAllMs += wait;
        if (wait > _maxWaitMs) _maxWaitMs = wait;
    }

    private SimulationResult Result(double wallSeconds)
    {
        var erlangs = ErlangC.TrafficErlangs(_o.ArrivalsPerHour, _o.AhtSeconds);
        var asa = ErlangC.AverageSpeedOfAnswer(_o.Agents, erlangs, _o.AhtSeconds);
        var windowMs = _arrivalsEndMs - _measureFromMs;
        var intervals = BatchMeans.Intervals(_batches, out var warnings);
        return new SimulationResult
        {
            Agents = _o.Agents,
            ArrivalsPerHour = _o.ArrivalsPerHour,
            AhtSeconds = _o.AhtSeconds,
            Hours = _o.Hours,
            Strategy = _o.StrategyName,
            Seed = _o.Seed,
            PatienceSeconds = _o.PatienceSeconds,
            SlaSeconds = _o.SlaSeconds,
            AnswerDelaySeconds = _o.AnswerDelaySeconds,
            MeasuredFromHour = _o.WarmupHours,
            Offered = _offered,
            Answered = _answered,
            Abandoned = _abandoned,
            ServiceLevel = Ratio(_withinSla, _offered),
            AsaSeconds = Ratio(_sumWaitAnsweredMs, _answered) / 1000,
            MeanWaitSeconds = Ratio(_sumWaitAllMs, _offered) / 1000,
            MaxWaitSeconds = _maxWaitMs / 1000.0,
            ProbabilityOfWaiting = Ratio(_waited, _answered),
            Occupancy = windowMs <= 0 ? 0 : (double)_talkInWindowMs / ((double)_o.Agents * windowMs),
            ErlangC = new ErlangCPrediction
            {
                TrafficErlangs = erlangs,
                ProbabilityOfWaiting = ErlangC.ProbabilityOfWaiting(_o.Agents, erlangs),
                ServiceLevel = ErlangC.ServiceLevel(_o.Agents, erlangs, _o.AhtSeconds, _o.SlaSeconds),
                AsaSeconds = double.IsFinite(asa) ? asa : null,
                Occupancy = ErlangC.Occupancy(_o.Agents, erlangs),
            },
            WaitEstimateErrors = new WaitEstimateErrors
            {
                QueueLength = _queueLength.ToError(),
                LastToEnterService = _lastToEnterService.ToError(),
                HeadOfLine = _headOfLine.ToError(),
            },
            ConfidenceIntervals = intervals,
            Warnings = new TextList(warnings),
            SimulatedCalls = _simulated,
            WallSeconds = wallSeconds,
            CallsPerSecond = wallSeconds > 0 ? _simulated / wallSeconds : 0,
        };
    }

    private static double Ratio(long part, long whole) => whole == 0 ? 0 : (double)part / whole;

    /// <summary>What each estimator told the caller on arrival, and whether the call is measured.</summary>
    private readonly record struct CallData(double QueueLength, double LastToEnterService, double HeadOfLine, bool Measured, int Batch);

    private struct ErrorSum
    {
        private long _n;
        private double _abs, _squares, _signed;

        public void Add(double error)
        {
            _n++;
            _abs += Math.Abs(error);
            _squares += error * error;
            _signed += error;
        }

        public readonly EstimatorError ToError() => new()
        {
            Samples = _n,
            MaeSeconds = _n == 0 ? 0 : _abs / _n,
            RmseSeconds = _n == 0 ? 0 : Math.Sqrt(_squares / _n),
            BiasSeconds = _n == 0 ? 0 : _signed / _n,
        };
    }
}
