-- Several nodes as one service (PROTOCOL.md "Clusters", docs/cluster.md): the nodes alive, which
-- node holds live sessions of which user (presence counts every node's sessions), and when each
-- user's last session in the cluster closed. Events travel over NATS; this is the truth they are
-- checked against, and what survives a node's death.

-- One row per running `switchboard serve`, under a fresh id at every process start. A node whose
-- heartbeat is older than cluster.node_timeout_ms is dead: any node deletes it and takes its
-- users' presence down.
CREATE TABLE cluster_nodes (
    node_id       text        PRIMARY KEY,
    address       text        NOT NULL,
    started_at    timestamptz NOT NULL DEFAULT now(),
    heartbeat_at  timestamptz NOT NULL DEFAULT now()
);

-- A user with at least one live session on a node. A user is online while a row of theirs names a
-- live node.
CREATE TABLE live_users (
    user_id  bigint NOT NULL,
    node_id  text   NOT NULL,
    org_id   bigint NOT NULL,
    PRIMARY KEY (user_id, node_id),
    FOREIGN KEY (org_id, user_id) REFERENCES users (org_id, id) ON DELETE CASCADE
);
CREATE INDEX live_users_node ON live_users (node_id);

-- When a user's last session in the cluster closed (ms since the epoch).
CREATE TABLE last_seen (
    org_id   bigint NOT NULL,
    user_id  bigint NOT NULL PRIMARY KEY,
    seen_ms  bigint NOT NULL,
    FOREIGN KEY (org_id, user_id) REFERENCES users (org_id, id) ON DELETE CASCADE
);
