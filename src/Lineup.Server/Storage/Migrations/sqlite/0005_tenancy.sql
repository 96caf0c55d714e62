-- Who may write a tenant (docs/design/cluster.md, "Fencing"): a process that starts a tenant takes the next epoch,
-- and every batch it commits checks, in its own transaction, that the epoch is still its own. A second process (or
-- a second activation in a cluster) therefore never writes beside the first: the older one's next commit fails.
CREATE TABLE tenant_leases (
    tenant_id    INTEGER PRIMARY KEY,
    epoch        INTEGER NOT NULL,
    owner        TEXT    NULL,
    acquired_at  INTEGER NOT NULL
);

-- The engine's state at a point of the command log (seq = the last command it includes), so that a tenant starts
-- from its latest snapshot plus the commands after it instead of its whole history. body: the engine snapshot's
-- JSON, Brotli-compressed.
CREATE TABLE tenant_snapshots (
    tenant_id  INTEGER NOT NULL,
    seq        INTEGER NOT NULL,
    epoch      INTEGER NOT NULL,
    version    INTEGER NOT NULL,
    taken_at   INTEGER NOT NULL,
    body       BLOB    NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);
