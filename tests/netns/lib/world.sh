# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The world of a data-path test: network namespaces for the host, a client and two guests, their
# listeners, the client side's probes; the checks a test can run at all; cleanup at exit.
#
#   client (198.51.100.2/24, lan0) ==veth== (uplink0 198.51.100.1/24) host (virbr0 192.168.122.1/24)
#                                                                        |-- vnet0 == eth0 guest1 (.10)
#                                                                        |-- vnet1 == eth0 guest2 (.11)
#
# Every namespace, process and file made here is removed by the EXIT trap. Traffic only ever
# goes to addresses assigned inside these namespaces.

# shellcheck disable=SC2034 # the constants are for the scripts that source this file
VP_NET=192.168.122.0/24
VP_GW=192.168.122.1
VP_HOST_ADDR=198.51.100.1
VP_CLIENT_ADDR=198.51.100.2
VP_G1_IP=192.168.122.10
VP_G2_IP=192.168.122.11
VP_G1_MAC=52:54:00:00:00:0a
VP_G2_MAC=52:54:00:00:00:0b
VP_G1_UUID=c0ffee00-0000-4000-8000-00000000000a
VP_G2_UUID=c0ffee00-0000-4000-8000-00000000000b

# IPv6: the same world, dual stack, on documentation prefixes only (2001:db8::/32).
#
#   client (2001:db8:1::2/64, lan0) ==veth== (uplink0 2001:db8:1::1/64) host (virbr0 2001:db8:122::1/64)
#                                                                  |-- guest1 2001:db8:122::10
#                                                                  |-- guest2 2001:db8:122::11
# Addresses are added with nodad: no waiting for duplicate address detection.
# shellcheck disable=SC2034 # the constants are for the scripts that source this file
VP6_NET=2001:db8:122::/64
VP6_GW=2001:db8:122::1
VP6_HOST_ADDR=2001:db8:1::1
VP6_CLIENT_ADDR=2001:db8:1::2
VP6_G1_IP=2001:db8:122::10
VP6_G2_IP=2001:db8:122::11
VP6_RANGE_START=2001:db8:122::100
VP6_RANGE_END=2001:db8:122::1ff

VP_NAMESPACES=()
VP_PIDS=()
VP_MOUNTS=()
VP_TMP=

# ---------------------------------------------------------------------------------------------
# Setup and teardown

vp_cleanup() {
	local ns pid
	for pid in "${VP_PIDS[@]}"; do
		kill "$pid" 2>/dev/null
	done
	# Children of our listeners and any detached waiter the hook left live in our namespaces
	# only; a namespace cannot go away while a process holds it.
	for ns in "${VP_NAMESPACES[@]}"; do
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill "$pid" 2>/dev/null
		done
	done
	for pid in "${VP_PIDS[@]}"; do
		wait "$pid" 2>/dev/null
	done
	for ns in "${VP_NAMESPACES[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	for pid in "${VP_MOUNTS[@]}"; do
		umount "$pid" 2>/dev/null
	done
	if [ -n "$VP_TMP" ] && [ -d "$VP_TMP" ]; then
		rm -rf "$VP_TMP"
	fi
}

# vp_tmpfs_run: $VP_ROOT/run on a tmpfs, as /run is on a host (unmounted by the EXIT trap).
vp_tmpfs_run() {
	mkdir -p "$VP_ROOT/run" &&
		mount -t tmpfs -o mode=0755,size=256m virt-portfwd-test "$VP_ROOT/run" &&
		VP_MOUNTS+=("$VP_ROOT/run")
}

vp_require_tools() {
	local t
	for t in "$@"; do
		command -v "$t" >/dev/null 2>&1 || vp_skip "$t not installed"
	done
}

