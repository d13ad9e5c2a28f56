-- append_messages without full-table scans.
--
-- Profiled with auto_explain during the benchmark suite: the planner estimated the batch
-- (jsonb_to_recordset) at 100 rows, whatever its size, and from that chose hash joins over
-- sequential scans of messages (the deduplication lookup), conversations and conv_members. With
-- statistics that lag a growing table, each batch read the whole messages table: 6 ms for one
-- message on a 5,000-message table, and worse as it grew. 0002 planned the statement on every
-- call to escape stale plans, which cost more CPU than the statement itself. Now:
--   * the batch comes from append_messages_input, a PL/pgSQL wrapper declared ROWS 4 (a PL/pgSQL
--     function is never inlined, so the planner takes its estimate): small outer sides make
--     nested loops over the primary keys the cheap plans for the UPDATEs;
--   * the two lookups that matter most do not depend on estimates at all: conversations are
--     probed and locked one by one through a locking LATERAL subquery, and the deduplication
--     lookup is a LATERAL subquery with LIMIT 1; neither can become a hash join.

CREATE FUNCTION append_messages_input(batch jsonb)
RETURNS TABLE (ord integer, org bigint, conv bigint, sender bigint, cmid text, type text, body text, ts bigint)
LANGUAGE plpgsql STABLE ROWS 4
AS $$
BEGIN
    RETURN QUERY SELECT * FROM jsonb_to_recordset(batch)
        AS x(ord integer, org bigint, conv bigint, sender bigint, cmid text, type text, body text, ts bigint);
END
$$;

CREATE OR REPLACE FUNCTION append_messages(batch jsonb)
RETURNS TABLE (ord integer, status text, msg_id bigint, seq bigint, ts bigint, duplicate boolean)
LANGUAGE plpgsql
-- Planned once per connection: the plan no longer depends on table statistics (see above), and
-- planning this statement on every call (force_custom_plan, as in 0002) was most of the
-- database's CPU per batch (profiled: copyObjectImpl, expression_tree_walker, pg_strtok).
SET plan_cache_mode = force_generic_plan
-- The generic plan is made at a writer's first call, possibly on empty tables, and kept for the
-- connection's life (until an autovacuum ANALYZE invalidates it, at most once a minute): on an
-- empty table a sequential scan looks as cheap as an index probe, and stays in the plan while the
-- table grows (measured on a fresh database: 1,373 sends/s and p99 5.9 s instead of 6,900/s).
-- Every table this statement reads has an index for each of its lookups, so seq scans are ruled
-- out.
SET enable_seqscan = off
AS $$
BEGIN
    RETURN QUERY
    WITH input AS MATERIALIZED (
        SELECT * FROM append_messages_input(batch)
    ), convs AS MATERIALIZED (
        -- One primary-key probe and lock per conversation, in id order (the outer rows are
        -- sorted and a LATERAL subquery that locks rows is never flattened into a join).
        SELECT c.org_id, c.id, c.last_seq
          FROM (SELECT DISTINCT i.org, i.conv FROM input i ORDER BY 1, 2) k
         CROSS JOIN LATERAL (SELECT c.org_id, c.id, c.last_seq FROM conversations c
                              WHERE c.org_id = k.org AND c.id = k.conv FOR UPDATE) c
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
          -- LIMIT 1 (the unique index allows one row anyway) keeps this a probe per row: a
          -- LATERAL subquery with a LIMIT is never turned into a hash join over the table.
          LEFT JOIN LATERAL (SELECT m.id, m.seq, m.ts FROM messages m
                              WHERE m.org_id = i.org AND m.sender_id = i.sender AND m.client_msg_id = i.cmid
                                AND m.conv_id + 0 = i.conv
                              LIMIT 1) AS old ON true
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
