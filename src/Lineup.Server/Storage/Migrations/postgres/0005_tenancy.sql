-- Who may write a tenant (docs/design/cluster.md, "Fencing"): a process that starts a tenant takes the next epoch,
-- and every batch it commits checks, in its own transaction, that the epoch is still its own. A second process (or
-- a second activation in a cluster) therefore never writes beside the first: the older one's next commit fails.
CREATE TABLE tenant_leases (
    tenant_id    BIGINT PRIMARY KEY,
    epoch        BIGINT NOT NULL,
    owner        TEXT   NULL,
    acquired_at  BIGINT NOT NULL
);

-- The fence of one batch: locks the tenant's lease row until the batch's transaction ends (so a new owner's epoch
-- bump waits for a commit in flight, and then reads it) and fails the whole transaction when the epoch is no longer
-- the caller's. SQLSTATE LU001 tells the host it lost the tenant.
CREATE FUNCTION lineup_fence(t BIGINT, e BIGINT) RETURNS VOID LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM tenant_leases WHERE tenant_id = t AND epoch = e FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'tenant % was taken over: epoch % is no longer current', t, e USING ERRCODE = 'LU001';
    END IF;
END
$$;

-- The engine's state at a point of the command log (seq = the last command it includes), so that a tenant starts
-- from its latest snapshot plus the commands after it instead of its whole history. body: the engine snapshot's
-- JSON, Brotli-compressed.
CREATE TABLE tenant_snapshots (
    tenant_id  BIGINT  NOT NULL,
    seq        BIGINT  NOT NULL,
    epoch      BIGINT  NOT NULL,
    version    BIGINT  NOT NULL,
    taken_at   BIGINT  NOT NULL,
    body       BYTEA   NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);
