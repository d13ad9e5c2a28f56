-- Running an organization: suspensions and restrictions on users, organization policy,
-- verification codes, invitations, announcements, and the index the directory search uses.

-- A removed user keeps their row (their messages stay attributed to them) but no longer holds
-- their mobile number: the same person can be added again later.
ALTER TABLE users DROP CONSTRAINT users_org_id_mobile_key;
CREATE UNIQUE INDEX users_mobile_key ON users (org_id, mobile) WHERE status <> 'removed';

ALTER TABLE users
    ADD COLUMN avatar           text NOT NULL DEFAULT '' CHECK (length(avatar) <= 2048),
    ADD COLUMN suspend_reason   text NOT NULL DEFAULT '' CHECK (length(suspend_reason) <= 500),
    ADD COLUMN suspended_until  timestamptz,  -- NULL: until restored
    -- Features blocked while the account stays active; empty: none.
    ADD COLUMN restricted       text[] NOT NULL DEFAULT '{}'
        CHECK (restricted <@ ARRAY['send', 'call', 'create_group']::text[]),
    ADD COLUMN restricted_until timestamptz;  -- NULL: until lifted

-- Each node's change watch reads the users changed lately (server/change_watch.hpp).
CREATE INDEX users_updated ON users (updated_at);

-- Directory search: a name prefix, in byte order (COLLATE "C" lets LIKE 'prefix%' and the ORDER BY
-- of the paging both use the index), and a mobile prefix.
CREATE INDEX users_directory_name ON users (org_id, (lower(name) COLLATE "C"), id);
CREATE INDEX users_directory_mobile ON users (org_id, (mobile COLLATE "C"), id);

-- One row per organization that changed anything; absent rows mean every default.
CREATE TABLE org_policies (
    org_id                bigint  PRIMARY KEY REFERENCES orgs (id) ON DELETE CASCADE,
    directory_visibility  text    NOT NULL DEFAULT 'all'
        CHECK (directory_visibility IN ('all', 'department', 'custom')),
    -- {"<department id>": ["<department id>", ...]}: whom a department's members may see (custom).
    visibility_rules      jsonb   NOT NULL DEFAULT '{}',
    retention_days        integer CHECK (retention_days BETWEEN 1 AND 36500),  -- NULL: keep forever
    recall_window_s       integer NOT NULL DEFAULT 120 CHECK (recall_window_s BETWEEN 0 AND 31536000),
    min_client_version    text    CHECK (length(min_client_version) BETWEEN 1 AND 32),  -- NULL: any
    storage_quota_mb      bigint  CHECK (storage_quota_mb >= 0),  -- NULL: no quota
    updated_at            timestamptz NOT NULL DEFAULT now()
);

-- SMS verification codes: only a salted hash is kept. The newest code of a (mobile, purpose) is
-- the one that counts; rows stay an hour so that the per-hour limit can count them.
CREATE TABLE verification_codes (
    org_id      bigint      NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    id          bigint      GENERATED ALWAYS AS IDENTITY,
    mobile      text        NOT NULL,
    purpose     text        NOT NULL CHECK (purpose IN ('login', 'invitation')),
    salt        bytea       NOT NULL,
    code_hash   bytea       NOT NULL,  -- SHA-256 of salt and code
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    tries       integer     NOT NULL DEFAULT 0,
    used_at     timestamptz,
    PRIMARY KEY (org_id, id)
);
CREATE INDEX verification_codes_mobile ON verification_codes (org_id, mobile, created_at);

CREATE TABLE invitations (
    org_id       bigint      NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    id           bigint      GENERATED ALWAYS AS IDENTITY,
    code_hash    bytea       NOT NULL UNIQUE CHECK (length(code_hash) = 32),  -- SHA-256 of the code
    mobile       text        NOT NULL CHECK (mobile ~ '^\+[1-9][0-9]{7,14}$'),
    name         text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    title        text        NOT NULL DEFAULT '',
    departments  bigint[]    NOT NULL DEFAULT '{}',
    role         text        NOT NULL DEFAULT 'member' CHECK (role IN ('member', 'admin')),
    created_by   bigint      NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz,
    accepted_at  timestamptz,
    user_id      bigint,  -- who accepted it
    PRIMARY KEY (org_id, id)
);
CREATE INDEX invitations_mobile ON invitations (org_id, mobile);

CREATE TABLE notices (
    org_id     bigint NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    id         bigint GENERATED ALWAYS AS IDENTITY,
    title      text   NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    body       text   NOT NULL CHECK (length(body) <= 20000),
    author_id  bigint NOT NULL,
    ts         bigint NOT NULL,  -- ms since the epoch
    PRIMARY KEY (org_id, id)
);
