namespace Lineup.Simulator;

/// <summary>What the simulated world does next: a caller arrives, an agent picks up, a talk ends, a caller gives up.</summary>
internal enum SimEventKind : byte
{
    Arrival,
    Answer,
    TalkEnd,
    Abandon,
}

/// <summary>One future event of the simulated world (the engine keeps its own timers).</summary>
internal readonly record struct SimEvent(long At, long Order, SimEventKind Kind, long Call, int Agent);

/// <summary>
/// A binary min-heap of <see cref="SimEvent"/> ordered by (time, insertion order), so events due at the same
/// millisecond run in the order they were scheduled and a run replays exactly. Grows once, then allocates nothing.
/// </summary>
internal sealed class EventHeap
{
    private SimEvent[] _items;
    private long _order;

    public EventHeap(int capacity = 1024) => _items = new SimEvent[Math.Max(4, capacity)];

    public int Count { get; private set; }

    public long PeekTime => _items[0].At;

    public void Push(long at, SimEventKind kind, long call, int agent = 0)
    {
        if (Count == _items.Length) Array.Resize(ref _items, _items.Length * 2);
        var item = new SimEvent(at, ++_order, kind, call, agent);
        var i = Count++;
        while (i > 0)
        {
            var parent = (i - 1) >> 1;
            if (!Less(item, _items[parent])) break;
            _items[i] = _items[parent];
            i = parent;
        }
        _items[i] = item;
    }

    public SimEvent Pop()
    {
        var top = _items[0];
        var last = _items[--Count];
        var i = 0;
        while (true)
        {
            var child = 2 * i + 1;
            if (child >= Count) break;
            if (child + 1 < Count && Less(_items[child + 1], _items[child])) child++;
            if (!Less(_items[child], last)) break;
            _items[i] = _items[child];
            i = child;
        }
        if (Count > 0) _items[i] = last;
        return top;
    }

    private static bool Less(in SimEvent x, in SimEvent y) => x.At < y.At || (x.At == y.At && x.Order < y.Order);
}
