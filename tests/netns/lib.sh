# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Shared by the data-path tests: a small world of network namespaces, libvirt's firewall rules
# for host type nft or legacy, guest listeners, client helpers, the fixture tree the hook reads
# (VIRT_PORTFWD_ROOT) and ruleset snapshots. Source it, then call vp_init HOSTTYPE.
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

VP_NAMESPACES=()
VP_PIDS=()
VP_TMP=
VP_FAILED=0
VP_TESTNUM=0

vp_skip() {
	echo "1..0 # SKIP $*"
	exit 77
}

vp_die() {
	echo "Bail out! $*"
	exit 1
}

# ---------------------------------------------------------------------------------------------
# TAP output

vp_ok() {  # DESCRIPTION: record a pass
	VP_TESTNUM=$((VP_TESTNUM + 1))
	echo "ok $VP_TESTNUM - $1"
}

vp_not_ok() {  # DESCRIPTION [DETAIL...]: record a failure; details become TAP comments
	VP_TESTNUM=$((VP_TESTNUM + 1))
	VP_FAILED=$((VP_FAILED + 1))
	echo "not ok $VP_TESTNUM - $1"
	shift
	local line
	for line in "$@"; do
		printf '%s\n' "$line" | sed 's/^/#   /'
	done
}

vp_check() {  # DESCRIPTION CMD...: ok when CMD succeeds
	local desc=$1
	shift
	if "$@"; then vp_ok "$desc"; else vp_not_ok "$desc" "command failed: $*"; fi
}

vp_quiet() {  # CMD...: run CMD, its stdout discarded
	"$@" >/dev/null
}

vp_check_eq() {  # DESCRIPTION GOT EXPECTED
	if [ "$2" = "$3" ]; then
		vp_ok "$1"
	else
		vp_not_ok "$1" "got:      '$2'" "expected: '$3'"
	fi
}

vp_check_same_file() {  # DESCRIPTION FILE-EXPECTED FILE-GOT
	if cmp -s "$2" "$3"; then
		vp_ok "$1"
	else
		vp_not_ok "$1" "$(diff -u "$2" "$3")"
	fi
}

# Print the plan; on failure the whole ruleset and the hook's stderr, for the log. Exit status.
vp_finish() {
	echo "1..$VP_TESTNUM"
	if [ "$VP_FAILED" -ne 0 ]; then
		echo "# $VP_FAILED of $VP_TESTNUM failed; ruleset of the host namespace now:"
		vp_ruleset_raw 2>&1 | sed 's/^/#   /'
		echo "# hook stderr:"
		sed 's/^/#   /' "$VP_TMP/hook.stderr" 2>/dev/null
		exit 1
	fi
	exit 0
}

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
VP_MOUNTS=()
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

vp_netns_add() {
	ip netns add "$1" || return 1
	VP_NAMESPACES+=("$1")
	ip -n "$1" link set lo up
}

