CREATE TABLE tenants (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL UNIQUE,
    time_zone   TEXT    NOT NULL,
    seed        INTEGER NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    tenant_id     INTEGER NULL REFERENCES tenants(id),
    username      TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    role          TEXT    NOT NULL,
    agent_id      INTEGER NULL,
    created_at    INTEGER NOT NULL
);
CREATE UNIQUE INDEX users_tenant_username ON users (COALESCE(tenant_id, 0), username);

CREATE TABLE sessions (
    token_hash  TEXT    PRIMARY KEY,
    user_id     INTEGER NOT NULL,
    kind        TEXT    NOT NULL,
    expires_at  INTEGER NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE api_keys (
    id          INTEGER PRIMARY KEY,
    tenant_id   INTEGER NOT NULL REFERENCES tenants(id),
    name        TEXT    NOT NULL,
    key_hash    TEXT    NOT NULL UNIQUE,
    prefix      TEXT    NOT NULL,
    role        TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE id_counters (
    name  TEXT    PRIMARY KEY,
    next  INTEGER NOT NULL
);

CREATE TABLE commands (
    tenant_id  INTEGER NOT NULL,
    seq        INTEGER NOT NULL,
    at         INTEGER NOT NULL,
    body       TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);

CREATE TABLE cdrs (
    call_id     INTEGER PRIMARY KEY,
    tenant_id   INTEGER NOT NULL,
    queue_id    INTEGER NOT NULL,
    agent_id    INTEGER NULL,
    entered_at  INTEGER NOT NULL,
    ended_at    INTEGER NOT NULL,
    disposition TEXT    NOT NULL,
    body        TEXT    NOT NULL
);
CREATE INDEX cdrs_tenant_ended ON cdrs (tenant_id, ended_at, call_id);

CREATE TABLE queue_daily_stats (
    tenant_id  INTEGER NOT NULL,
    queue_id   INTEGER NOT NULL,
    day        TEXT    NOT NULL,
    body       TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, queue_id, day)
);
