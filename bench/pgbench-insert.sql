-- The PostgreSQL ceiling for the message row alone: the same row as a text message of the load
-- generator (100-byte body) into the real `messages` table with its two unique indexes, :batch
-- rows per transaction, each transaction committed with synchronous_commit on. Conversations are
-- spread so that clients do not contend on one index page. No membership check, no seq
-- assignment, no conversation row update: what the server does on top of this is its own cost.
\set conv random(1000000000, 1000999999)
INSERT INTO messages (org_id, conv_id, seq, sender_id, client_msg_id, type, body, ts)
SELECT 0, :conv, nextval('bench_seq'), 1, 'b' || nextval('bench_seq'), 'text',
       '{"text":"t0000000000000|xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}',
       0
FROM generate_series(1, :batch);
