#!/usr/bin/env bash
# An example integration, written only from docs/api.md: it exchanges an app's secret for an
# access token, then posts a text message to users of the app's organization.
#
#   SWITCHBOARD_URL=http://127.0.0.1:8080 APP_ID=12 APP_SECRET=... \
#     deploy/examples/post_message.sh USER_ID [USER_ID...] -- "Build 42 passed"
#
# Needs curl and python3 (for JSON). A retry of the same run (same CLIENT_MSG_ID) sends nothing
# twice. Exits non-zero, printing the server's error, when a call fails.
set -euo pipefail

: "${SWITCHBOARD_URL:?set SWITCHBOARD_URL, e.g. http://127.0.0.1:8080}"
: "${APP_ID:?set APP_ID (the app field of POST /v1/admin/apps)}"
: "${APP_SECRET:?set APP_SECRET (shown once by POST /v1/admin/apps or .../rotate)}"

users=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do users+=("$1"); shift; done
[ "${1:-}" = "--" ] && shift
text=${1:?usage: post_message.sh USER_ID [USER_ID...] -- TEXT}
[ ${#users[@]} -gt 0 ] || { echo "name at least one user id" >&2; exit 2; }
client_msg_id=${CLIENT_MSG_ID:-example-$(date +%s%N)}

# call METHOD PATH [JSON] [TOKEN]: prints the response body; fails on a status other than 2xx.
call() {
  local out status
  out=$(mktemp)
  status=$(curl -sS -o "$out" -w '%{http_code}' -X "$1" "$SWITCHBOARD_URL$2" \
    -H 'Content-Type: application/json' ${4:+-H "Authorization: Bearer $4"} ${3:+--data-binary "$3"})
  cat "$out"
  rm -f "$out"
  case $status in 2*) ;; *) echo >&2; echo "$1 $2 answered HTTP $status" >&2; return 1 ;; esac
}

json() { python3 -c 'import json,sys; print(json.dumps(sys.argv[1:] if len(sys.argv) > 2 else sys.argv[1]))' "$@"; }

token_body=$(printf '{"app_id":%s,"secret":%s}' "$(json "$APP_ID")" "$(json "$APP_SECRET")")
token=$(call POST /v1/app/token "$token_body" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')

ids=$(python3 -c 'import json,sys; print(json.dumps(sys.argv[1:]))' "${users[@]}")
message=$(printf '{"to_users":%s,"client_msg_id":%s,"type":"text","body":{"text":%s}}' \
  "$ids" "$(json "$client_msg_id")" "$(json "$text")")
call POST /v1/app/messages "$message" "$token"
echo
