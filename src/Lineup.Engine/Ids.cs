namespace Lineup.Engine;

/// <summary>A queue's id inside one tenant.</summary>
public readonly record struct QueueId(int Value)
{
    public override string ToString() => Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>An agent's id inside one tenant.</summary>
public readonly record struct AgentId(int Value)
{
    public override string ToString() => Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>A call's id inside one tenant; assigned by the engine in arrival order.</summary>
public readonly record struct CallId(long Value)
{
    public override string ToString() => Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
