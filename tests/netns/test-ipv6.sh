#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# IPv6 forwards through the real qemu hook, on each host type: libvirt's iptables backend with
# iptables-nft (nft) or iptables-legacy (legacy), and libvirt's nftables backend (nftables).
# The world of lib.sh, dual stack (vp_world6); the network has an IPv6 subnet with NAT66
# (<nat ipv6='yes'/>), later routed (no NAT66). IPv4 forwards of the same guest run alongside.
# Every claim is checked with a real connection. TAP on stdout; exit 1 on any failure, 77 when
# it cannot run here.
#
#   test-ipv6.sh nft|legacy|nftables

. "$(dirname "$(readlink -f "$0")")/lib.sh"

TYPE=${1:-}
if [ "$TYPE" = nftables ]; then vp_init nft; else vp_init "$TYPE"; fi

C=$VP_CLIENT
H=$VP_HOST
HA=$VP_HOST_ADDR
HA6=$VP6_HOST_ADDR
HA6B=2001:db8:1::3          # a second host address on the uplink
OUTSIDER6=2001:db8:203::5   # a second client address, inside the from= range
OWNER=virt-portfwd:$VP_G1_UUID

write_table_text() {
	cat <<-EOF
	# domain  proto  host side              guest-port  options
	guest1    tcp    2222                   22
	guest1    tcp    [::]:2222              22
	guest1    tcp    [::]:8080-8081         80-81
	guest1    udp    [::]:27015             27015
	guest1    tcp    [::]:2223              22          from=2001:db8:203::/48
	guest1    tcp    [$HA6]:2224            22
	EOF
}

write_table() {
	write_table_text | vp_write_table
}

write_network() {  # NAT6 [HOST6...]
	local nat6=$1 backend=iptables
	shift
	[ "$TYPE" != nftables ] || backend=nftables
	vp_write_network6 "$nat6" "$backend" "$@" || vp_die "cannot write the network XML"
}

cli() {  # virt-portfwd ARGS... in the host namespace, with the fixture tree
	ip netns exec "$H" env VIRT_PORTFWD_ROOT="$VP_ROOT" XTABLES_LOCKFILE="$VP_LOCK" \
		"$VP_BIN" "$@" 2>>"$VP_TMP/hook.stderr"
}

# libvirt's live status file of a running guest, for `virt-portfwd status`.
write_status() {  # NAME
	mkdir -p "$VP_ROOT/run/libvirt/qemu"
	{
		echo "<domstatus state='running' reason='booted' pid='4242'>"
		cat "$VP_FIX/$1.xml"
		echo "</domstatus>"
	} >"$VP_ROOT/run/libvirt/qemu/$1.xml"
}

load_libvirt_rules() {  # MODE (nat66 or route)
	if [ "$TYPE" = nftables ]; then
		vp_load_libvirt_nft_rules
		vp_libvirt_nft_network_rules6 "$1" || vp_die "loading libvirt's ip6 rules failed"
	else
		vp_load_libvirt_rules
		vp_libvirt_network_rules6 "$1" || vp_die "loading libvirt's IPv6 rules failed"
	fi
}

# The IPv6 subnet switched from NAT66 to routed (or back), as a network restart does.
libvirt_ip6_mode() {  # FROM TO
	if [ "$TYPE" = nftables ]; then
		vp_libvirt_nft_reload6 "$2" || vp_die "reloading ip6 libvirt_network failed"
	else
		# shellcheck disable=SC2015 # vp_die exits
		vp_libvirt_ip6_rules delete "$1" && vp_libvirt_ip6_rules insert "$2" ||
			vp_die "switching libvirt's IPv6 rules to $2 failed"
	fi
}

check_world() {
	vp_check_eq "world: the host reaches [guest1]:22" "$(vp_tcp6_get "$H" "$VP6_G1_IP" 22)" \
		"guest1 v6"
	vp_check_eq "world: guest2 reaches [guest1]:22 over the bridge" \
		"$(vp_tcp6_get "$VP_GUEST2" "$VP6_G1_IP" 22)" "guest1 v6"
	vp_check_eq "world: guest1's UDP6 listener answers the host" \
		"$(vp_udp6_get "$H" "$VP6_G1_IP" 27015)" "guest1 v6"
	vp_check_eq "world (NAT66): client -> [guest1]:22 routed straight is refused" \
		"$(vp_tcp6_get "$C" "$VP6_G1_IP" 22; vp_tcp_error)" refused
}

