-- Orleans cluster membership (PostgreSQL only): one version row per cluster, one row per silo incarnation.
-- PostgresMembershipTable reads and writes these; see docs/design/cluster.md.

-- The table version and its etag: every membership change moves both, under a compare-and-swap on the etag.
CREATE TABLE cluster_membership_version (
    cluster_id TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    etag BIGINT NOT NULL
);

CREATE TABLE cluster_membership (
    cluster_id TEXT NOT NULL REFERENCES cluster_membership_version (cluster_id) ON DELETE CASCADE,
    -- SiloAddress.ToParsableString(): endpoint and generation, unique per incarnation.
    silo TEXT NOT NULL,
    status INTEGER NOT NULL,
    proxy_port INTEGER NOT NULL,
    host_name TEXT,
    silo_name TEXT,
    role_name TEXT,
    update_zone INTEGER NOT NULL,
    fault_zone INTEGER NOT NULL,
    start_time TIMESTAMPTZ NOT NULL,
    i_am_alive_time TIMESTAMPTZ NOT NULL,
    -- Who suspects this silo and when, as a JSON array; suspected_at is the latest of those times (NULL: nobody),
    -- kept beside it so that the clean-up of defunct rows is one statement.
    suspect_times TEXT NOT NULL,
    suspected_at TIMESTAMPTZ,
    -- The table etag that this row's last insert or update produced; heartbeats leave it alone.
    etag BIGINT NOT NULL,
    PRIMARY KEY (cluster_id, silo)
);