# Run a command in the host namespace with the same xtables lock as the hook.
vp_h() {
	ip netns exec "$VP_HOST" env XTABLES_LOCKFILE="$VP_LOCK" "$@"
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

# ---------------------------------------------------------------------------------------------
# Listeners and clients

vp_bg() {  # NS CMD...: run CMD in NS in the background, remember its pid
	ip netns exec "$1" "${@:2}" </dev/null >/dev/null 2>&1 &
	VP_PIDS+=("$!")
}

# vp_listen NS NAME: TCP :22 answers NAME, TCP :80..:89 answer "NAME port PORT" (to see which guest
# port a host port reached), UDP :27015 answers NAME.
vp_listen() {
	local ns=$1 name=$2 p
	vp_bg "$ns" socat TCP-LISTEN:22,fork,reuseaddr SYSTEM:"echo $name"
	for p in 80 81 82 83 84 85 86 87 88 89; do
		vp_bg "$ns" socat TCP-LISTEN:$p,fork,reuseaddr SYSTEM:"echo $name port $p"
	done
	vp_bg "$ns" socat UDP-RECVFROM:27015,fork SYSTEM:"echo $name"
}

# vp_tcp_get NS ADDR PORT [SRC]: print what the server sends; fail (within ~2 s) if no connection.
# socat's complaint, if any, is kept for vp_tcp_error.
vp_tcp_get() {
	local ns=$1 addr=$2 port=$3 src=${4:-} opt=
	[ -z "$src" ] || opt=",bind=$src"
	ip netns exec "$ns" timeout 4 socat -T 2 -t 2 - "TCP:$addr:$port,connect-timeout=2$opt" \
		</dev/null 2>"$VP_TMP/tcp.err"
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

vp_wait_tcp() {  # NS ADDR PORT EXPECTED: poll for up to ~5 s
	local _
	for _ in $(seq 50); do
		[ "$(vp_tcp_get "$1" "$2" "$3")" = "$4" ] && return 0
		sleep 0.1
	done
	return 1
}

# ---------------------------------------------------------------------------------------------
# libvirt's rules (iptables backend, libvirt >= 5.1), replayed as libvirt issues them: global
# private chains for IPv4 and IPv6, then the NAT network 192.168.122.0/24 on virbr0. Each rule is
# inserted at the top, in libvirt's order (src/network/network_iptables.c), so the final order
# is libvirt's.

vp_libvirt_private_chains() {  # IPTABLES-BINARY (ip or ip6)
	local ipt="vp_h $1" c
	# libvirt lists each table, then makes each missing chain and inserts its jump at the top.
	for c in INPUT:LIBVIRT_INP OUTPUT:LIBVIRT_OUT FORWARD:LIBVIRT_FWO FORWARD:LIBVIRT_FWI \
		FORWARD:LIBVIRT_FWX; do
		$ipt -w --table filter --new-chain "${c#*:}" &&
			$ipt -w --table filter --insert "${c%%:*}" --jump "${c#*:}" || return 1
	done
	for c in nat mangle; do
		$ipt -w --table $c --new-chain LIBVIRT_PRT &&
			$ipt -w --table $c --insert POSTROUTING --jump LIBVIRT_PRT || return 1
	done
}

vp_libvirt_network_rules() {
	local ipt="vp_h $IPT" p br=virbr0 net=$VP_NET
	# General IPv4 rules: DHCP and DNS to and from dnsmasq, the catch-all rejects, cross traffic.
	for p in "INP --in-interface $br --protocol tcp --destination-port 67" \
		"INP --in-interface $br --protocol udp --destination-port 67" \
		"OUT --out-interface $br --protocol tcp --destination-port 68" \
		"OUT --out-interface $br --protocol udp --destination-port 68" \
		"INP --in-interface $br --protocol tcp --destination-port 53" \
		"INP --in-interface $br --protocol udp --destination-port 53" \
		"OUT --out-interface $br --protocol tcp --destination-port 53" \
		"OUT --out-interface $br --protocol udp --destination-port 53"; do
		# shellcheck disable=SC2086 # the rule is meant to be split into words
		$ipt -w --table filter --insert LIBVIRT_$p --jump ACCEPT || return 1
	done
	$ipt -w --table filter --insert LIBVIRT_FWO --in-interface $br --jump REJECT &&
		$ipt -w --table filter --insert LIBVIRT_FWI --out-interface $br --jump REJECT &&
		$ipt -w --table filter --insert LIBVIRT_FWX --in-interface $br --out-interface $br \
			--jump ACCEPT &&
		# The IPv4 <ip>'s masquerading rules: allow out, allow related in, then the NAT rules
		# in the reverse of their final order.
		$ipt -w --table filter --insert LIBVIRT_FWO --source $net --in-interface $br \
			--jump ACCEPT &&
		$ipt -w --table filter --insert LIBVIRT_FWI --destination $net --out-interface $br \
			--match conntrack --ctstate ESTABLISHED,RELATED --jump ACCEPT &&
		$ipt -w --table nat --insert LIBVIRT_PRT --source $net '!' --destination $net \
			--jump MASQUERADE &&
		$ipt -w --table nat --insert LIBVIRT_PRT --source $net -p udp '!' --destination $net \
			--jump MASQUERADE --to-ports 1024-65535 &&
		$ipt -w --table nat --insert LIBVIRT_PRT --source $net -p tcp '!' --destination $net \
			--jump MASQUERADE --to-ports 1024-65535 &&
		$ipt -w --table nat --insert LIBVIRT_PRT --source $net \
			--destination 255.255.255.255/32 --jump RETURN &&
		$ipt -w --table nat --insert LIBVIRT_PRT --source $net --destination 224.0.0.0/24 \
			--jump RETURN || return 1
	# libvirt applies the DHCP checksum fix in a transaction that ignores errors.
	$ipt -w --table mangle --insert LIBVIRT_PRT --out-interface $br --protocol udp \
		--destination-port 68 --jump CHECKSUM --checksum-fill ||
		echo "# note: no CHECKSUM target in this kernel; libvirt ignores that too"
	return 0
}

vp_load_libvirt_rules() {
	vp_libvirt_private_chains "$IPT" || vp_die "loading libvirt's IPv4 private chains failed"
	vp_libvirt_private_chains "$IP6T" || vp_die "loading libvirt's IPv6 private chains failed"
	vp_libvirt_network_rules || vp_die "loading libvirt's rules for network default failed"
}

# ---------------------------------------------------------------------------------------------
# Rulesets

# Everything the host namespace's firewall holds, raw (for failure logs).
vp_ruleset_raw() {
	vp_h "$IPT_SAVE"
	vp_h "$IP6T_SAVE"
	[ "$VP_HOSTTYPE" = legacy ] || vp_h nft list ruleset
}

# iptables-save text: drop comments and chain counters; drop built-in chains that have policy
# ACCEPT and no rule (iptables-nft makes them on first use and leaves them behind), and table
# blocks left empty by that.
vp_norm_save() {
	awk '
	/^#/ { next }
	/^\*/ { n = 0; tbl = $0; delete used; next }
	/^:/ { sub(/ \[[0-9]+:[0-9]+\]$/, " [0:0]"); line[++n] = $0; next }
	/^-A / { used[$2] = 1; line[++n] = $0; next }
	/^COMMIT$/ {
		out = ""
		for (i = 1; i <= n; i++) {
			split(line[i], f, " ")
			c = substr(f[1], 2)
			if (line[i] ~ /^:/ && f[2] == "ACCEPT" && c ~ /^(PREROUTING|INPUT|FORWARD|OUTPUT|POSTROUTING)$/ && !(c in used))
				continue
			out = out line[i] "\n"
		}
		if (out != "") printf "%s\n%sCOMMIT\n", tbl, out
		next
	}
	{ print }'
}

# nft list ruleset: drop counters' values and blank lines; drop base chains with policy accept
# and no rule (the same leftovers as above, seen from nft) and tables left empty; sort the chains
# of a table by name, as iptables-save does (nft lists them in creation order, which changes when
# a chain is deleted and made again with the same content).
vp_norm_nft() {
	awk '
	function flush_table(   i, j, k, t) {
		for (i = 2; i <= nc; i++)           # insertion sort: the tables are small
			for (j = i; j > 1 && ckey[j - 1] > ckey[j]; j--) {
				t = ckey[j]; ckey[j] = ckey[j - 1]; ckey[j - 1] = t
				t = ctext[j]; ctext[j] = ctext[j - 1]; ctext[j - 1] = t
			}
		for (k = 1; k <= nc; k++) tbody = tbody ctext[k]
		if (tbody != "") printf "%s\n%s}\n", thead, tbody
		thead = ""; tbody = ""; nc = 0
	}
	{ gsub(/counter packets [0-9]+ bytes [0-9]+/, "counter") }
	/^[[:space:]]*$/ { next }
	/^table / { thead = $0; tbody = ""; nc = 0; intable = 1; next }
	intable && /^}/ { intable = 0; flush_table(); next }
	intable && /^\tchain / { chead = $0; cbody = ""; nrules = 0; base_accept = 0; inchain = 1; next }
	inchain && /^\t}/ {
		inchain = 0
		if (!(base_accept && nrules == 0)) { ckey[++nc] = chead; ctext[nc] = chead "\n" cbody "\t}\n" }
		next
	}
	inchain {
		if ($0 ~ /^\t\ttype .* hook .*policy accept;$/) base_accept = 1
		else nrules++
		cbody = cbody $0 "\n"
		next
	}
	intable { tbody = tbody $0 "\n"; next }
	{ print }'
}

