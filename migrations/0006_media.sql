-- Media: uploads (image, voice and file messages), the conversations each was sent to (who may
-- download it), and each organization's storage usage (the quota's counter).

-- One row per upload: each upload has its own id, while identical bytes share one stored object
-- (named by sha256 in the media backend). A row is deleted only by garbage collection, and only
-- while it was never sent (sent_at IS NULL) and older than media.gc_grace_s.
CREATE TABLE media (
    org_id        bigint      NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    id            bigint      GENERATED ALWAYS AS IDENTITY,
    sha256        text        NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    size          bigint      NOT NULL CHECK (size > 0),
    content_type  text        NOT NULL CHECK (length(content_type) BETWEEN 1 AND 100),
    name          text        NOT NULL DEFAULT '' CHECK (octet_length(name) <= 255),
    uploader_id   bigint      NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    -- Set, in the same transaction, when the first reference in media_conversations is made.
    sent_at       timestamptz,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, uploader_id) REFERENCES users (org_id, id)
);
-- Whether any upload still holds an object (garbage collection of the bytes).
CREATE INDEX media_sha256 ON media (sha256);
-- Garbage collection's candidates: never sent, oldest first.
CREATE INDEX media_unsent ON media (created_at) WHERE sent_at IS NULL;

-- The conversations a media was sent to: their members may download it.
CREATE TABLE media_conversations (
    org_id    bigint NOT NULL,
    media_id  bigint NOT NULL,
    conv_id   bigint NOT NULL,
    PRIMARY KEY (org_id, media_id, conv_id),
    FOREIGN KEY (org_id, media_id) REFERENCES media (org_id, id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, conv_id) REFERENCES conversations (org_id, id) ON DELETE CASCADE
);

-- What an organization stores: the sum of its media rows' sizes (each upload counts, also when
-- its bytes were stored already). Updated in the transaction that adds or deletes a row, under
-- that row's lock, so concurrent uploads on any node cannot pass the quota together.
CREATE TABLE org_usage (
    org_id         bigint PRIMARY KEY REFERENCES orgs (id) ON DELETE CASCADE,
    storage_bytes  bigint NOT NULL DEFAULT 0 CHECK (storage_bytes >= 0)
);
