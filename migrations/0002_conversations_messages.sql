-- Conversations, their members with read cursors, and messages, plus append_messages(): the
-- group-commit entry point that checks membership, deduplicates and assigns seqs in one call.

CREATE TABLE conversations (
    org_id        bigint      NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    id            bigint      GENERATED ALWAYS AS IDENTITY,
    kind          text        NOT NULL CHECK (kind IN ('direct', 'group')),
    name          text        NOT NULL DEFAULT '',
    owner_id      bigint,
    -- "<smaller user id>:<larger user id>" for a direct conversation: one per pair, race-free.
    direct_key    text,
    last_seq      bigint      NOT NULL DEFAULT 0,
    member_count  integer     NOT NULL DEFAULT 0,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, id),
    UNIQUE (org_id, direct_key),
    FOREIGN KEY (org_id, owner_id) REFERENCES users (org_id, id),
    CHECK ((kind = 'direct') = (direct_key IS NOT NULL))
);

CREATE TABLE conv_members (
    org_id     bigint      NOT NULL,
    conv_id    bigint      NOT NULL,
    user_id    bigint      NOT NULL,
    role       text        NOT NULL DEFAULT 'member' CHECK (role IN ('owner', 'member')),
    joined_at  timestamptz NOT NULL DEFAULT now(),
    read_seq   bigint      NOT NULL DEFAULT 0,
    PRIMARY KEY (org_id, conv_id, user_id),
    FOREIGN KEY (org_id, conv_id) REFERENCES conversations (org_id, id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, user_id) REFERENCES users (org_id, id) ON DELETE CASCADE
);
-- `convs`: the conversations of one user.
CREATE INDEX conv_members_user_idx ON conv_members (org_id, user_id);

-- Messages reach billions of rows: the primary key (org_id, conv_id, seq) is the one index sync
-- and history range-scan, and leaves room to partition by hash of conv_id later.
CREATE TABLE messages (
    org_id         bigint  NOT NULL,
    conv_id        bigint  NOT NULL,
    seq            bigint  NOT NULL CHECK (seq > 0),
    id             bigint  GENERATED ALWAYS AS IDENTITY,
    sender_id      bigint  NOT NULL,
    client_msg_id  text    NOT NULL CHECK (octet_length(client_msg_id) BETWEEN 1 AND 64),
    type           text    NOT NULL CHECK (type IN ('text', 'image', 'voice', 'file', 'system', 'markdown')),
    body           text    NOT NULL,  -- the JSON body as validated and sent; served back verbatim
    ts             bigint  NOT NULL,  -- ms since the epoch, as clients see it
    recalled_at    bigint,
    PRIMARY KEY (org_id, conv_id, seq),
    UNIQUE (org_id, conv_id, sender_id, client_msg_id),
    FOREIGN KEY (org_id, conv_id) REFERENCES conversations (org_id, id) ON DELETE CASCADE
);

-- Appends a batch of messages in one round trip. `batch` is a JSON array of
-- {ord, org, conv, sender, cmid, type, body, ts}. Rows are taken in (conv, ord) order so that
-- concurrent batches lock conversations in the same order (no deadlock) and messages of one
-- conversation keep their arrival order. The conversation row lock makes seq gapless across
-- every node; if the transaction fails, the seqs go back with it.
CREATE FUNCTION append_messages(batch jsonb)
RETURNS TABLE (ord integer, status text, msg_id bigint, seq bigint, ts bigint, duplicate boolean)
LANGUAGE plpgsql AS $$
DECLARE
    r record;
    existing record;
    next_seq bigint;
    new_id bigint;
BEGIN
    FOR r IN
        SELECT (e->>'ord')::integer AS ord, (e->>'org')::bigint AS org, (e->>'conv')::bigint AS conv,
               (e->>'sender')::bigint AS sender, e->>'cmid' AS cmid, e->>'type' AS type,
               e->>'body' AS body, (e->>'ts')::bigint AS ts
        FROM jsonb_array_elements(batch) AS e
        ORDER BY 3, 1
    LOOP
        SELECT m.id, m.seq, m.ts INTO existing FROM messages m
         WHERE m.org_id = r.org AND m.conv_id = r.conv AND m.sender_id = r.sender
           AND m.client_msg_id = r.cmid;
        IF FOUND THEN
            ord := r.ord; status := 'ok'; msg_id := existing.id; seq := existing.seq;
            ts := existing.ts; duplicate := true;
            RETURN NEXT;
            CONTINUE;
        END IF;
        IF r.type <> 'system' AND NOT EXISTS (
            SELECT 1 FROM conv_members cm
             WHERE cm.org_id = r.org AND cm.conv_id = r.conv AND cm.user_id = r.sender) THEN
            ord := r.ord; msg_id := NULL; seq := NULL; ts := NULL; duplicate := false;
            status := CASE WHEN EXISTS (SELECT 1 FROM conversations c WHERE c.org_id = r.org AND c.id = r.conv)
                           THEN 'forbidden' ELSE 'not_found' END;
            RETURN NEXT;
            CONTINUE;
        END IF;
        UPDATE conversations c SET last_seq = c.last_seq + 1, updated_at = now()
         WHERE c.org_id = r.org AND c.id = r.conv
        RETURNING c.last_seq INTO next_seq;
        IF NOT FOUND THEN
            ord := r.ord; status := 'not_found'; msg_id := NULL; seq := NULL; ts := NULL; duplicate := false;
            RETURN NEXT;
            CONTINUE;
        END IF;
        INSERT INTO messages (org_id, conv_id, seq, sender_id, client_msg_id, type, body, ts)
        VALUES (r.org, r.conv, next_seq, r.sender, r.cmid, r.type, r.body, r.ts)
        RETURNING id INTO new_id;
        -- Sending moves the sender's own read cursor to the new message.
        UPDATE conv_members cm SET read_seq = next_seq
         WHERE cm.org_id = r.org AND cm.conv_id = r.conv AND cm.user_id = r.sender AND cm.read_seq < next_seq;
        ord := r.ord; status := 'ok'; msg_id := new_id; seq := next_seq; ts := r.ts; duplicate := false;
        RETURN NEXT;
    END LOOP;
END
$$;
