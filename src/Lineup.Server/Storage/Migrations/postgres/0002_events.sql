-- Public events (the live stream's history and the webhook outbox's payloads), written with the command that
-- caused them.
CREATE TABLE events (
    tenant_id  BIGINT  NOT NULL,
    seq        BIGINT  NOT NULL,
    at         BIGINT  NOT NULL,
    type       TEXT    NOT NULL,
    queue_id   BIGINT  NULL,
    agent_id   BIGINT  NULL,
    call_id    BIGINT  NULL,
    body       TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);
CREATE INDEX events_at ON events (at);

CREATE TABLE webhooks (
    id          BIGINT PRIMARY KEY,
    tenant_id   BIGINT  NOT NULL REFERENCES tenants(id),
    body        TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL
);
CREATE INDEX webhooks_tenant ON webhooks (tenant_id, id);

-- The outbox: one row per subscription and event, in the same transaction as the event.
CREATE TABLE webhook_deliveries (
    webhook_id      BIGINT  NOT NULL,
    seq             BIGINT  NOT NULL,
    tenant_id       BIGINT  NOT NULL,
    ordering_key    TEXT    NOT NULL,
    state           TEXT    NOT NULL,
    attempts        BIGINT  NOT NULL,
    next_attempt_at BIGINT  NOT NULL,
    created_at      BIGINT  NOT NULL,
    last_status     BIGINT  NULL,
    last_error      TEXT    NULL,
    finished_at     BIGINT  NULL,
    PRIMARY KEY (webhook_id, seq)
);
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (webhook_id, seq) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_finished ON webhook_deliveries (finished_at) WHERE state <> 'pending';

CREATE TABLE webhook_attempts (
    webhook_id   BIGINT  NOT NULL,
    seq          BIGINT  NOT NULL,
    attempt      BIGINT  NOT NULL,
    at           BIGINT  NOT NULL,
    status_code  BIGINT  NULL,
    latency_ms   DOUBLE PRECISION NOT NULL,
    error        TEXT    NULL,
    PRIMARY KEY (webhook_id, seq, attempt)
);
