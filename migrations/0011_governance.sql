-- Data governance (PROTOCOL.md "Retention and reclamation", "At rest", reports, exports and
-- DELETE /v1/admin/org; docs/admin.md): retention's first_seq, media references that know when
-- they were last used, reclamation's policy, organizations being deleted, reports and exports.

-- The lowest seq a conversation may still hold: retention deleted everything below it. Seqs are
-- never reused, so a conversation whose every message is gone has first_seq = last_seq + 1.
ALTER TABLE conversations ADD COLUMN first_seq bigint NOT NULL DEFAULT 1 CHECK (first_seq >= 1);

-- When a media was last sent to the conversation (the message's ts): once retention has deleted
-- every message older than that, no message of the conversation carries it and the reference goes.
-- Rows from before this migration count as sent now, which keeps them at least one retention period.
ALTER TABLE media_conversations ADD COLUMN last_sent_ms bigint NOT NULL DEFAULT 0;
UPDATE media_conversations SET last_sent_ms = (extract(epoch FROM now()) * 1000)::bigint;
CREATE INDEX media_conversations_conv ON media_conversations (org_id, conv_id, last_sent_ms);

-- NULL: never reclaim.
ALTER TABLE org_policies
    ADD COLUMN reclaim_inactive_days integer CHECK (reclaim_inactive_days BETWEEN 1 AND 36500);

-- An organization its owner deleted: refused everywhere at once, purged after purge_after.
ALTER TABLE orgs
    ADD COLUMN deleted_at  timestamptz,
    ADD COLUMN purge_after timestamptz,
    ADD CONSTRAINT orgs_deleting CHECK ((deleted_at IS NULL) = (purge_after IS NULL));
CREATE INDEX orgs_purge_due ON orgs (purge_after) WHERE deleted_at IS NOT NULL;

-- The purge deletes an organization's rows table by table in chunks, the audit log among them,
-- before the organization's own row: an organization being deleted may lose its audit log.
CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND NOT EXISTS (SELECT 1 FROM orgs WHERE id = OLD.org_id AND deleted_at IS NULL) THEN
        RETURN OLD;  -- the organization itself is being deleted
    END IF;
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$;

-- The purge finds call parties by organization.
CREATE INDEX call_parties_org ON call_parties (org_id);
-- Reclamation: each member's newest login.
CREATE INDEX tokens_user_newest ON tokens (org_id, user_id, created_at DESC);

-- A member's report of a message; an admin resolves it once. Deleted with the message (retention)
-- and with the conversation.
CREATE TABLE reports (
    org_id       bigint      NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    id           bigint      GENERATED ALWAYS AS IDENTITY,
    conv_id      bigint      NOT NULL,
    seq          bigint      NOT NULL,
    reporter_id  bigint      NOT NULL,
    reason       text        NOT NULL CHECK (octet_length(reason) BETWEEN 1 AND 1000),
    state        text        NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'resolved')),
    action       text        CHECK (action IN ('dismiss', 'remove_message', 'warn', 'restrict', 'suspend')),
    resolved_by  bigint,
    resolved_at  timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, conv_id) REFERENCES conversations (org_id, id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, reporter_id) REFERENCES users (org_id, id) ON DELETE CASCADE,
    CHECK ((state = 'resolved') = (action IS NOT NULL AND resolved_at IS NOT NULL))
);
-- One open report per message and reporter: reporting again answers the open one.
CREATE UNIQUE INDEX reports_open_once ON reports (org_id, conv_id, seq, reporter_id) WHERE state = 'open';
CREATE INDEX reports_by_state ON reports (org_id, state, id DESC);
CREATE INDEX reports_message ON reports (org_id, conv_id, seq);

-- Exports: written in the background by whichever node leases the row, to a file under the media
-- directory (`file`, relative to it), deleted with the row once expires_at passes.
CREATE TABLE exports (
    org_id        bigint      NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    id            bigint      GENERATED ALWAYS AS IDENTITY,
    scope         text        NOT NULL CHECK (scope IN ('org', 'user')),
    user_id       bigint,
    requested_by  bigint      NOT NULL,
    -- A member's own export (POST /v1/me/export): only that member reads it.
    own           boolean     NOT NULL DEFAULT false,
    state         text        NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'running', 'ready', 'failed')),
    progress      real        NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 1),
    size          bigint,
    file          text,
    error         text,
    -- Set while a node writes it; another node starts it over once this passes.
    lease_until   timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz,
    expires_at    timestamptz,
    PRIMARY KEY (org_id, id),
    CHECK ((scope = 'user') = (user_id IS NOT NULL))
);
CREATE INDEX exports_queue ON exports (id) WHERE state IN ('pending', 'running');
CREATE INDEX exports_expiry ON exports (expires_at) WHERE expires_at IS NOT NULL;
