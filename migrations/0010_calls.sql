-- Calls (PROTOCOL.md "Calls", docs/calls.md): each call's state, its parties, and the call minutes
-- an organization bought and used. The server owns every call: every transition is one
-- transaction that locks the call's row and checks its state, so the first accept wins and a call
-- ends once, whichever node does it; the timers (ringing, reconnect grace, the next minute) are
-- columns that any node's sweep acts on, so they fire when the node that started a call is gone.

CREATE TABLE calls (
    org_id          bigint NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    conv_id         bigint NOT NULL,
    kind            text   NOT NULL CHECK (kind IN ('direct', 'group')),
    media           text   NOT NULL CHECK (media IN ('audio', 'video')),
    initiator       bigint NOT NULL,
    client_call_id  text   NOT NULL,
    state           text   NOT NULL CHECK (state IN ('ringing', 'active', 'ended')),
    created_at      bigint NOT NULL,  -- ms since the epoch, as every time below
    ring_until      bigint NOT NULL,  -- ringing stops then (missed, or a group's ringing members)
    answered_at     bigint,
    ended_at        bigint,
    end_reason      text CHECK (end_reason IN ('hangup', 'cancelled', 'declined', 'missed', 'dropped',
                                               'quota_exhausted')),
    -- Minutes taken from the organization's balance so far: one when the call turns active, one
    -- more as each further minute starts (at answered_at + reserved * 60 s). At the end the call
    -- bills ceil(active duration / 60 s); what it reserved beyond that goes back.
    reserved_minutes integer NOT NULL DEFAULT 0,
    billed_minutes  integer,
    UNIQUE (org_id, initiator, client_call_id),
    FOREIGN KEY (org_id, conv_id) REFERENCES conversations (org_id, id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, initiator) REFERENCES users (org_id, id) ON DELETE CASCADE,
    CHECK ((state = 'ended') = (ended_at IS NOT NULL))
);
-- One call at a time per conversation.
CREATE UNIQUE INDEX calls_live_per_conv ON calls (conv_id) WHERE state <> 'ended';
-- The sweep's scan of calls not yet ended.
CREATE INDEX calls_live ON calls (ring_until) WHERE state <> 'ended';
-- GET /v1/admin/calls, newest first.
CREATE INDEX calls_org_newest ON calls (org_id, id DESC);

-- Who a call rang and who is in it. A party in the call is `joined` on one session (the device
-- that accepted or joined), on a node; `dropped` when that session closed (it may come back with
-- call_join until dropped_at + calls.reconnect_grace_s); `left` after a hangup.
CREATE TABLE call_parties (
    org_id      bigint NOT NULL,
    call_id     bigint NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    user_id     bigint NOT NULL,
    state       text   NOT NULL CHECK (state IN ('ringing', 'joined', 'dropped', 'left', 'declined',
                                                 'missed')),
    session_id  text,
    node_id     text,
    joined_at   bigint,
    dropped_at  bigint,
    PRIMARY KEY (call_id, user_id),
    FOREIGN KEY (org_id, user_id) REFERENCES users (org_id, id) ON DELETE CASCADE,
    CHECK ((state = 'joined') = (session_id IS NOT NULL))
);
CREATE INDEX call_parties_user ON call_parties (user_id) WHERE state IN ('ringing', 'joined', 'dropped');
CREATE INDEX call_parties_dropped ON call_parties (dropped_at) WHERE state = 'dropped';
CREATE INDEX call_parties_node ON call_parties (node_id) WHERE state = 'joined';

-- An organization's call minutes: the balance never goes below zero. Minutes used are the sum of
-- the calls' billed_minutes (this row is touched once per call, when its first minute is taken).
CREATE TABLE call_minutes (
    org_id            bigint PRIMARY KEY REFERENCES orgs (id) ON DELETE CASCADE,
    balance_minutes   bigint NOT NULL DEFAULT 0 CHECK (balance_minutes >= 0),
    credited_minutes  bigint NOT NULL DEFAULT 0
);

-- The packages an operator credited (`switchboard org credit-minutes`), with the buyer's reference.
CREATE TABLE call_minute_packages (
    org_id       bigint NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    minutes      bigint NOT NULL CHECK (minutes > 0),
    ref          text   NOT NULL,
    credited_at  bigint NOT NULL
);
CREATE INDEX call_minute_packages_org ON call_minute_packages (org_id, id);
