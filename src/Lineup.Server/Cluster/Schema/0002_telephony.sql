-- Telephony in a cluster (docs/cluster.md, "Telephony"; PostgreSQL only).

-- Agents' phones registered through any node (usually through a SIP proxy in front of the nodes): every node reads
-- them to ring a phone. path is the REGISTER's Path header values (RFC 3327), one per line, in order.
CREATE TABLE sip_bindings (
    tenant_id BIGINT NOT NULL,
    username TEXT NOT NULL,
    contact TEXT NOT NULL,
    path TEXT NOT NULL,
    transport TEXT NOT NULL,
    source TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, username, contact)
);

-- Which node carries each live SIP call's legs and media, so that a tenant starting on another node after a
-- failover keeps sending the call's effects there, and ends the calls of a node that died.
CREATE TABLE sip_media_calls (
    tenant_id BIGINT NOT NULL,
    call_id BIGINT NOT NULL,
    node TEXT NOT NULL,
    token BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, call_id)
);
