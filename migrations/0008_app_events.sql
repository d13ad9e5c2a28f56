-- Event callbacks for integration apps (PROTOCOL.md "Event callbacks"): a durable outbox, filled
-- in the transaction that makes the change, emptied by every node's dispatcher in order per app.

-- The callback is signed with the app's secret, so the server needs the secret itself, not only
-- its hash: it is kept sealed (AES-256-GCM under apps.secret_key, which never enters the
-- database). secret_hash still checks the token exchange. NULL: sealed under no key (the app was
-- created or rotated while apps.secret_key was unset): it cannot register a callback until its
-- secret is rotated.
ALTER TABLE apps ADD COLUMN secret_sealed bytea;
-- Only an app with the events scope has a callback URL; a deleted app has none.
ALTER TABLE apps ADD CONSTRAINT apps_callback_needs_events
    CHECK (callback_url IS NULL OR ('events' = ANY (scopes) AND deleted_at IS NULL));
-- The apps that receive events, found from a message's org without reading the others.
CREATE INDEX apps_subscribed ON apps (org_id) WHERE callback_url IS NOT NULL;

CREATE TABLE app_events (
    -- Delivery order per app: an event committed before another began has the smaller id.
    id              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id          bigint      NOT NULL,
    app_id          bigint      NOT NULL,
    -- What the receiver deduplicates by: the same on every attempt.
    delivery_id     uuid        NOT NULL DEFAULT gen_random_uuid(),
    type            text        NOT NULL
        CHECK (type IN ('message', 'member.added', 'member.updated', 'member.removed', 'department.changed')),
    -- The event's data as JSON text; for a message, NULL: the message is read at delivery from
    -- (conv_id, seq), so its body is not copied for every app that receives it.
    data            text,
    conv_id         bigint,
    seq             bigint,
    created_at      timestamptz NOT NULL DEFAULT now(),
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    -- Set while a node delivers the event; another node takes it over only after this passes.
    lease_until     timestamptz,
    last_error      text,
    FOREIGN KEY (org_id, app_id) REFERENCES apps (org_id, id) ON DELETE CASCADE,
    CHECK ((type = 'message') = (data IS NULL)),
    CHECK ((type = 'message') = (conv_id IS NOT NULL AND seq IS NOT NULL))
);
CREATE INDEX app_events_queue ON app_events (app_id, id);

-- Wakes the dispatchers (LISTEN switchboard_app_events) when the inserting transaction commits;
-- notifications with the same payload in one transaction are sent once.
CREATE FUNCTION app_events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('switchboard_app_events', NEW.app_id::text);
    RETURN NULL;
END
$$;
CREATE TRIGGER app_events_notify AFTER INSERT ON app_events
    FOR EACH ROW EXECUTE FUNCTION app_events_notify();

-- A message event for each app whose bot is in the message's conversation (not for the bot's own
-- messages), from every path that writes messages, in the same transaction. A statement trigger:
-- one query per batch, and none at all while no app has a callback.
CREATE FUNCTION messages_app_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM apps WHERE callback_url IS NOT NULL) THEN
        RETURN NULL;
    END IF;
    INSERT INTO app_events (org_id, app_id, type, conv_id, seq)
    SELECT n.org_id, a.id, 'message', n.conv_id, n.seq
      FROM new_messages n
      JOIN apps a ON a.org_id = n.org_id AND a.callback_url IS NOT NULL AND a.bot_user_id <> n.sender_id
     WHERE EXISTS (SELECT 1 FROM conv_members cm
                    WHERE cm.org_id = n.org_id AND cm.conv_id = n.conv_id AND cm.user_id = a.bot_user_id)
     ORDER BY n.id;
    RETURN NULL;
END
$$;
CREATE TRIGGER messages_app_events AFTER INSERT ON messages
    REFERENCING NEW TABLE AS new_messages
    FOR EACH STATEMENT EXECUTE FUNCTION messages_app_events();
