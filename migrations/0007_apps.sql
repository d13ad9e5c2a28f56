-- Integration apps (PROTOCOL.md "Integration API"): an app belongs to one organization, acts
-- there as a bot user, and calls /v1/app/* with short-lived access tokens got for its secret.

-- A bot is a user without a mobile number: it never logs in, is not counted as a member, and
-- stays out of the directory; it is visible in the conversations it is added to.
ALTER TABLE users ADD COLUMN kind text NOT NULL DEFAULT 'person' CHECK (kind IN ('person', 'bot'));
ALTER TABLE users ALTER COLUMN mobile DROP NOT NULL;
ALTER TABLE users ADD CONSTRAINT users_bot_has_no_mobile CHECK ((kind = 'bot') = (mobile IS NULL));

CREATE TABLE apps (
    org_id       bigint      NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    id           bigint      GENERATED ALWAYS AS IDENTITY,
    name         text        NOT NULL CHECK (octet_length(name) BETWEEN 1 AND 200),
    scopes       text[]      NOT NULL
        CHECK (scopes <@ ARRAY['contacts:read', 'contacts:write', 'messages:send', 'events']::text[]),
    -- Addresses or CIDR blocks the app may call from; empty: anywhere.
    allowed_ips  text[]      NOT NULL DEFAULT '{}',
    -- SHA-256 of the secret (256 random bits, so a plain hash is enough to verify it).
    secret_hash  bytea       NOT NULL CHECK (length(secret_hash) = 32),
    bot_user_id  bigint      NOT NULL,
    callback_url text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    deleted_at   timestamptz,
    PRIMARY KEY (org_id, id),
    UNIQUE (id),
    FOREIGN KEY (org_id, bot_user_id) REFERENCES users (org_id, id)
);

-- Access tokens: only their SHA-256 is stored. An app's earlier tokens stay valid until their own
-- expiry; deleting the app deletes them.
CREATE TABLE app_tokens (
    hash        bytea       PRIMARY KEY CHECK (length(hash) = 32),
    org_id      bigint      NOT NULL,
    app_id      bigint      NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    FOREIGN KEY (org_id, app_id) REFERENCES apps (org_id, id) ON DELETE CASCADE
);
CREATE INDEX app_tokens_app ON app_tokens (org_id, app_id);
