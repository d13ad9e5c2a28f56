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
    -- Deduplication. conv_id comes last so that append_messages can look a resend up through
    -- this index alone (see there).
    UNIQUE (org_id, sender_id, client_msg_id, conv_id)
    -- No foreign key to conversations: every insert happens while the same transaction holds the
    -- conversation row locked (append_messages, system messages), and the per-row key check on
    -- that constantly updated row walked its HOT chain (profiled: a third of the insert time).
);

-- Appends a batch of messages in one round trip, set-based. `batch` is a JSON array of
-- {ord, org, conv, sender, cmid, type, body, ts}. Each conversation of the batch is locked once,
-- in id order (concurrent batches on any node cannot deadlock), and its last_seq read under that
-- lock; its new messages take last_seq+1.. in arrival (ord) order. If the transaction fails,
-- last_seq rolls back with it, so seqs stay gapless. A (conv, sender, cmid) already stored, or
-- repeated within the batch, answers the first message with duplicate = true.
-- Work is per conversation and per (conversation, sender) where it can be: those rows are
-- updated by every batch, and each probe of them walks their HOT chain.
CREATE FUNCTION append_messages(batch jsonb)
RETURNS TABLE (ord integer, status text, msg_id bigint, seq bigint, ts bigint, duplicate boolean)
LANGUAGE plpgsql
-- A cached generic plan is made while messages is empty and has no statistics, and kept as the
-- table grows (profiled: its hash join over a sequential scan of messages took 80% of the CPU
-- within 50,000 messages). Planning each call sees the table as it is.
SET plan_cache_mode = force_custom_plan
AS $$
BEGIN
    RETURN QUERY
    WITH input AS MATERIALIZED (
        SELECT * FROM jsonb_to_recordset(batch)
            AS x(ord integer, org bigint, conv bigint, sender bigint, cmid text, type text, body text, ts bigint)
    ), convs AS MATERIALIZED (
        SELECT c.org_id, c.id, c.last_seq
          FROM conversations c
         WHERE (c.org_id, c.id) IN (SELECT DISTINCT i.org, i.conv FROM input i)
         ORDER BY c.org_id, c.id
           FOR UPDATE
    ), senders AS MATERIALIZED (
        SELECT DISTINCT i.org, i.conv, i.sender,
               (SELECT true FROM conv_members cm
                 WHERE cm.org_id = i.org AND cm.conv_id = i.conv AND cm.user_id = i.sender LIMIT 1) IS NOT NULL
                   AS is_member
          FROM input i
    ), looked AS MATERIALIZED (
        SELECT i.*, old.id AS old_id, old.seq AS old_seq, old.ts AS old_ts,
               min(i.ord) OVER (PARTITION BY i.org, i.conv, i.sender, i.cmid) AS first_ord,
               cv.last_seq,
               (i.type = 'system' OR coalesce(sd.is_member, false)) AS is_member
          FROM input i
          LEFT JOIN convs cv ON cv.org_id = i.org AND cv.id = i.conv
          LEFT JOIN senders sd ON sd.org = i.org AND sd.conv = i.conv AND sd.sender = i.sender
          -- `conv_id + 0` keeps the primary key (org_id, conv_id, seq) out of the planner's choice:
          -- without statistics it looked cheaper and read every message of the conversation.
          LEFT JOIN LATERAL (SELECT m.id, m.seq, m.ts FROM messages m
                              WHERE m.org_id = i.org AND m.sender_id = i.sender AND m.client_msg_id = i.cmid
                                AND m.conv_id + 0 = i.conv) AS old ON true
    ), flagged AS MATERIALIZED (
        SELECT l.*,
               (l.old_id IS NULL AND l.ord = l.first_ord AND l.last_seq IS NOT NULL AND l.is_member) AS fresh
          FROM looked l
    ), numbered AS MATERIALIZED (
        SELECT f.*,
               CASE WHEN f.fresh THEN
                   f.last_seq + sum(f.fresh::integer) OVER (PARTITION BY f.org, f.conv ORDER BY f.ord)
               END AS new_seq,
               sum(f.fresh::integer) OVER (PARTITION BY f.org, f.conv) AS k,
               CASE WHEN f.fresh THEN nextval('messages_id_seq'::regclass) END AS new_id,
               CASE WHEN f.old_id IS NOT NULL OR f.fresh THEN 'ok'
                    WHEN f.last_seq IS NULL THEN 'not_found'
                    WHEN NOT f.is_member THEN 'forbidden'
                    ELSE 'ok' END AS st
          FROM flagged f
    ), bumped AS (
        UPDATE conversations cv
           SET last_seq = cv.last_seq + n.k, updated_at = now()
          FROM (SELECT DISTINCT nb.org, nb.conv, nb.k FROM numbered nb WHERE nb.k > 0) AS n
         WHERE cv.org_id = n.org AND cv.id = n.conv
        RETURNING 1
    ), inserted AS (
        INSERT INTO messages (org_id, conv_id, seq, id, sender_id, client_msg_id, type, body, ts)
        OVERRIDING SYSTEM VALUE
        SELECT n.org, n.conv, n.new_seq, n.new_id, n.sender, n.cmid, n.type, n.body, n.ts
          FROM numbered n WHERE n.fresh
        RETURNING 1
    ), cursors AS (
        -- Sending moves the sender's own read cursor to its newest message.
        UPDATE conv_members cm
           SET read_seq = x.top
          FROM (SELECT n.org, n.conv, n.sender, max(n.new_seq) AS top
                  FROM numbered n WHERE n.fresh GROUP BY 1, 2, 3) AS x
         WHERE cm.org_id = x.org AND cm.conv_id = x.conv AND cm.user_id = x.sender AND cm.read_seq < x.top
        RETURNING 1
    )
    SELECT n.ord,
           first_value(n.st) OVER w,
           coalesce(n.old_id, first_value(n.new_id) OVER w),
           coalesce(n.old_seq, first_value(n.new_seq) OVER w),
           coalesce(n.old_ts, first_value(n.ts) OVER w),
           first_value(n.st) OVER w = 'ok' AND (n.old_id IS NOT NULL OR n.ord <> n.first_ord)
      FROM numbered n
    WINDOW w AS (PARTITION BY n.org, n.conv, n.sender, n.cmid ORDER BY n.ord)
     ORDER BY n.ord;
END
$$;