# vp_snapshot FILE: the normalised ruleset of the host namespace, what "unchanged" compares.
vp_snapshot() {
	local err=$VP_TMP/snapshot.err
	{
		echo "== $IPT_SAVE"
		vp_h "$IPT_SAVE" 2>"$err" | vp_norm_save
		cat "$err"
		echo "== $IP6T_SAVE"
		vp_h "$IP6T_SAVE" 2>"$err" | vp_norm_save
		cat "$err"
		if [ "$VP_HOSTTYPE" = nft ]; then
			echo "== nft list ruleset"
			vp_h nft list ruleset 2>"$err" | vp_norm_nft
			cat "$err"
		fi
	} >"$1"
}

# Lines of iptables-save (every IPv4 table) containing this text.
vp_rules_tagged() {
	vp_h "$IPT_SAVE" 2>/dev/null | grep -F -- "$1"
}

# ---------------------------------------------------------------------------------------------
# Fixtures: the tree under VIRT_PORTFWD_ROOT, and domain XML for stdin.

vp_fixture_init() {
	mkdir -p "$VP_ROOT/etc/virt-portfwd" "$VP_ROOT/run/libvirt/network" \
		"$VP_ROOT/var/lib/libvirt/dnsmasq" "$VP_ROOT/hooks" || vp_die "mkdir failed"
	chmod -R 0755 "$VP_ROOT"
	# Multi-call binary: the name "qemu" makes it libvirt's qemu hook.
	ln -sf "$VP_BIN" "$VP_ROOT/hooks/qemu"
}

# vp_write_table: forwards.conf from stdin, root-owned 0644, replaced atomically.
vp_write_table() {
	local f=$VP_ROOT/etc/virt-portfwd/forwards.conf
	cat >"$f.tmp" && chown 0:0 "$f.tmp" && chmod 0644 "$f.tmp" && mv -f "$f.tmp" "$f"
}

# vp_write_network [MAC=IP ...]: status XML of network "default", optional static hosts.
# shellcheck disable=SC2120 # the static hosts are optional
vp_write_network() {
	local h hosts=
	for h in "$@"; do
		hosts="$hosts        <host mac='${h%%=*}' name='static-${h##*.}' ip='${h#*=}'/>
"
	done
	cat >"$VP_ROOT/run/libvirt/network/default.xml" <<EOF
<!--
WARNING: THIS IS AN AUTO-GENERATED FILE. CHANGES TO IT ARE LIKELY TO BE
OVERWRITTEN AND LOST. Changes to this xml configuration should be made using:
  virsh net-edit default
or other application using the libvirt API.
-->

<networkstatus>
  <class_id bitmap='0-2'/>
  <floor sum='0'/>
  <network>
    <name>default</name>
    <uuid>9b2e4a63-6f52-4e4c-8e2a-0d1b5e8c0f11</uuid>
    <forward mode='nat'>
      <nat>
        <port start='1024' end='65535'/>
      </nat>
    </forward>
    <bridge name='virbr0' stp='on' delay='0'/>
    <mac address='52:54:00:5a:7e:01'/>
    <ip address='192.168.122.1' netmask='255.255.255.0'>
      <dhcp>
        <range start='192.168.122.2' end='192.168.122.254'/>
$hosts      </dhcp>
    </ip>
  </network>
</networkstatus>
EOF
}

# vp_write_leases MAC=IP ...: virbr0.status as libvirt_leaseshelper writes it, one hour left.
vp_write_leases() {
	local l sep='' exp
	exp=$(($(date +%s) + 3600))
	{
		echo "["
		for l in "$@"; do
			printf '%s  {\n    "ip-address": "%s",\n    "mac-address": "%s",\n' \
				"$sep" "${l#*=}" "${l%%=*}"
			printf '    "hostname": "h%s",\n    "client-id": "01:%s",\n    "expiry-time": %s\n  }' \
				"${l##*.}" "${l%%=*}" "$exp"
			sep=",
"
		done
		echo
		echo "]"
	} >"$VP_ROOT/var/lib/libvirt/dnsmasq/virbr0.status"
}

