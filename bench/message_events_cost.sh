#!/usr/bin/env bash
# What the message-event trigger of migration 0008 costs the send path: the same direct-chat load
# with the trigger disabled, enabled with no app subscribed (the usual case: one EXISTS per
# batch), and enabled with an app that has a callback (its bot in none of the conversations: the
# per-batch join runs and finds nothing).
#   bench/message_events_cost.sh [PAIRS MESSAGES]    (default 200 pairs, 300 messages per sender)
# Release build and a throwaway PostgreSQL with fsync on (bench/lib.sh); stopped by PID on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
source bench/lib.sh
pairs=${1:-200}
messages=${2:-300}
export SWITCHBOARD_LIMITS_SENDS_PER_SECOND=100000 SWITCHBOARD_LIMITS_SEND_BURST=100000
export SWITCHBOARD_SERVER_MAX_CONNECTIONS_PER_IP=100000
SWITCHBOARD_APPS_SECRET_KEY=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
export SWITCHBOARD_APPS_SECRET_KEY
cmake --build --preset release --target switchboard-load >/dev/null
bench_start events-cost
created=$("$bin" org create --name Bench --admin-name Admin --admin-mobile +8613700000000 --admin-password bench-admin)
org=$(printf '%s' "$created" | sed -E 's/.*"org":"([0-9]+)".*/\1/')
"$bin" org seed --org "$org" --count $((pairs * 6)) --first-mobile +8615000000000 --tokens-out "$work/tokens.txt" >/dev/null
sql() { psql -qtAX "$SB_TEST_DATABASE_URL" -c "$1"; }
run() {
  echo "== $1"
  build/release/switchboard-load direct --pairs "$pairs" --messages "$messages" --window 8 --port "$port" \
    --tokens "$work/tokens.txt" --first-user "$2" | grep -E "msgs/s|messages/s|ack" | head -3
}
sql "ALTER TABLE messages DISABLE TRIGGER messages_app_events"
run "trigger disabled" 0
sql "ALTER TABLE messages ENABLE TRIGGER messages_app_events"
run "trigger enabled, no app with a callback" $((pairs * 2))
# An app with a callback, set directly (its URL is never called: its bot is in no conversation).
bot=$(sql "INSERT INTO users (org_id, name, kind) VALUES ($org, 'bot', 'bot') RETURNING id")
sql "INSERT INTO apps (org_id, name, scopes, secret_hash, bot_user_id, callback_url)
     VALUES ($org, 'x', '{events}', decode(repeat('00', 32), 'hex'), $bot, 'https://example.invalid/')" >/dev/null
run "trigger enabled, an app with a callback in the org" $((pairs * 4))