check_forwards() {  # WHEN
	local w=$1
	vp_check_eq "$w: tcp [::]:2222 -> [guest1]:22 from the client" \
		"$(vp_tcp6_get "$C" "$HA6" 2222)" "guest1 v6"
	vp_check_eq "$w: udp [::]:27015 -> [guest1]:27015" \
		"$(vp_udp6_get "$C" "$HA6" 27015)" "guest1 v6"
	vp_check_eq "$w: range 8080 -> [guest1]:80" "$(vp_tcp6_get "$C" "$HA6" 8080)" "guest1 v6 port 80"
	vp_check_eq "$w: range 8081 -> [guest1]:81" "$(vp_tcp6_get "$C" "$HA6" 8081)" "guest1 v6 port 81"
	vp_check_eq "$w: unforwarded port 2299 reaches nobody" "$(vp_tcp6_get "$C" "$HA6" 2299)" ""
	vp_check_eq "$w: from=2001:db8:203::/48: 2223 closed to $VP6_CLIENT_ADDR" \
		"$(vp_tcp6_get "$C" "$HA6" 2223)" ""
	vp_check_eq "$w: from=2001:db8:203::/48: 2223 open to $OUTSIDER6" \
		"$(vp_tcp6_get "$C" "$HA6" 2223 "$OUTSIDER6")" "guest1 v6"
	vp_check_eq "$w: [$HA6]:2224 reaches guest1" "$(vp_tcp6_get "$C" "$HA6" 2224)" "guest1 v6"
	vp_check_eq "$w: [$HA6B]:2224 (another host address) does not" \
		"$(vp_tcp6_get "$C" "$HA6B" 2224)" ""
	vp_check_eq "$w: hairpin: guest2 -> [$HA6]:2222 reaches guest1" \
		"$(vp_tcp6_get "$VP_GUEST2" "$HA6" 2222)" "guest1 v6"
	vp_check_eq "$w: hairpin on the bridge address: guest2 -> [$VP6_GW]:2222 reaches guest1" \
		"$(vp_tcp6_get "$VP_GUEST2" "$VP6_GW" 2222)" "guest1 v6"
	vp_check_eq "$w: host-local: the host -> [$HA6]:2222 reaches guest1" \
		"$(vp_tcp6_get "$H" "$HA6" 2222)" "guest1 v6"
	vp_check_eq "$w: [::1]:2222 on the host is not forwarded (refused: no listener)" \
		"$(vp_tcp6_get "$H" ::1 2222; vp_tcp_error)" refused
	vp_check_eq "$w: IPv4 2222 of the same guest still reaches guest1" \
		"$(vp_tcp_get "$C" "$HA" 2222)" guest1
}

# Our IPv6 rules: where they are and that each carries the owner tag.
check_shape() {
	local t c ours first n untagged rules
	if [ "$TYPE" = nftables ]; then
		rules=$(vp_nft_rules list chain ip6 libvirt_network forward)
		n=$(printf '%s\n' "$rules" | grep -c "accept comment \"$OWNER\"$")
		first=$(printf '%s\n' "$rules" | head -n 5 | grep -c "accept comment \"$OWNER\"$")
		vp_check_eq "ip6 libvirt_network forward: our 5 accepts are its first rules" "$n:$first" 5:5
		for c in prerouting:5 output:5 postrouting:3; do
			n=$(vp_nft_rules list chain ip6 virt_portfwd "${c%%:*}" | grep -c "comment \"$OWNER\"$")
			vp_check_eq "ip6 virt_portfwd ${c%%:*}: ${c#*:} rules of guest1" "$n" "${c#*:}"
		done
		vp_check_eq "ip6 virt_portfwd output skips ::1" \
			"$(vp_nft_rules list chain ip6 virt_portfwd output | grep -c '^ip6 daddr != ::1 ')" 5
		vp_check_eq "ranges map one to one: an ip6 dnat map" \
			"$(vp_nft_rules list chain ip6 virt_portfwd prerouting | grep -c \
				"dnat ip6 to tcp dport map { 8080 : $VP6_G1_IP . 80, 8081 : $VP6_G1_IP . 81 }")" 1
		return
	fi
	for t in nat:PREROUTING:PRE nat:OUTPUT:OUT nat:POSTROUTING:POST filter:FORWARD:FWD; do
		IFS=: read -r tab c ours <<<"$t"
		first=$(vp_h "$IP6T" -w -t "$tab" -S "$c" | sed -n 2p)
		case "$first" in
		*virt-portfwd*"-j VIRT_PORTFWD_$ours") vp_ok "ip6 $tab $c: rule 1 jumps to VIRT_PORTFWD_$ours" ;;
		*) vp_not_ok "ip6 $tab $c: rule 1 jumps to VIRT_PORTFWD_$ours" "rule 1: $first" ;;
		esac
	done
	vp_check_eq "ip6 nat OUTPUT: the jump skips ::1" \
		"$(vp_h "$IP6T" -w -t nat -S OUTPUT | sed -n 2p | grep -c '^-A OUTPUT ! -d ::1/128 ')" 1
	n=$(vp_h "$IP6T_SAVE" | grep -c '^-A VIRT_PORTFWD_')
	untagged=$(vp_h "$IP6T_SAVE" | grep '^-A VIRT_PORTFWD_' | grep -cv "\"$OWNER\"")
	# 5 PRE, 5 OUT, 3 hairpin (2222, 2223 and 2224 -> 22 share one), 5 FWD.
	vp_check_eq "ip6 chains: 18 rules of ours, all tagged $OWNER" "$n:$untagged" 18:0
	rules=$(vp_h "$IP6T_SAVE" | grep -- "-j DNAT --to-destination \[$VP6_G1_IP\]:80-81/8080$")
	vp_check_eq "ip6 range: one to one with a base port (PRE and OUT)" \
		"$(printf '%s\n' "$rules" | grep -c '^-A VIRT_PORTFWD_')" 2
}

