#!/usr/bin/env bash
# Checks deploy/switchboard.service with `systemd-analyze verify`, pointing ExecStart at BINARY.
set -euo pipefail
binary=${1:?usage: verify-unit.sh BINARY}
src="$(dirname "$0")/../deploy/switchboard.service"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
sed "s|/usr/local/bin/switchboard|$binary|g" "$src" >"$dir/switchboard.service"
out=$(systemd-analyze verify "$dir/switchboard.service" 2>&1)
if [ -n "$out" ]; then
  echo "$out"
  exit 1
fi
echo "systemd-analyze verify: clean"
