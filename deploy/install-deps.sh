#!/usr/bin/env bash
# Installs everything Switchboard needs to build, test and run, from Debian 12 packages only.
# Used by the quickstart, the test command, CI and new users. Safe to run again.
# --bench adds what bench/run.sh needs besides: gnuplot (the plot). python3 is in the base set: the
# tests run the example integration in deploy/examples/ (a shell script that uses it for JSON, and
# a Python receiver). The web app is built with Node.js and npm (Debian's, unless a Node.js is
# already installed: NodeSource's package carries its own npm), and its browser tests drive
# Debian's chromium.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config
  libboost1.81-dev libboost-json1.81-dev libboost-system1.81-dev
  libssl-dev libpqxx-dev libpq-dev libspdlog-dev libsystemd-dev libarchive-dev zlib1g-dev catch2
  postgresql-15 postgresql-client-15
  libnats-dev nats-server haproxy coturn
  systemd curl python3
  clang libclang-rt-14-dev
  chromium
)
command -v npm >/dev/null || packages+=(nodejs npm)
if [ "${1:-}" = "--bench" ]; then packages+=(gnuplot-nox); fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all packages present"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