# vp_init HOSTTYPE: check we can run, set names and binaries, make the temp tree, set the trap.
vp_init() {
	VP_HOSTTYPE=${1:-}
	case "$VP_HOSTTYPE" in
	nft | legacy) ;;
	*) vp_die "usage: $0 nft|legacy" ;;
	esac
	[ "$(id -u)" -eq 0 ] || vp_skip "needs root"
	# ip, iptables and nft live in sbin; a root shell without it must not turn into a skip.
	PATH=$PATH:/usr/sbin:/sbin
	vp_require_tools ip socat timeout flock cmp diff awk sed \
		"iptables-$VP_HOSTTYPE" "ip6tables-$VP_HOSTTYPE" \
		"iptables-$VP_HOSTTYPE-save" "ip6tables-$VP_HOSTTYPE-save"
	[ "$VP_HOSTTYPE" = legacy ] || vp_require_tools nft iptables-legacy-save ip6tables-legacy-save
	[ -n "${VP_BIN:-}" ] || vp_die "VP_BIN is not set (meson test sets it; else point it at the built virt-portfwd)"
	[ -x "$VP_BIN" ] || vp_die "VP_BIN=$VP_BIN is not executable"
	VP_BIN=$(readlink -f "$VP_BIN")

	IPT=iptables-$VP_HOSTTYPE
	IP6T=ip6tables-$VP_HOSTTYPE
	IPT_SAVE=iptables-$VP_HOSTTYPE-save
	IP6T_SAVE=ip6tables-$VP_HOSTTYPE-save

	VP_TAG=vp$$
	VP_HOST=$VP_TAG-host
	VP_CLIENT=$VP_TAG-client
	VP_GUEST1=$VP_TAG-guest1
	VP_GUEST2=$VP_TAG-guest2

	trap vp_cleanup EXIT
	trap 'exit 130' INT TERM
	VP_TMP=$(mktemp -d "/tmp/virt-portfwd-netns.XXXXXX") || vp_die "mktemp failed"
	chmod 0755 "$VP_TMP"
	VP_ROOT=$VP_TMP/root
	VP_FIX=$VP_TMP/fixtures
	VP_LOCK=$VP_ROOT/xtables.lock
	mkdir -p "$VP_FIX" "$VP_ROOT"
	: >"$VP_TMP/hook.stderr"

	# Probe: can we make a namespace at all (containers without CAP_SYS_ADMIN cannot).
	vp_netns_add "$VP_TAG-probe" 2>/dev/null || vp_skip "ip netns add does not work here"
	if [ "$VP_HOSTTYPE" = legacy ] &&
		! ip netns exec "$VP_TAG-probe" iptables-legacy -w -t filter -S >/dev/null 2>&1; then
		vp_skip "kernel without legacy xtables (CONFIG_NETFILTER_XTABLES_LEGACY)"
	fi
	ip netns del "$VP_TAG-probe"
}

# vp_init_kind KIND: vp_init for KIND nft or legacy (libvirt's iptables backend through that
# iptables variant), or nftables (libvirt's nftables backend; the nft tools). Sets VP_KIND.
vp_init_kind() {
	VP_KIND=${1:-}
	case "$VP_KIND" in
	nft | legacy) vp_init "$VP_KIND" ;;
	nftables) vp_init nft ;;
	*) vp_die "usage: $0 nft|legacy|nftables" ;;
	esac
}

vp_netns_add() {
	ip netns add "$1" || return 1
	VP_NAMESPACES+=("$1")
	ip -n "$1" link set lo up
}

# Run a command in the host namespace with the same xtables lock as the hook.
vp_h() {
	XTABLES_LOCKFILE=$VP_LOCK ip netns exec "$VP_HOST" "$@"
}

# vp_make_host: the host namespace with its uplink, virbr0 and forwarding.
vp_make_host() {
	vp_netns_add "$VP_HOST" || vp_die "cannot create $VP_HOST"
	ip -n "$VP_HOST" link add virbr0 type bridge stp_state 0 forward_delay 0 || return 1
	ip -n "$VP_HOST" addr add "$VP_GW/24" dev virbr0 || return 1
	ip -n "$VP_HOST" link set virbr0 up || return 1
	ip netns exec "$VP_HOST" sysctl -qw net.ipv4.ip_forward=1 || return 1
	# br_netfilter may be loaded on the machine (its switches are per namespace). A typical
	# libvirt host has it off, and then hairpin needs our MASQUERADE: test that case.
	if [ -e /proc/sys/net/bridge/bridge-nf-call-iptables ]; then
		ip netns exec "$VP_HOST" sysctl -qw net.bridge.bridge-nf-call-iptables=0 \
			net.bridge.bridge-nf-call-ip6tables=0 net.bridge.bridge-nf-call-arptables=0 || return 1
	fi
}

# vp_make_client: the client namespace on the host's uplink, with a route to the guests'
# network via the host (only the door test uses it: DNAT needs no route).
vp_make_client() {
	vp_netns_add "$VP_CLIENT" || vp_die "cannot create $VP_CLIENT"
	ip -n "$VP_HOST" link add uplink0 type veth peer name lan0 netns "$VP_CLIENT" || return 1
	ip -n "$VP_HOST" addr add "$VP_HOST_ADDR/24" dev uplink0 || return 1
	ip -n "$VP_HOST" link set uplink0 up || return 1
	ip -n "$VP_CLIENT" addr add "$VP_CLIENT_ADDR/24" dev lan0 || return 1
	ip -n "$VP_CLIENT" link set lan0 up || return 1
	ip -n "$VP_CLIENT" route add "$VP_NET" via "$VP_HOST_ADDR" || return 1
}

