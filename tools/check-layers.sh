#!/usr/bin/env bash
# Fails when a source file includes a project header from a layer it may not depend on. The
# layers, lowest first (docs/architecture.md says what each is for):
#   protocol, config  <-  storage  <-  server/base <- server/ops <- server/net <- server/core
#   <- server/api, server/jobs, server/cluster  <-  server/daemon
# A layer may include itself and anything below it; api, jobs and cluster may not include each other.
set -euo pipefail
cd "$(dirname "$0")/.."

allowed() {  # the layers a file of layer $1 may include
  case $1 in
    protocol) echo "protocol" ;;
    config) echo "config protocol" ;;
    storage) echo "storage protocol config" ;;
    base) echo "base protocol config" ;;
    ops) echo "ops base protocol config storage" ;;
    net) echo "net ops base protocol config storage" ;;
    core) echo "core net ops base protocol config storage" ;;
    api) echo "api core net ops base protocol config storage" ;;
    jobs) echo "jobs core net ops base protocol config storage" ;;
    cluster) echo "cluster core net ops base protocol config storage" ;;
    daemon) echo "daemon api jobs cluster core net ops base protocol config storage" ;;
  esac
}
layer_of() {  # a path (file or include) -> its layer, or nothing when it is not layered
  case $1 in
    protocol/*) echo protocol ;;
    config/*) echo config ;;
    storage/*) echo storage ;;
    server/base/*) echo base ;;
    server/ops/*) echo ops ;;
    server/net/*) echo net ;;
    server/core/*) echo core ;;
    server/api/*) echo api ;;
    server/jobs/*) echo jobs ;;
    server/cluster/*) echo cluster ;;
    server/daemon/*) echo daemon ;;
    server/pch.hpp) echo base ;;
    server/*) echo unplaced ;;
  esac
}

bad=0
while IFS= read -r file; do
  from=$(layer_of "$file")
  [ -n "$from" ] || continue
  if [ "$from" = unplaced ]; then
    echo "check-layers: $file is in server/ but in none of its layers" >&2
    bad=1
    continue
  fi
  ok=" $(allowed "$from") "
  while IFS= read -r inc; do
    to=$(layer_of "$inc")
    [ -n "$to" ] || continue
    if [ "$to" = unplaced ] || [[ $ok != *" $to "* ]]; then
      echo "check-layers: $file ($from) includes \"$inc\" ($to)" >&2
      bad=1
    fi
  done < <(sed -nE 's/^[[:space:]]*#[[:space:]]*include[[:space:]]+"([^"]+)".*/\1/p' "$file")
done < <(git ls-files --cached --others --exclude-standard -- protocol config storage server | grep -E '\.(hpp|cpp)$')

if [ $bad -ne 0 ]; then
  echo "check-layers: includes against the layering above" >&2
  exit 1
fi
echo "check-layers: every include follows the layering"
