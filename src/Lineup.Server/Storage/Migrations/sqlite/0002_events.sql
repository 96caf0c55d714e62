-- Public events (the live stream's history and the webhook outbox's payloads), written with the command that
-- caused them.
CREATE TABLE events (
    tenant_id  INTEGER NOT NULL,
    seq        INTEGER NOT NULL,
    at         INTEGER NOT NULL,
    type       TEXT    NOT NULL,
    queue_id   INTEGER NULL,
    agent_id   INTEGER NULL,
    call_id    INTEGER NULL,
    body       TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);
CREATE INDEX events_at ON events (at);

CREATE TABLE webhooks (
    id          INTEGER PRIMARY KEY,
    tenant_id   INTEGER NOT NULL REFERENCES tenants(id),
    body        TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX webhooks_tenant ON webhooks (tenant_id, id);

-- The outbox: one row per subscription and event, in the same transaction as the event.
CREATE TABLE webhook_deliveries (
    webhook_id      INTEGER NOT NULL,
    seq             INTEGER NOT NULL,
    tenant_id       INTEGER NOT NULL,
    ordering_key    TEXT    NOT NULL,
    state           TEXT    NOT NULL,
    attempts        INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    last_status     INTEGER NULL,
    last_error      TEXT    NULL,
    finished_at     INTEGER NULL,
    PRIMARY KEY (webhook_id, seq)
);
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (webhook_id, seq) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_finished ON webhook_deliveries (finished_at) WHERE state <> 'pending';

CREATE TABLE webhook_attempts (
    webhook_id   INTEGER NOT NULL,
    seq          INTEGER NOT NULL,
    attempt      INTEGER NOT NULL,
    at           INTEGER NOT NULL,
    status_code  INTEGER NULL,
    latency_ms   REAL    NOT NULL,
    error        TEXT    NULL,
    PRIMARY KEY (webhook_id, seq, attempt)
);
