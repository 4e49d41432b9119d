#!/bin/sh
# Installs the Debian packages callwire's tests need when they are missing (root only).
# Usage: scripts/system-deps.sh [--check]   (--check: only report, exit 1 if something is missing)
set -eu
missing=""
command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
command -v docker-compose >/dev/null 2>&1 || missing="$missing docker-compose"
command -v ip >/dev/null 2>&1 || missing="$missing iproute2"
command -v unshare >/dev/null 2>&1 || missing="$missing util-linux"
command -v openssl >/dev/null 2>&1 || missing="$missing openssl"
command -v turnserver >/dev/null 2>&1 || missing="$missing coturn"
command -v nft >/dev/null 2>&1 || missing="$missing nftables"
command -v redis-server >/dev/null 2>&1 || missing="$missing redis-server"
command -v haproxy >/dev/null 2>&1 || missing="$missing haproxy"
command -v promtool >/dev/null 2>&1 || missing="$missing prometheus"
# Mixed-browser tests drive Debian's Firefox ESR over WebDriver BiDi (puppeteer-core).
command -v firefox-esr >/dev/null 2>&1 || missing="$missing firefox-esr"
for extra in ${CALLWIRE_EXTRA_APT:-}; do
  dpkg -s "$extra" >/dev/null 2>&1 || missing="$missing $extra"
done
[ -z "$missing" ] && exit 0
if [ "${1:-}" = "--check" ]; then
  echo "missing Debian packages:$missing" >&2
  exit 1
fi
if [ "$(id -u)" != 0 ]; then
  echo "callwire needs these Debian packages:$missing" >&2
  echo "install them with: sudo apt-get install -y$missing" >&2
  exit 1
fi
echo "installing Debian packages:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends $missing >/dev/null