# vp_make_guest NS IP HOSTPORT: a guest namespace whose eth0 is plugged into virbr0 as HOSTPORT.
vp_make_guest() {
	local ns=$1 ip=$2 port=$3
	vp_netns_add "$ns" || vp_die "cannot create $ns"
	ip -n "$VP_HOST" link add "$port" type veth peer name eth0 netns "$ns" || return 1
	ip -n "$VP_HOST" link set "$port" master virbr0 up || return 1
	ip -n "$ns" addr add "$ip/24" dev eth0 || return 1
	ip -n "$ns" link set eth0 up || return 1
	ip -n "$ns" route add default via "$VP_GW" || return 1
}

# vp_world: host, client, guest1, guest2, their listeners. Waits until the guests answer.
vp_world() {
	vp_make_host || vp_die "host namespace setup failed"
	vp_make_client || vp_die "client namespace setup failed"
	vp_make_guest "$VP_GUEST1" "$VP_G1_IP" vnet0 || vp_die "guest1 setup failed"
	vp_make_guest "$VP_GUEST2" "$VP_G2_IP" vnet1 || vp_die "guest2 setup failed"
	vp_listen "$VP_GUEST1" guest1
	vp_listen "$VP_GUEST2" guest2
	vp_wait_tcp "$VP_HOST" "$VP_G1_IP" 22 guest1 || vp_die "guest1's listener does not answer"
	vp_wait_tcp "$VP_HOST" "$VP_G2_IP" 22 guest2 || vp_die "guest2's listener does not answer"
	vp_wait_tcp "$VP_HOST" "$VP_G1_IP" 89 "guest1 port 89" || vp_die "guest1's :89 does not answer"
}

# vp_world6: IPv6 on top of vp_world: addresses, routes, the host forwarding IPv6 (DNAT'd IPv6
# is forwarded only with net.ipv6.conf.all.forwarding=1), listeners. Waits until they answer.
vp_world6() {
	local ns _
	# shellcheck disable=SC2015 # vp_die exits
	ip netns exec "$VP_HOST" sysctl -qw net.ipv6.conf.all.forwarding=1 &&
		ip -n "$VP_HOST" addr add "$VP6_GW/64" dev virbr0 nodad &&
		ip -n "$VP_HOST" addr add "$VP6_HOST_ADDR/64" dev uplink0 nodad &&
		ip -n "$VP_CLIENT" addr add "$VP6_CLIENT_ADDR/64" dev lan0 nodad &&
		ip -n "$VP_CLIENT" route add "$VP6_NET" via "$VP6_HOST_ADDR" &&
		ip -n "$VP_GUEST1" addr add "$VP6_G1_IP/64" dev eth0 nodad &&
		ip -n "$VP_GUEST1" route add default via "$VP6_GW" &&
		ip -n "$VP_GUEST2" addr add "$VP6_G2_IP/64" dev eth0 nodad &&
		ip -n "$VP_GUEST2" route add default via "$VP6_GW" || vp_die "IPv6 setup failed"
	for ns in "$VP_HOST" "$VP_CLIENT" "$VP_GUEST1" "$VP_GUEST2"; do
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 \
			net.ipv6.conf.default.accept_dad=0 || vp_die "cannot turn DAD off in $ns"
	done
	vp_listen6 "$VP_GUEST1" guest1
	vp_listen6 "$VP_GUEST2" guest2
	vp_wait_tcp "$VP_HOST" "[$VP6_G1_IP]" 22 "guest1 v6" || vp_die "guest1's IPv6 :22 does not answer"
	vp_wait_tcp "$VP_HOST" "[$VP6_G2_IP]" 22 "guest2 v6" || vp_die "guest2's IPv6 :22 does not answer"
	vp_wait_tcp "$VP_HOST" "[$VP6_G1_IP]" 81 "guest1 v6 port 81" ||
		vp_die "guest1's IPv6 :81 does not answer"
	# A UDP listener not bound yet answers with port unreachable at once: poll it as well.
	for _ in $(seq 50); do
		[ "$(vp_udp6_get "$VP_HOST" "$VP6_G1_IP" 27015)" = "guest1 v6" ] && return 0
		sleep 0.1
	done
	vp_die "guest1's IPv6 UDP :27015 does not answer"
}

