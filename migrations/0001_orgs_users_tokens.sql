-- Organizations (tenants), their users, and login tokens.
-- Every tenant table carries org_id, and keys are (org_id, id) so a foreign key can never join a
-- row of one organization to a row of another.

CREATE TABLE orgs (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
    org_id         bigint      NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    id             bigint      GENERATED ALWAYS AS IDENTITY,
    name           text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    mobile         text        NOT NULL CHECK (mobile ~ '^\+[1-9][0-9]{7,14}$'),
    title          text        NOT NULL DEFAULT '',
    email          text        NOT NULL DEFAULT '',
    role           text        NOT NULL DEFAULT 'member' CHECK (role IN ('member', 'admin', 'owner')),
    status         text        NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended', 'removed')),
    -- "scrypt$<log2 N>$<r>$<p>$<salt b64>$<hash b64>": parameters travel with each hash.
    password_hash  text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, id),
    UNIQUE (org_id, mobile)
);
-- Token checks and hello look a user up by id alone; ids are globally unique (one identity).
CREATE UNIQUE INDEX users_id_key ON users (id);

CREATE TABLE tokens (
    hash        bytea       PRIMARY KEY CHECK (length(hash) = 32),  -- SHA-256 of the token
    org_id      bigint      NOT NULL,
    user_id     bigint      NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    revoked_at  timestamptz,
    FOREIGN KEY (org_id, user_id) REFERENCES users (org_id, id) ON DELETE CASCADE
);
CREATE INDEX tokens_user_idx ON tokens (org_id, user_id);
