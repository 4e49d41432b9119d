#!/bin/sh
# Runs a command inside a private network namespace, so tests, benchmarks and load can never send a
# packet anywhere but this namespace (and no ICE candidate on a real interface is ever tried).
# Needs root (or CAP_SYS_ADMIN); CALLWIRE_NO_NETNS=1 runs it unconfined.
#
# The namespace has loopback and one veth pair whose BOTH ends live inside it (TEST-NET-1,
# 192.0.2.10 and 192.0.2.11, default route via .11): Firefox gathers no ICE candidates without an
# interface that has a default route. An nftables rule in the namespace drops any packet addressed
# outside 127.0.0.0/8, ::1 and 192.0.2.0/24, so even a wrong address can never leave it. The
# command sees CALLWIRE_NETNS_ADDR=192.0.2.10 (the SFU listens there when Firefox takes part).
set -eu
if [ "${CALLWIRE_IN_NETNS:-}" = 1 ] || [ "${CALLWIRE_NO_NETNS:-}" = 1 ]; then exec "$@"; fi
if ! unshare -n true 2>/dev/null; then
  echo "scripts/netns.sh: cannot create a network namespace (needs root: unshare -n)." >&2
  echo "Run as root, or set CALLWIRE_NO_NETNS=1 to run without the sandbox." >&2
  exit 1
fi
# Ports the OS picks for itself (a client's source port, a `listen(0)`) start at 50000 here, so they
# never take one of the fixed media ports tests and benchmarks choose in 40000-49999 (SFU_RTC_PORT).
exec unshare -n sh -c '
set -eu
ip link set lo up
sysctl -qw net.ipv4.ip_local_port_range="50000 60999"
ip link add cw0 type veth peer name cw1
ip addr add 192.0.2.10/24 dev cw0
ip addr add 192.0.2.11/24 dev cw1
# No IPv6 on the pair: link-local fe80:: candidates would only be dropped by the fence below.
sysctl -qw net.ipv6.conf.cw0.disable_ipv6=1 net.ipv6.conf.cw1.disable_ipv6=1
ip link set cw0 up
ip link set cw1 up
ip route add default via 192.0.2.11
nft -f - <<NFT
table inet callwire_fence {
  chain output {
    type filter hook output priority -10; policy accept;
    meta nfproto ipv4 ip daddr != { 127.0.0.0/8, 192.0.2.0/24 } counter drop
    meta nfproto ipv6 ip6 daddr != ::1 counter drop
  }
}
NFT
CALLWIRE_IN_NETNS=1 CALLWIRE_NETNS_ADDR=192.0.2.10 exec "$@"' _ "$@"
