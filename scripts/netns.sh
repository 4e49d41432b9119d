#!/bin/sh
# Runs a command inside a private network namespace that has only loopback, so tests, benchmarks
# and load can never send a packet anywhere but 127.0.0.1 / ::1 (and no ICE candidate on another
# interface is ever tried). Needs root (or CAP_SYS_ADMIN); CALLWIRE_NO_NETNS=1 runs it unconfined.
set -eu
if [ "${CALLWIRE_IN_NETNS:-}" = 1 ] || [ "${CALLWIRE_NO_NETNS:-}" = 1 ]; then exec "$@"; fi
if ! unshare -n true 2>/dev/null; then
  echo "scripts/netns.sh: cannot create a network namespace (needs root: unshare -n)." >&2
  echo "Run as root, or set CALLWIRE_NO_NETNS=1 to run without the loopback-only sandbox." >&2
  exit 1
fi
# Ports the OS picks for itself (a client's source port, a `listen(0)`) start at 50000 here, so they
# never take one of the fixed media ports tests and benchmarks choose in 40000-49999 (SFU_RTC_PORT).
exec unshare -n sh -c 'ip link set lo up && sysctl -qw net.ipv4.ip_local_port_range="50000 60999" && CALLWIRE_IN_NETNS=1 exec "$@"' _ "$@"
