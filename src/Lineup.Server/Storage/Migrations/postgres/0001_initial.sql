CREATE TABLE tenants (
    id          BIGINT PRIMARY KEY,
    name        TEXT    NOT NULL UNIQUE,
    time_zone   TEXT    NOT NULL,
    seed        BIGINT NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE users (
    id            BIGINT PRIMARY KEY,
    tenant_id     BIGINT NULL REFERENCES tenants(id),
    username      TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    role          TEXT    NOT NULL,
    agent_id      BIGINT NULL,
    created_at    BIGINT NOT NULL
);
CREATE UNIQUE INDEX users_tenant_username ON users (COALESCE(tenant_id, 0), username);

CREATE TABLE sessions (
    token_hash  TEXT    PRIMARY KEY,
    user_id     BIGINT NOT NULL,
    kind        TEXT    NOT NULL,
    expires_at  BIGINT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE api_keys (
    id          BIGINT PRIMARY KEY,
    tenant_id   BIGINT NOT NULL REFERENCES tenants(id),
    name        TEXT    NOT NULL,
    key_hash    TEXT    NOT NULL UNIQUE,
    prefix      TEXT    NOT NULL,
    role        TEXT    NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE id_counters (
    name  TEXT    PRIMARY KEY,
    next  BIGINT NOT NULL
);

CREATE TABLE commands (
    tenant_id  BIGINT NOT NULL,
    seq        BIGINT NOT NULL,
    at         BIGINT NOT NULL,
    body       TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);

CREATE TABLE cdrs (
    call_id     BIGINT PRIMARY KEY,
    tenant_id   BIGINT NOT NULL,
    queue_id    BIGINT NOT NULL,
    agent_id    BIGINT NULL,
    entered_at  BIGINT NOT NULL,
    ended_at    BIGINT NOT NULL,
    disposition TEXT    NOT NULL,
    body        TEXT    NOT NULL
);
CREATE INDEX cdrs_tenant_ended ON cdrs (tenant_id, ended_at, call_id);

CREATE TABLE queue_daily_stats (
    tenant_id  BIGINT NOT NULL,
    queue_id   BIGINT NOT NULL,
    day        TEXT    NOT NULL,
    body       TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, queue_id, day)
);