# Close every fd above stderr this shell inherited (from the test runner, a terminal, ...), as
# libvirt does for its hooks: what the hook passes on to the tools it runs is then its own doing.
vp_close_stray_fds() {
	local f fd
	for f in "/proc/$$/fd"/*; do
		fd=${f##*/}
		[ "$fd" -gt 2 ] && eval "exec $fd>&-" 2>/dev/null
	done
	return 0
}

# ---------------------------------------------------------------------------------------------
# Listeners and clients

vp_bg() {  # NS CMD...: run CMD in NS in the background, remember its pid
	ip netns exec "$1" "${@:2}" </dev/null >/dev/null 2>&1 &
	VP_PIDS+=("$!")
}

# Debian's python3 (tests/run installs it), not a version manager's shim first in PATH: pyenv's
# runs a dozen shell scripts before python starts.
VP_PYTHON=/usr/bin/python3
[ -x "$VP_PYTHON" ] || VP_PYTHON=python3

# vp_listen NS NAME: TCP :22 answers NAME, TCP :80..:89 answer "NAME port PORT" (to see which guest
# port a host port reached), UDP :27015 answers NAME. One process: lib/listen.py.
vp_listen() {
	vp_bg "$1" "$VP_PYTHON" "$VP_LIB/listen.py" "$2"
}

# vp_listen6 NS NAME: IPv6-only listeners, answering "NAME v6" (TCP :22, UDP :27015) and
# "NAME v6 port PORT" (TCP :80, :81), next to vp_listen's IPv4 ones on the same ports.
vp_listen6() {
	vp_bg "$1" "$VP_PYTHON" "$VP_LIB/listen.py" "$2" v6
}

# vp_tcp_get NS ADDR PORT [SRC]: print what the server sends; fail (within ~2 s) if no connection.
# socat's complaint, if any, is kept for vp_tcp_error.
vp_tcp_get() {
	local ns=$1 addr=$2 port=$3 src=${4:-} opt=
	[ -z "$src" ] || opt=",bind=$src"
	ip netns exec "$ns" timeout 4 socat -T 2 -t 2 - "TCP:$addr:$port,connect-timeout=2$opt" \
		</dev/null 2>"$VP_TMP/tcp.err"
}

# vp_tcp6_get NS ADDR PORT [SRC]: vp_tcp_get for bare IPv6 addresses.
vp_tcp6_get() {
	vp_tcp_get "$1" "[$2]" "$3" "${4:+[$4]}"
}

# Why the last vp_tcp_get failed: "refused" (a REJECT or RST), "timeout", or socat's message.
vp_tcp_error() {
	if grep -q "Connection refused" "$VP_TMP/tcp.err"; then
		echo refused
	elif grep -qi "timed out\|timeout" "$VP_TMP/tcp.err" || [ ! -s "$VP_TMP/tcp.err" ]; then
		echo timeout
	else
		sed -n 1p "$VP_TMP/tcp.err"
	fi
}

# vp_udp_get NS ADDR PORT: send a datagram, print the first reply line (empty if none).
# UDP may lose a datagram (and the listener forks a shell per datagram on a loaded 2-core
# machine, slower still under ASan): up to 5 tries, each from a new source port, 3 s each.
vp_udp_get() {
	local ns=$1 addr=$2 port=$3 reply _
	for _ in 1 2 3 4 5; do
		reply=$(echo ping | ip netns exec "$ns" timeout 5 socat -T 3 -t 3 - "UDP:$addr:$port" \
			2>/dev/null | head -n 1)
		[ -n "$reply" ] && break
	done
	printf '%s\n' "$reply"
}

# vp_udp6_get NS ADDR PORT: vp_udp_get for a bare IPv6 address.
vp_udp6_get() {
	vp_udp_get "$1" "[$2]" "$3"
}

vp_wait_tcp() {  # NS ADDR PORT EXPECTED: poll for up to ~5 s
	local _
	for _ in $(seq 50); do
		[ "$(vp_tcp_get "$1" "$2" "$3")" = "$4" ] && return 0
		sleep 0.1
	done
	return 1
}

# A second client address, inside 203.0.113.0/24 (the from= range of the tables), which the host
# routes back via the client.
VP_OUTSIDER=203.0.113.5
vp_world_outsider() {
	ip -n "$VP_CLIENT" addr add "$VP_OUTSIDER/32" dev lan0 &&
		ip -n "$VP_HOST" route add 203.0.113.0/24 via "$VP_CLIENT_ADDR"
}