# vp_write_domain NAME UUID MAC VNET: live domain XML ($VP_FIX/NAME.xml) with one NIC on default.
vp_write_domain() {
	cat >"$VP_FIX/$1.xml" <<EOF
<domain type='qemu' id='7'>
  <name>$1</name>
  <uuid>$2</uuid>
  <memory unit='KiB'>131072</memory>
  <currentMemory unit='KiB'>131072</currentMemory>
  <vcpu placement='static'>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc-i440fx-7.2'>hvm</type>
    <boot dev='hd'/>
  </os>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <interface type='network'>
      <mac address='$3'/>
      <source network='default' portid='5f0c2a1e-0000-4000-8000-${2##*-}' bridge='virbr0'/>
      <target dev='$4'/>
      <model type='virtio'/>
      <alias name='net0'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x03' function='0x0'/>
    </interface>
    <serial type='pty'>
      <target type='isa-serial' port='0'/>
    </serial>
  </devices>
</domain>
EOF
}

# vp_hook DOMAIN OP [SUBOP]: call the qemu hook as libvirt does, in the host namespace, with
# $VP_FIX/DOMAIN.xml on stdin. stderr is appended to hook.stderr; stdout goes to hook.stdout
# (it must stay empty). Returns the hook's exit status.
vp_hook() {
	local dom=$1 op=$2 sub=${3:-begin}
	echo "--- $dom $op $sub" >>"$VP_TMP/hook.stderr"
	ip netns exec "$VP_HOST" env VIRT_PORTFWD_ROOT="$VP_ROOT" XTABLES_LOCKFILE="$VP_LOCK" \
		"$VP_ROOT/hooks/qemu" "$dom" "$op" "$sub" - \
		<"$VP_FIX/$dom.xml" >>"$VP_TMP/hook.stdout" 2>>"$VP_TMP/hook.stderr"
}

# vp_hook_ok DOMAIN OP [SUBOP]: assert exit 0 and nothing on stdout.
vp_hook_ok() {
	local rc before after
	before=$(stat -c %s "$VP_TMP/hook.stdout" 2>/dev/null || echo 0)
	vp_hook "$@"
	rc=$?
	after=$(stat -c %s "$VP_TMP/hook.stdout" 2>/dev/null || echo 0)
	vp_check_eq "hook $1 $2: exit status 0" "$rc" 0
	vp_check_eq "hook $1 $2: nothing on stdout" "$after" "$before"
}

# Microseconds the hook takes for DOMAIN OP, measured inside the host namespace (so the cost of
# `ip netns exec` is not counted); best of 5 runs, since the machine may be busy.
vp_hook_us() {
	local dom=$1 op=$2
	# shellcheck disable=SC2016 # expanded by the inner shell
	ip netns exec "$VP_HOST" env VIRT_PORTFWD_ROOT="$VP_ROOT" XTABLES_LOCKFILE="$VP_LOCK" \
		bash -c 'best=999999999
		for i in 1 2 3 4 5; do
			t0=$(date +%s%N)
			"$1" "$2" "$3" begin - <"$4" >/dev/null 2>>"$5"
			t1=$(date +%s%N)
			us=$(( (t1 - t0) / 1000 ))
			[ $us -lt $best ] && best=$us
		done
		echo $best' _ "$VP_ROOT/hooks/qemu" "$dom" "$op" "$VP_FIX/$dom.xml" "$VP_TMP/hook.stderr"
}

# ---------------------------------------------------------------------------------------------
# Our own speed. No check bounds a wall-clock time: that would time the machine, which may be
# slow, shared or running a sanitizer build. A time of ours is compared with a baseline taken in
# the same run through the same harness (the same binary doing less), and the bound is loose
# enough for the ASan + UBSan build. Speed targets themselves live in tests/bench.

# vp_check_ratio DESCRIPTION TIME BASE RATIO [SLACK]: ok when TIME <= RATIO x BASE + SLACK (all in
# one unit; SLACK, default 0, absorbs the period of a poll). BASE counts as at least 1.
vp_check_ratio() {
	local base=$3 slack=${5:-0}
	[ "$base" -ge 1 ] || base=1
	vp_check "$1 ($2 against a baseline of $3 in this run: at most ${4}x${5:+ + $5})" \
		test "$2" -le $(($4 * base + slack))
}

# vp_check_not_in_table SNAPSHOT: a guest the table does not name (guest2) changes nothing on
# started and stopped, and its started costs about what the hook doing nothing (prepare) does.
vp_check_not_in_table() {
	local us base snap=$VP_TMP/snap.guest2
	vp_hook_ok guest2 started
	vp_snapshot "$snap"
	vp_check_same_file "guest not in the table, started: ruleset unchanged" "$1" "$snap"
	base=$(vp_hook_us guest2 prepare)
	us=$(vp_hook_us guest2 started)
	vp_check_ratio "guest not in the table: started costs about what prepare does, in µs, best of 5" \
		"$us" "$base" 10
	vp_hook_ok guest2 stopped end
	vp_snapshot "$snap"
	vp_check_same_file "guest not in the table, stopped: ruleset unchanged" "$1" "$snap"
}

# ---------------------------------------------------------------------------------------------
# libvirt's nftables backend (libvirt >= 10.4), its rules as libvirt 11.3 makes them for the NAT
# network 192.168.122.0/24 on virbr0 (src/network/network_nftables.c: private chains first, then
# every per-network rule inserted at the top of its chain, so the final order is libvirt's).
# Use with vp_init nft: the nft tools and iptables-nft are both needed.

VP_LV_NFT_HANDLES=()   # "FAMILY CHAIN HANDLE" of each per-network rule, as libvirt saves them

