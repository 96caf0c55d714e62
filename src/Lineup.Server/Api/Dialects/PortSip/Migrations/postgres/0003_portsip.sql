-- PortSIP call queue servers (the PortSIP dialect): named hosts a tenant lists; no engine meaning.
CREATE TABLE portsip_queue_servers (
    id          BIGINT  PRIMARY KEY,
    tenant_id   BIGINT  NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name        TEXT    NOT NULL,
    enabled     BIGINT  NOT NULL,
    ipv4        TEXT    NULL,
    ipv6        TEXT    NULL,
    created_at  BIGINT  NOT NULL
);
CREATE INDEX portsip_queue_servers_tenant ON portsip_queue_servers (tenant_id, id);
