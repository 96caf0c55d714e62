-- SIP digest credentials of agents, for the registrar (docs/design/sip.md): the HA1 hashes only, never the
-- password. The realm is the tenant's name when the password was set (HA1 depends on it).
CREATE TABLE sip_credentials (
    tenant_id   INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    agent_id    INTEGER NOT NULL,
    username    TEXT    NOT NULL,
    realm       TEXT    NOT NULL,
    ha1_md5     TEXT    NOT NULL,
    ha1_sha256  TEXT    NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, agent_id)
);
CREATE UNIQUE INDEX sip_credentials_username ON sip_credentials (tenant_id, username);