# The private chains of one family, made as libvirt does when the table is missing: the forward
# base chain, a jump to each guest_* chain inserted at its top (the final order is cross, input,
# output), and the guest_nat base chain.
vp_libvirt_nft_private_chains() {  # FAMILY (ip or ip6)
	local f=$1 c
	vp_h nft add table "$f" libvirt_network &&
		vp_h nft add chain "$f" libvirt_network forward \
			'{ type filter hook forward priority 0; policy accept; }' || return 1
	for c in guest_output guest_input guest_cross; do
		vp_h nft add chain "$f" libvirt_network "$c" &&
			vp_h nft insert rule "$f" libvirt_network forward counter jump "$c" || return 1
	done
	vp_h nft add chain "$f" libvirt_network guest_nat \
		'{ type nat hook postrouting priority 100; policy accept; }'
}

# vp_libvirt_nft_insert FAMILY CHAIN RULE...: one per-network rule, inserted at the top of CHAIN
# with `nft -ae` as libvirt does; its handle is kept for the status XML's removal commands.
vp_libvirt_nft_insert() {
	local out h
	out=$(vp_h nft -ae insert rule "$1" libvirt_network "${@:2}") || return 1
	h=$(printf '%s\n' "$out" | sed -n 's/.* # handle \([0-9][0-9]*\)$/\1/p' | head -n 1)
	[ -n "$h" ] || return 1
	VP_LV_NFT_HANDLES+=("$1 $2 $h")
}

vp_libvirt_nft_network_rules() {
	local br=virbr0 net=$VP_NET i="vp_libvirt_nft_insert ip"
	# General IPv4 rules: the catch-all rejects, then cross traffic on the bridge.
	$i guest_output iif $br counter reject &&
		$i guest_input oif $br counter reject &&
		$i guest_cross iif $br oif $br counter accept &&
		# The <ip>'s masquerading rules: allow out, allow related in, then the NAT rules in the
		# reverse of their final order.
		$i guest_output ip saddr $net iif $br counter accept &&
		$i guest_input oif $br ip daddr $net ct state related,established counter accept &&
		$i guest_nat ip saddr $net ip daddr '!=' $net counter masquerade &&
		$i guest_nat meta l4proto udp ip saddr $net ip daddr '!=' $net counter masquerade \
			to :1024-65535 &&
		$i guest_nat meta l4proto tcp ip saddr $net ip daddr '!=' $net counter masquerade \
			to :1024-65535 &&
		$i guest_nat ip saddr $net ip daddr 255.255.255.255/32 counter return &&
		$i guest_nat ip saddr $net ip daddr 224.0.0.0/24 counter return
}

vp_load_libvirt_nft_rules() {
	VP_LV_NFT_HANDLES=()
	vp_libvirt_nft_private_chains ip || vp_die "loading libvirt's ip libvirt_network failed"
	vp_libvirt_nft_private_chains ip6 || vp_die "loading libvirt's ip6 libvirt_network failed"
	vp_libvirt_nft_network_rules || vp_die "loading libvirt's nftables rules for default failed"
}

# vp_libvirt_nft_rejump [FAMILY]: libvirt's jumps in forward deleted and inserted again, as after
# a flush of that chain and a libvirt reload: they end up at the top, above everything else.
vp_libvirt_nft_rejump() {
	local f=${1:-ip} h c
	for h in $(vp_h nft -a list chain "$f" libvirt_network forward |
		sed -n 's/.* jump guest_[a-z]* # handle \([0-9][0-9]*\)$/\1/p'); do
		vp_h nft delete rule "$f" libvirt_network forward handle "$h" || return 1
	done
	for c in guest_output guest_input guest_cross; do
		vp_h nft insert rule "$f" libvirt_network forward counter jump "$c" || return 1
	done
}

# vp_write_network_nft [MAC=IP ...]: vp_write_network's status XML plus the <firewall> element
# libvirt >= 10.4 saves after the <network>: backend nftables, and the commands that delete its
# per-network rules by handle (VP_LV_NFT_HANDLES).
vp_write_network_nft() {
	local f=$VP_ROOT/run/libvirt/network/default.xml e fam chain h layer a
	vp_write_network "$@" || return 1
	{
		sed '$d' "$f"
		echo "  <firewall name='fwRemoval' backend='nftables'>"
		echo "    <group>"
		for e in "${VP_LV_NFT_HANDLES[@]}"; do
			read -r fam chain h <<<"$e"
			layer=ipv4
			[ "$fam" = ip ] || layer=ipv6
			echo "      <action layer='$layer'>"
			echo "        <args>"
			for a in delete rule "$fam" libvirt_network "$chain" handle "$h"; do
				echo "          <item>$a</item>"
			done
			echo "        </args>"
			echo "      </action>"
		done
		echo "    </group>"
		echo "  </firewall>"
		echo "</networkstatus>"
	} >"$f.tmp" && mv -f "$f.tmp" "$f"
}

# Rule lines of an nft listing (two tabs deep, not a chain's type line), tabs stripped.
vp_nft_rules() {  # nft list ... ARGS
	vp_h nft "$@" | sed -n 's/^\t\t//p' | grep -v '^type .* hook '
}

# ---------------------------------------------------------------------------------------------
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