check_idempotent() {
	local s1=$VP_TMP/snap.started1 s2=$VP_TMP/snap.started2
	vp_snapshot "$s1"
	vp_hook_ok guest1 started
	vp_snapshot "$s2"
	vp_check_same_file "started twice: ruleset identical (no duplicates)" "$s1" "$s2"
	vp_hook_ok guest1 reconnect
	vp_snapshot "$s2"
	vp_check_same_file "reconnect: ruleset identical" "$s1" "$s2"
}

check_status() {
	local out
	write_status guest1
	out=$(cli status)
	vp_check_eq "status: [::]:2222 -> [guest1]:22 (lease)" \
		"$(printf '%s\n' "$out" | grep -c "tcp  \[::\]:2222 -> \[$VP6_G1_IP\]:22 (lease, default)")" 1
	vp_check_eq "status: [$HA6]:2224 -> [guest1]:22" \
		"$(printf '%s\n' "$out" | grep -c "tcp  \[$HA6\]:2224 -> \[$VP6_G1_IP\]:22 ")" 1
	vp_check_eq "status: the range [::]:8080-8081 -> [guest1]:80-81" \
		"$(printf '%s\n' "$out" | grep -c "\[::\]:8080-8081 -> \[$VP6_G1_IP\]:80-81 ")" 1
	vp_check_eq "status: IPv4 2222 -> guest1:22 unchanged" \
		"$(printf '%s\n' "$out" | grep -c "tcp  2222 -> $VP_G1_IP:22 (lease, default)")" 1
	rm -f "$VP_ROOT/run/libvirt/qemu/guest1.xml"
}

# --dry-run prints the IPv6 rules in the syntax of the backend that would write them.
check_dry_run() {
	local out
	out=$(cli --dry-run install <"$VP_FIX/guest1.xml")
	if [ "$TYPE" = nftables ]; then
		vp_check_eq "dry run: nft commands for ip6 virt_portfwd" \
			"$(printf '%s\n' "$out" | grep -c "^insert rule ip6 virt_portfwd prerouting .*dnat to \[$VP6_G1_IP\]:22 comment \"$OWNER\"$")" 3
		vp_check_eq "dry run: the accept atop ip6 libvirt_network forward" \
			"$(printf '%s\n' "$out" | grep -c "^insert rule ip6 libvirt_network forward oifname \"virbr0\" ip6 daddr $VP6_G1_IP ")" 5
		vp_check_eq "dry run: no iptables syntax" "$(printf '%s\n' "$out" | grep -c -- '^-A ')" 0
	else
		vp_check_eq "dry run: ip6tables lines for VIRT_PORTFWD_PRE" \
			"$(printf '%s\n' "$out" | grep -c "^-A VIRT_PORTFWD_PRE .*--to-destination \[$VP6_G1_IP\]:22$")" 3
	fi
	vp_check_eq "dry run: the IPv4 forward is printed too (prerouting and output)" \
		"$(printf '%s\n' "$out" | grep -cE "$VP_G1_IP:22( |$)")" 2
}

