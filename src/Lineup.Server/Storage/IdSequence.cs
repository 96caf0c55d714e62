using Dapper;

namespace Lineup.Server.Storage;

/// <summary>Lineup's one id counter: every id the API shows (tenants, users, queues, agents, keys, subscriptions).</summary>
public sealed class IdSequence(Database db)
{
    private readonly SemaphoreSlim _idLock = new(1, 1);
    private long _nextId;
    private long _idLimit;
    private const int IdBlock = 64;

    /// <summary>A new id, unique across every tenant and kind (so another tenant's id is never valid here). Ids are
    /// reserved durably in blocks, so a crash skips some numbers but never reuses one.</summary>
    public async Task<long> NextIdAsync(CancellationToken ct = default)
    {
        await _idLock.WaitAsync(ct);
        try
        {
            if (_nextId >= _idLimit)
            {
                await using var c = await db.OpenAsync(ct);
                await using var tx = await c.BeginTransactionAsync(ct);
                await c.ExecuteAsync("INSERT INTO id_counters (name, next) VALUES ('id', 1) ON CONFLICT (name) DO NOTHING", transaction: tx);
                var limit = await c.ExecuteScalarAsync<long>(
                    "UPDATE id_counters SET next = next + @n WHERE name = 'id' RETURNING next", new { n = IdBlock }, tx);
                await tx.CommitAsync(ct);
                _idLimit = limit;
                _nextId = limit - IdBlock;
            }
            return _nextId++;
        }
        finally
        {
            _idLock.Release();
        }
    }

    /// <summary>A new id for an engine object (queue, agent): the engine's ids are ints.</summary>
    public async Task<int> NextEngineIdAsync(CancellationToken ct = default) => checked((int)await NextIdAsync(ct));
}