# vp_listen6 NS NAME: IPv6-only listeners, answering "NAME v6" (TCP :22, UDP :27015) and
# "NAME v6 port PORT" (TCP :80, :81), next to vp_listen's IPv4 ones on the same ports.
vp_listen6() {
	local ns=$1 name=$2 p
	vp_bg "$ns" socat TCP6-LISTEN:22,ipv6only=1,fork,reuseaddr SYSTEM:"echo $name v6"
	for p in 80 81; do
		vp_bg "$ns" socat TCP6-LISTEN:$p,ipv6only=1,fork,reuseaddr SYSTEM:"echo $name v6 port $p"
	done
	vp_bg "$ns" socat UDP6-RECVFROM:27015,ipv6only=1,fork SYSTEM:"echo $name v6"
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

# vp_udp6_get NS ADDR PORT: vp_udp_get for a bare IPv6 address.
vp_udp6_get() {
	vp_udp_get "$1" "[$2]" "$3"
}

# vp_tcp6_get NS ADDR PORT [SRC]: vp_tcp_get for bare IPv6 addresses.
vp_tcp6_get() {
	vp_tcp_get "$1" "[$2]" "$3" "${4:+[$4]}"
}

# vp_libvirt_ip6_rules ACTION MODE: the per-<ip> rules of libvirt's iptables backend for the
# IPv6 subnet (network_iptables.c), ACTION insert or delete. MODE nat66: <nat ipv6='yes'/>
# (libvirt >= 6.5), masquerading like IPv4, new connections from outside rejected. MODE route: a
# NAT network's IPv6 without NAT66 is routed; libvirt then accepts everything to the subnet.
vp_libvirt_ip6_rules() {
	local a=--$1 ipt="vp_h $IP6T -w" br=virbr0 net=$VP6_NET
	if [ "$2" = route ]; then
		$ipt --table filter "$a" LIBVIRT_FWO --source $net --in-interface $br --jump ACCEPT &&
			$ipt --table filter "$a" LIBVIRT_FWI --destination $net --out-interface $br \
				--jump ACCEPT
		return
	fi
	$ipt --table filter "$a" LIBVIRT_FWO --source $net --in-interface $br --jump ACCEPT &&
		$ipt --table filter "$a" LIBVIRT_FWI --destination $net --out-interface $br \
			--match conntrack --ctstate ESTABLISHED,RELATED --jump ACCEPT &&
		$ipt --table nat "$a" LIBVIRT_PRT --source $net '!' --destination $net --jump MASQUERADE &&
		$ipt --table nat "$a" LIBVIRT_PRT --source $net -p udp '!' --destination $net \
			--jump MASQUERADE --to-ports 1024-65535 &&
		$ipt --table nat "$a" LIBVIRT_PRT --source $net -p tcp '!' --destination $net \
			--jump MASQUERADE --to-ports 1024-65535 &&
		$ipt --table nat "$a" LIBVIRT_PRT --source $net --destination ff02::/16 --jump RETURN
}

# vp_libvirt_network_rules6 MODE: libvirt's IPv6 rules for network default (iptables backend):
# the general ones (networkAddGeneralIp6tablesRules: rejects, cross traffic, DNS and DHCPv6 to
# dnsmasq), then the subnet's (vp_libvirt_ip6_rules). The private chains must exist already.
vp_libvirt_network_rules6() {
	local ipt="vp_h $IP6T -w" br=virbr0 p
	$ipt --table filter --insert LIBVIRT_FWO --in-interface $br --jump REJECT &&
		$ipt --table filter --insert LIBVIRT_FWI --out-interface $br --jump REJECT &&
		$ipt --table filter --insert LIBVIRT_FWX --in-interface $br --out-interface $br \
			--jump ACCEPT || return 1
	for p in "INP --in-interface $br --protocol tcp --destination-port 53" \
		"INP --in-interface $br --protocol udp --destination-port 53" \
		"OUT --out-interface $br --protocol tcp --destination-port 53" \
		"OUT --out-interface $br --protocol udp --destination-port 53" \
		"INP --in-interface $br --protocol udp --destination-port 547" \
		"OUT --out-interface $br --protocol udp --destination-port 546"; do
		# shellcheck disable=SC2086 # the rule is meant to be split into words
		$ipt --table filter --insert LIBVIRT_$p --jump ACCEPT || return 1
	done
	vp_libvirt_ip6_rules insert "$1"
}

# vp_libvirt_nft_network_rules6 MODE: the same for libvirt's nftables backend, into
# `ip6 libvirt_network` (whose private chains must exist: vp_load_libvirt_nft_rules).
vp_libvirt_nft_network_rules6() {
	local br=virbr0 net=$VP6_NET i="vp_libvirt_nft_insert ip6"
	$i guest_output iif $br counter reject &&
		$i guest_input oif $br counter reject &&
		$i guest_cross iif $br oif $br counter accept || return 1
	if [ "$1" = route ]; then
		$i guest_output ip6 saddr $net iif $br counter accept &&
			$i guest_input oif $br ip6 daddr $net counter accept
		return
	fi
	$i guest_output ip6 saddr $net iif $br counter accept &&
		$i guest_input oif $br ip6 daddr $net ct state related,established counter accept &&
		$i guest_nat ip6 saddr $net ip6 daddr '!=' $net counter masquerade &&
		$i guest_nat meta l4proto udp ip6 saddr $net ip6 daddr '!=' $net counter masquerade \
			to :1024-65535 &&
		$i guest_nat meta l4proto tcp ip6 saddr $net ip6 daddr '!=' $net counter masquerade \
			to :1024-65535 &&
		$i guest_nat ip6 saddr $net ip6 daddr ff02::/16 counter return
}

# vp_libvirt_nft_reload6 MODE: `ip6 libvirt_network` made again from scratch with the subnet in
# MODE, as after the network was restarted with a changed <forward>.
vp_libvirt_nft_reload6() {
	local e kept=()
	for e in "${VP_LV_NFT_HANDLES[@]}"; do
		[ "${e%% *}" = ip6 ] || kept+=("$e")
	done
	VP_LV_NFT_HANDLES=("${kept[@]}")
	vp_h nft delete table ip6 libvirt_network &&
		vp_libvirt_nft_private_chains ip6 &&
		vp_libvirt_nft_network_rules6 "$1"
}

# vp_write_network6 NAT6 BACKEND [HOST6...]: a dual-stack status XML of network default.
# NAT6 yes: <nat ipv6='yes'/>; no: IPv6 routed. BACKEND nftables adds the <firewall> element of
# libvirt >= 10.4 (with VP_LV_NFT_HANDLES), anything else leaves it out as libvirt 9.0 does.
# HOST6 is a DHCPv6 reservation KEY=VALUE=IP, KEY id (a DUID) or name.
vp_write_network6() {
	local f=$VP_ROOT/run/libvirt/network/default.xml nat6=$1 backend=$2 h rest hosts='' natopt=''
	shift 2
	for h in "$@"; do
		rest=${h#*=}
		hosts="$hosts        <host ${h%%=*}='${rest%=*}' ip='${rest##*=}'/>
"
	done
	[ "$nat6" != yes ] || natopt=" ipv6='yes'"
	if [ "$backend" = nftables ]; then
		vp_write_network_nft || return 1
	else
		vp_write_network || return 1
	fi
	# The IPv4 network as vp_write_network wrote it, plus <nat ipv6> and the IPv6 <ip>.
	awk -v natopt="$natopt" -v hosts="$hosts" -v gw="$VP6_GW" -v s="$VP6_RANGE_START" \
		-v e="$VP6_RANGE_END" '
	/^      <nat>$/ { sub(/<nat>/, "<nat" natopt ">") }
	/^  <\/network>$/ {
		print "    <ip family=\x27ipv6\x27 address=\x27" gw "\x27 prefix=\x2764\x27>"
		print "      <dhcp>"
		print "        <range start=\x27" s "\x27 end=\x27" e "\x27/>"
		printf "%s", hosts
		print "      </dhcp>"
		print "    </ip>"
	}
	{ print }' "$f" >"$f.tmp" && mv -f "$f.tmp" "$f"
}

# vp_write_leases46 MAC=IP ...: virbr0.status with DHCPv4 and DHCPv6 leases (an IPv6 address
# makes a DHCPv6 entry: iaid, and a DUID-LL client-id), in libvirt_leaseshelper's field order.
vp_write_leases46() {
	local l sep='' exp mac ip
	exp=$(($(date +%s) + 3600))
	{
		echo "["
		for l in "$@"; do
			mac=${l%%=*} ip=${l#*=}
			printf '%s  {\n' "$sep"
			case "$ip" in
			*:*)
				printf '    "iaid": "%s",\n    "ip-address": "%s",\n    "mac-address": "%s",\n' \
					"$((0x${mac##*:}))" "$ip" "$mac"
				printf '    "hostname": "h%s",\n    "client-id": "00:03:00:01:%s",\n' \
					"${ip##*:}" "$mac"
				;;
			*)
				printf '    "ip-address": "%s",\n    "mac-address": "%s",\n' "$ip" "$mac"
				printf '    "hostname": "h%s",\n    "client-id": "01:%s",\n' "${ip##*.}" "$mac"
				;;
			esac
			printf '    "expiry-time": %s\n  }' "$exp"
			sep=",
"
		done
		echo
		echo "]"
	} >"$VP_ROOT/var/lib/libvirt/dnsmasq/virbr0.status"
}

# ---------------------------------------------------------------------------------------------
# Faults and hostile input (test-faults.sh, test-hostile.sh): the same world for each of the
# three host kinds, the hook with an extra environment (PATH shims, the fault-injection library),
# and the invariants every ruleset of ours must keep.

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

vp_load_libvirt_rules_kind() {
	if [ "$VP_KIND" = nftables ]; then vp_load_libvirt_nft_rules; else vp_load_libvirt_rules; fi
}

# vp_write_network_kind [MAC=IP ...]: the network status XML as libvirt writes it for VP_KIND.
# shellcheck disable=SC2120 # the static hosts are optional
vp_write_network_kind() {
	if [ "$VP_KIND" = nftables ]; then vp_write_network_nft "$@"; else vp_write_network "$@"; fi
}

# vp_write_status NAME: libvirt's live status file of a running guest ($VP_FIX/NAME.xml inside
# <domstatus>), what `apply` and the network hook read.
vp_write_status() {
	mkdir -p "$VP_ROOT/run/libvirt/qemu"
	{
		echo "<domstatus state='running' reason='booted' pid='4242'>"
		echo "  <monitor path='/var/lib/libvirt/qemu/domain-7-x/monitor.sock' type='unix'/>"
		cat "$VP_FIX/$1.xml"
		echo "</domstatus>"
	} >"$VP_ROOT/run/libvirt/qemu/$1.xml"
}

# vp_hook_env DOMAIN OP SUBOP [VAR=VALUE ...]: vp_hook with more environment. The exit status is
# the hook's (ip netns exec and env pass it through).
vp_hook_env() {
	local dom=$1 op=$2 sub=$3
	shift 3
	echo "--- $dom $op $sub $*" >>"$VP_TMP/hook.stderr"
	# A hook that hangs is killed after VP_HOOK_TIMEOUT seconds (exit status 137), if set.
	${VP_HOOK_TIMEOUT:+timeout -s KILL "$VP_HOOK_TIMEOUT"} \
		ip netns exec "$VP_HOST" env VIRT_PORTFWD_ROOT="$VP_ROOT" XTABLES_LOCKFILE="$VP_LOCK" \
		"$@" "$VP_ROOT/hooks/qemu" "$dom" "$op" "$sub" - \
		<"$VP_FIX/$dom.xml" >>"$VP_TMP/hook.stdout" 2>>"$VP_TMP/hook.stderr"
}

# vp_cli_env [VAR=VALUE ...] -- ARGS...: the CLI in the host namespace, stderr to hook.stderr.
vp_cli_env() {
	local envs=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		envs+=("$1")
		shift
	done
	shift
	echo "--- cli $* ${envs[*]}" >>"$VP_TMP/hook.stderr"
	ip netns exec "$VP_HOST" env VIRT_PORTFWD_ROOT="$VP_ROOT" XTABLES_LOCKFILE="$VP_LOCK" \
		"${envs[@]}" "$VP_BIN" "$@" 2>>"$VP_TMP/hook.stderr"
}

# Our rules that break an invariant, one per line (nothing when all is well): a rule in our
# chains or table without an owner tag virt-portfwd:<uuid>, a jump to our chains without our
# tag, a rule of ours present twice, a built-in chain with more than one jump to a chain of ours.
vp_owned_problems() {
	local save fam t
	if [ "$VP_KIND" = nftables ]; then
		for fam in ip ip6; do
			vp_h nft list table "$fam" virt_portfwd 2>/dev/null | sed -n 's/^\t\t//p' |
				grep -v '^type .* hook ' | grep -v 'comment "virt-portfwd:[0-9a-f-]\{36\}"$' |
				sed "s/^/untagged in $fam virt_portfwd: /"
			t=$(vp_h nft list chain "$fam" libvirt_network forward 2>/dev/null | sed -n 's/^\t\t//p')
			grep 'ct status dnat' <<<"$t" | grep -v 'comment "virt-portfwd:' |
				sed "s/^/untagged in $fam libvirt_network forward: /"
			grep 'virt-portfwd' <<<"$t" | sort | uniq -d | sed "s/^/twice in $fam forward: /"
			vp_h nft list table "$fam" virt_portfwd 2>/dev/null | sed -n 's/^\t\t//p' |
				grep virt-portfwd | sort | uniq -d | sed "s/^/twice in $fam virt_portfwd: /"
		done
		return 0
	fi
	for t in "$IPT_SAVE" "$IP6T_SAVE"; do
		save=$(vp_h "$t" 2>/dev/null)
		grep '^-A VIRT_PORTFWD_' <<<"$save" |
			grep -v -- '-m comment --comment "virt-portfwd:[0-9a-f-]\{36\}"' |
			sed "s/^/untagged ($t): /"
		grep -- '-j VIRT_PORTFWD_' <<<"$save" | grep -v -- '--comment virt-portfwd -j' |
			sed "s/^/untagged jump ($t): /"
		grep -- 'virt-portfwd' <<<"$save" | sort | uniq -d | sed "s/^/twice ($t): /"
	done
}

vp_check_owned() {  # WHEN
	local p
	p=$(vp_owned_problems)
	if [ -z "$p" ]; then
		vp_ok "$1: every rule of ours carries its owner tag, none is there twice"
	else
		vp_not_ok "$1: every rule of ours carries its owner tag, none is there twice" "$p"
	fi
}

# Number of rules owned by UUID, in every table of this host kind.
vp_count_owned() {
	if [ "$VP_KIND" = nftables ]; then
		vp_h nft list ruleset | grep -c "comment \"virt-portfwd:$1\""
	else
		{ vp_h "$IPT_SAVE"; vp_h "$IP6T_SAVE"; } | grep -c "virt-portfwd:$1"
	fi
}

# The rules owned by UUID, as text, in listing order, counters left out (to compare one guest's
# rules over time).
vp_rules_owned() {
	if [ "$VP_KIND" = nftables ]; then
		vp_h nft -s list ruleset | grep "comment \"virt-portfwd:$1\""
	else
		{ vp_h "$IPT_SAVE"; vp_h "$IP6T_SAVE"; } | grep "virt-portfwd:$1"
	fi
}

# Lease waiters of UUID alive in the host namespace (zombies aside; other tests running at the
# same time use the same UUIDs in their own namespaces).
vp_waiters() {
	local n=0 pid
	for pid in $(ip netns pids "$VP_HOST" 2>/dev/null); do
		tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "__wait-lease $1" || continue
		[ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" = Z ] || n=$((n + 1))
	done
	echo "$n"
}

# vp_timed CMD...: run CMD; VP_MS is how many milliseconds it took. Returns CMD's status.
vp_timed() {
	local t0 rc
	t0=$(date +%s%N)
	"$@"
	rc=$?
	VP_MS=$((($(date +%s%N) - t0) / 1000000))
	return $rc
}

# ---------------------------------------------------------------------------------------------
# The CLI itself (apply, status, doctor); vp_write_status above makes the guests it sees.

# vp_cli CMD...: virt-portfwd CMD... in the host namespace with the fixture tree. stdout is the
# command's; stderr is appended to hook.stderr. Returns its exit status.
vp_cli() {
	ip netns exec "$VP_HOST" env VIRT_PORTFWD_ROOT="$VP_ROOT" XTABLES_LOCKFILE="$VP_LOCK" \
		"$VP_BIN" "$@" 2>>"$VP_TMP/hook.stderr"
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