check_stop() {  # WHEN SNAPSHOT-BEFORE
	local snap=$VP_TMP/snap.stopped
	vp_hook_ok guest1 stopped end
	vp_check_eq "$1, stopped: [$HA6]:2222 closed" "$(vp_tcp6_get "$C" "$HA6" 2222)" ""
	vp_check_eq "$1, stopped: IPv4 2222 closed" "$(vp_tcp_get "$C" "$HA" 2222)" ""
	vp_snapshot "$snap"
	vp_check_same_file "$1, stopped: ruleset identical to before started" "$2" "$snap"
	vp_hook_ok guest1 release end
	vp_snapshot "$snap"
	vp_check_same_file "$1, release after stopped: still identical" "$2" "$snap"
}

# The other two address sources for guest2 (no DHCPv6 lease): a static DHCPv6 host matched by
# DUID (id=), then by name (the domain name, as dnsmasq matches the client's FQDN), then ip=.
check_resolution() {
	local snap=$VP_TMP/snap.resolution h
	vp_write_leases46 "$VP_G1_MAC=$VP_G1_IP" "$VP_G1_MAC=$VP6_G1_IP" "$VP_G2_MAC=$VP_G2_IP"
	{ write_table_text; echo "guest2 tcp [::]:2225 22"; } | vp_write_table
	for h in "id=0:3:0:1:52:54:0:0:0:b" "name=guest2"; do
		write_network yes "$h=$VP6_G2_IP"
		vp_hook_ok guest2 started
		vp_check_eq "static DHCPv6 host ${h%%=*}=: [$HA6]:2225 reaches guest2" \
			"$(vp_tcp6_get "$C" "$HA6" 2225)" "guest2 v6"
		vp_hook_ok guest2 stopped end
	done
	write_network yes
	vp_hook_ok guest2 started
	vp_check_eq "no lease, no static host: [$HA6]:2225 closed" "$(vp_tcp6_get "$C" "$HA6" 2225)" ""
	vp_check_eq "no IPv6 address for guest2: logged" \
		"$(grep -c "address for guest2" "$VP_TMP/hook.stderr")" 1
	write_status guest2
	vp_check_eq "no IPv6 address: status points a SLAAC guest to ip=" \
		"$(cli status | grep -c "tcp  \[::\]:2225 -> \[?\]:22 (no address yet on default; .*SLAAC.* ip=")" 1
	rm -f "$VP_ROOT/run/libvirt/qemu/guest2.xml"
	vp_hook_ok guest2 stopped end
	{ write_table_text; echo "guest2 tcp [::]:2225 22 ip=$VP6_G2_IP"; } | vp_write_table
	vp_hook_ok guest2 started
	vp_check_eq "ip= in the table: [$HA6]:2225 reaches guest2" \
		"$(vp_tcp6_get "$C" "$HA6" 2225)" "guest2 v6"
	vp_hook_ok guest2 stopped end
	vp_snapshot "$snap"
	vp_check_same_file "guest2 stopped: ruleset identical to before" "$S0" "$snap"
	write_table
	vp_write_leases46 "$VP_G1_MAC=$VP_G1_IP" "$VP_G1_MAC=$VP6_G1_IP" "$VP_G2_MAC=$VP_G2_IP"
}

# IPv6 without NAT66 is routed by libvirt: the guest is reachable at its own address, and the
# forward still works. Hairpin needs our masquerade just the same: guest1 would answer guest2
# straight over the bridge, from an address guest2 never spoke to. hairpin=no shows it.
check_routed() {
	local s0=$VP_TMP/snap.routed
	libvirt_ip6_mode nat66 route
	write_network no
	vp_snapshot "$s0"
	vp_check_eq "routed: client -> [guest1]:22 straight is let in by libvirt" \
		"$(vp_tcp6_get "$C" "$VP6_G1_IP" 22)" "guest1 v6"
	vp_hook_ok guest1 started
	vp_check_eq "routed: [::]:2222 -> [guest1]:22 from the client" \
		"$(vp_tcp6_get "$C" "$HA6" 2222)" "guest1 v6"
	vp_check_eq "routed: hairpin: guest2 -> [$HA6]:2222 reaches guest1" \
		"$(vp_tcp6_get "$VP_GUEST2" "$HA6" 2222)" "guest1 v6"
	vp_check_eq "routed: from= still enforced" "$(vp_tcp6_get "$C" "$HA6" 2223)" ""
	# Alone in the table: the hairpin rule matches the guest side, 2223 and 2224 -> 22 share it.
	echo "guest1 tcp [::]:2222 22 hairpin=no" | vp_write_table
	vp_hook_ok guest1 started
	vp_check_eq "routed, hairpin=no: guest2 -> [$HA6]:2222 fails (the reason for the masquerade)" \
		"$(vp_tcp6_get "$VP_GUEST2" "$HA6" 2222)" ""
	vp_check_eq "routed, hairpin=no: the client still gets in" \
		"$(vp_tcp6_get "$C" "$HA6" 2222)" "guest1 v6"
	write_table
	check_stop "routed" "$s0"
	libvirt_ip6_mode route nat66
	write_network yes
}

# The unit tests' golden files (tests/unit/fixtures/plan, IPv4 and IPv6) are meant to be exactly
# what the kernel's tools list back: load each into a namespace of its own, compare rule by rule.
check_goldens() {
	local dir=${VP_SRCDIR:-}/tests/unit/fixtures/plan ns=$VP_TAG-golden f n=0 bad=
	[ -d "$dir" ] || vp_die "VP_SRCDIR (${VP_SRCDIR:-unset}) does not hold the source tree"
	for f in "$dir"/*.rules "$dir"/*.nft; do
		case "$TYPE:$f" in nftables:*.rules | nft:*.nft | legacy:*.nft) continue ;; esac
		vp_netns_add "$ns" || vp_die "cannot create $ns"
		golden_round_trip "$ns" "$f" || bad="$bad ${f##*/}"
		ip netns del "$ns"
		n=$((n + 1))
	done
	vp_check_eq "the $n golden files of this backend list back unchanged" "${bad:-none}" none
}

