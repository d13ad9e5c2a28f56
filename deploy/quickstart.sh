#!/usr/bin/env bash
# Builds Switchboard and starts it on a local PostgreSQL that this script provisions itself:
# installs packages, starts the local cluster, creates a role and database, migrates, creates a
# demo organization (printing its admin's login) and runs the server in the foreground.
set -euo pipefail
cd "$(dirname "$0")/.."

deploy/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release
bin=build/release/switchboard

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
as_pg() { $sudo runuser -u postgres -- "$@"; }

# The Debian cluster 15/main: start it if it is not running (works with and without systemd).
if ! pg_lsclusters -h 2>/dev/null | awk '$1=="15" && $2=="main" && $4=="online"' | grep -q .; then
  if ! pg_lsclusters -h 2>/dev/null | awk '$1=="15" && $2=="main"' | grep -q .; then
    $sudo pg_createcluster 15 main
  fi
  $sudo pg_ctlcluster 15 main start
fi

# A role named after the invoking user, so the default database.url (local socket) just works.
me=$(id -un)
as_pg psql -qtAc "SELECT 1 FROM pg_roles WHERE rolname = '$me'" | grep -q 1 ||
  as_pg psql -qc "CREATE ROLE \"$me\" LOGIN"
as_pg psql -qtAc "SELECT 1 FROM pg_database WHERE datname = 'switchboard'" | grep -q 1 ||
  as_pg psql -qc "CREATE DATABASE switchboard OWNER \"$me\""

export SWITCHBOARD_DATABASE_URL=${SWITCHBOARD_DATABASE_URL:-postgresql:///switchboard}
export SWITCHBOARD_SERVER_LISTEN=${SWITCHBOARD_SERVER_LISTEN:-127.0.0.1:8080}
"$bin" migrate

# A demo organization the first time only (again if the database was recreated since).
state=${XDG_STATE_HOME:-$HOME/.local/state}/switchboard
mkdir -p "$state"
if [ -f "$state/demo-login.json" ]; then
  demo_org=$(sed -E 's/.*"org":"([0-9]+)".*/\1/' "$state/demo-login.json")
  psql -qtAc "SELECT 1 FROM orgs WHERE id = $demo_org" switchboard 2>/dev/null | grep -q 1 || rm -f "$state/demo-login.json"
fi
if [ ! -f "$state/demo-login.json" ]; then
  password=$(head -c 12 /dev/urandom | base64 | tr -d '/+=' | head -c 16)
  mobile="+8613800000000"
  created=$("$bin" org create --name "Demo Org" --admin-name "Demo Admin" --admin-mobile "$mobile" \
    --admin-password "$password")
  org=$(printf '%s' "$created" | sed -E 's/.*"org":"([0-9]+)".*/\1/')
  printf '{"org":"%s","mobile":"%s","password":"%s"}\n' "$org" "$mobile" "$password" >"$state/demo-login.json"
  chmod 600 "$state/demo-login.json"
fi
# SMS verification codes (POST /v1/auth/code) go to a file here: read them from it.
export SWITCHBOARD_SMS_SINK=${SWITCHBOARD_SMS_SINK:-file}
export SWITCHBOARD_SMS_PATH=${SWITCHBOARD_SMS_PATH:-$state/sms.jsonl}
# Uploaded media (POST /v1/media) is kept here.
export SWITCHBOARD_MEDIA_DIR=${SWITCHBOARD_MEDIA_DIR:-$state/media}
# The key that seals integration apps' secrets for signing their callbacks: made once, kept here.
if [ ! -s "$state/apps-secret.key" ]; then
  (umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$state/apps-secret.key")
fi
export SWITCHBOARD_APPS_SECRET_KEY=${SWITCHBOARD_APPS_SECRET_KEY:-$(cat "$state/apps-secret.key")}
# A local development server: callbacks may go to http:// receivers on this machine.
export SWITCHBOARD_CALLBACKS_ALLOW_HTTP=${SWITCHBOARD_CALLBACKS_ALLOW_HTTP:-true}
export SWITCHBOARD_CALLBACKS_ALLOW_PRIVATE=${SWITCHBOARD_CALLBACKS_ALLOW_PRIVATE:-true}
demo_org=$(sed -E 's/.*"org":"([0-9]+)".*/\1/' "$state/demo-login.json")
demo_mobile=$(sed -E 's/.*"mobile":"([^"]+)".*/\1/' "$state/demo-login.json")
demo_password=$(sed -E 's/.*"password":"([^"]+)".*/\1/' "$state/demo-login.json")
cat <<EOF

  Open http://$SWITCHBOARD_SERVER_LISTEN/ in a browser and sign in as the demo organization's admin:
    Organization ID  $demo_org
    Mobile number    $demo_mobile
    Password         $demo_password
  (the same login works for POST /v1/auth/login; it is kept in $state/demo-login.json)
  In the console (Console > Members) create a second member, sign in as them in a private
  window, and chat between the two.

EOF
[ "$SWITCHBOARD_SMS_SINK" = file ] && echo "SMS verification codes are appended to $SWITCHBOARD_SMS_PATH"
echo "Starting switchboard on http://$SWITCHBOARD_SERVER_LISTEN (Ctrl-C stops it)"
exec "$bin" serve