golden_round_trip() {  # NS FILE: 0 when every rule of FILE lists back as written
	local ns=$1 f=$2 c fam=ip ipt=$IPT save=$IPT_SAVE
	case "$f" in *6.rules | *6.nft) fam=ip6 ipt=$IP6T save=$IP6T_SAVE ;; esac
	if [ "${f##*.}" = nft ]; then
		{
			echo "add table $fam libvirt_network"
			echo "add chain $fam libvirt_network forward { type filter hook forward priority 0; }"
			cat "$f"
		} | ip netns exec "$ns" nft -f - || return 1
		[ "$(ip netns exec "$ns" nft -s list ruleset | sed -n 's/^\t\t//p' | grep -v '^type ' |
			sort)" = "$(sed -E -n 's/^(add|insert) rule [a-z0-9]+ [a-z_]+ [a-z]+ //p' "$f" | sort)" ]
		return
	fi
	{
		printf '*nat\n:VIRT_PORTFWD_PRE - [0:0]\n:VIRT_PORTFWD_OUT - [0:0]\n'
		printf ':VIRT_PORTFWD_POST - [0:0]\n'
		grep -E '^-A VIRT_PORTFWD_(PRE|OUT|POST) ' "$f"
		printf 'COMMIT\n*filter\n:VIRT_PORTFWD_FWD - [0:0]\n'
		grep '^-A VIRT_PORTFWD_FWD ' "$f"
		printf 'COMMIT\n'
	} | ip netns exec "$ns" "$ipt-restore" || return 1
	for c in PRE OUT POST FWD; do
		[ "$(ip netns exec "$ns" "$save" | grep "^-A VIRT_PORTFWD_$c ")" = \
			"$(grep "^-A VIRT_PORTFWD_$c " "$f")" ] || return 1
	done
}

vp_world
vp_world6
load_libvirt_rules nat66
vp_fixture_init
write_table
write_network yes
vp_write_leases46 "$VP_G1_MAC=$VP_G1_IP" "$VP_G1_MAC=$VP6_G1_IP" "$VP_G2_MAC=$VP_G2_IP"
vp_write_domain guest1 "$VP_G1_UUID" "$VP_G1_MAC" vnet0
vp_write_domain guest2 "$VP_G2_UUID" "$VP_G2_MAC" vnet1
# A second client address in the from= range (the host routes it back via the client), and a
# second host address that no forward names.
# shellcheck disable=SC2015 # vp_die exits
ip -n "$C" addr add "$OUTSIDER6/128" dev lan0 nodad &&
	ip -n "$H" route add 2001:db8:203::/48 via "$VP6_CLIENT_ADDR" &&
	ip -n "$H" addr add "$HA6B/64" dev uplink0 nodad || vp_die "cannot add the extra addresses"

echo "# host type $TYPE, hook $VP_BIN"
check_goldens
check_world
S0=$VP_TMP/snap.before
vp_snapshot "$S0"
vp_check_eq "before started: [$HA6]:2222 closed" "$(vp_tcp6_get "$C" "$HA6" 2222)" ""
vp_hook_ok guest1 started
check_forwards "NAT66"
check_shape
check_idempotent
check_status
check_dry_run
check_stop "NAT66" "$S0"
check_resolution
check_routed
vp_finish
