#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Data path through the real qemu hook on a host where libvirt uses its nftables firewall backend
# (libvirt >= 10.4: `table ip libvirt_network`, its reject in guest_input). Our NAT goes to
# `table ip virt_portfwd`, the accept to the top of `ip libvirt_network forward`. Every claim is
# checked with a real connection between namespaces. TAP on stdout; exit 1 on any failure, 77
# when it cannot run here.

. "$(dirname "$(readlink -f "$0")")/lib.sh"

vp_init nft

C=$VP_CLIENT
H=$VP_HOST
HA=$VP_HOST_ADDR
OUTSIDER=203.0.113.5     # a second client address, inside the from= range
OWNER=virt-portfwd:$VP_G1_UUID

write_full_table_text() {
	cat <<-'EOF'
	# domain  proto  host-port   guest-port  options
	guest1    tcp    2222        22
	guest1    tcp    8080-8081   80-81
	guest1    udp    27015       27015
	guest1    tcp    2223        22          from=203.0.113.0/24
	EOF
}

write_full_table() {
	write_full_table_text | vp_write_table
}

# The forward table without the 2222 line: "edited while the guest runs".
write_edited_table() {
	vp_write_table <<-'EOF'
	guest1    tcp    8080-8081   80-81
	guest1    udp    27015       27015
	guest1    tcp    2223        22          from=203.0.113.0/24
	EOF
}

# The whole ruleset with handles, counters left out: what "nothing was written" compares.
ruleset_handles() {
	vp_h nft -a -s list ruleset
}

check_world() {
	vp_check_eq "world: the host reaches guest1:22 directly" \
		"$(vp_tcp_get "$H" "$VP_G1_IP" 22)" guest1
	vp_check_eq "world: guest2 reaches guest1:22 over the bridge" \
		"$(vp_tcp_get "$VP_GUEST2" "$VP_G1_IP" 22)" guest1
	vp_check_eq "world: UDP listener of guest1 answers the host" \
		"$(vp_udp_get "$H" "$VP_G1_IP" 27015)" guest1
}

# Hand-made rules, no hook: proves libvirt's reject is active, that an accept in a table of our
# own does not help (netfilter.md), and that a DNAT-only accept at the top of libvirt's forward
# chain is enough.
selfcheck() {
	local before=$VP_TMP/selfcheck.before after=$VP_TMP/selfcheck.after h
	vp_snapshot "$before"
	vp_h nft -f - <<-EOF || vp_die "self-check: cannot add the DNAT rule"
	table ip vp_selfcheck {
		chain pre {
			type nat hook prerouting priority dstnat; policy accept;
			ip daddr $HA tcp dport 2222 dnat to $VP_G1_IP:22
		}
	}
	EOF
	vp_check_eq "self-check: DNAT alone does not reach guest1" "$(vp_tcp_get "$C" "$HA" 2222)" ""
	vp_check_eq "self-check: ... because libvirt's reject refuses it" "$(vp_tcp_error)" refused
	vp_h nft -f - <<-EOF || vp_die "self-check: cannot add the forward chain"
	table ip vp_selfcheck {
		chain vpfwd {
			type filter hook forward priority filter - 10; policy accept;
			ip daddr $VP_G1_IP tcp dport 22 ct status dnat accept
		}
	}
	EOF
	vp_check_eq "self-check: an accept in a table of our own does not help" \
		"$(vp_tcp_get "$C" "$HA" 2222)" ""
	vp_h nft insert rule ip libvirt_network forward oifname virbr0 ip daddr "$VP_G1_IP" \
		tcp dport 22 ct status dnat accept comment '"vp-selfcheck"' ||
		vp_die "self-check: cannot add the accept to libvirt's forward chain"
	vp_check_eq "self-check: DNAT + accept (ct status dnat) atop libvirt's forward reaches guest1" \
		"$(vp_tcp_get "$C" "$HA" 2222)" guest1
	h=$(vp_h nft -a list chain ip libvirt_network forward |
		sed -n 's/.*"vp-selfcheck" # handle \([0-9]*\)$/\1/p')
	if ! vp_h nft delete rule ip libvirt_network forward handle "$h" ||
		! vp_h nft delete table ip vp_selfcheck; then
		vp_die "self-check: cannot remove its rules"
	fi
	vp_snapshot "$after"
	vp_check_same_file "self-check: hand-made rules removed again" "$before" "$after"
}

# Rules of someone else that must survive our start and stop untouched: above and below libvirt's
# jumps in its forward chain, and a table of their own.
add_foreign_rules() {
	# shellcheck disable=SC2015 # vp_die exits
	vp_h nft insert rule ip libvirt_network forward ip saddr 203.0.113.250 tcp dport 9 \
		counter accept comment '"foreign-top"' &&
		vp_h nft add rule ip libvirt_network forward ip saddr 203.0.113.251 counter drop \
			comment '"foreign-tail"' &&
		vp_h nft -f - <<-'EOF' || vp_die "cannot add the foreign rules"
		table ip vp_foreign {
			chain post {
				type nat hook postrouting priority srcnat; policy accept;
				ip saddr 203.0.113.252 counter return comment "foreign-nat"
			}
		}
		EOF
}

foreign_rules() {
	vp_h nft -s list ruleset | grep -F 'foreign-' | sort
}

check_foreign_rules() {  # WHEN
	vp_check_eq "$1: the 3 foreign rules are intact" "$(foreign_rules)" "$FOREIGN"
}

check_closed() {  # WHEN
	vp_check_eq "$1: client -> $HA:2222 does not reach guest1" "$(vp_tcp_get "$C" "$HA" 2222)" ""
}

check_forwards() {
	vp_check_eq "tcp 2222 -> guest1:22 from the client" "$(vp_tcp_get "$C" "$HA" 2222)" guest1
	vp_check_eq "udp 27015 -> guest1:27015 from the client" "$(vp_udp_get "$C" "$HA" 27015)" guest1
	vp_check_eq "range: 8080 -> guest1:80" "$(vp_tcp_get "$C" "$HA" 8080)" "guest1 port 80"
	vp_check_eq "range: 8081 -> guest1:81" "$(vp_tcp_get "$C" "$HA" 8081)" "guest1 port 81"
	vp_check_eq "unforwarded port 2299 does not reach a guest" "$(vp_tcp_get "$C" "$HA" 2299)" ""
	vp_check_eq "from=203.0.113.0/24: port 2223 refused to 198.51.100.2" \
		"$(vp_tcp_get "$C" "$HA" 2223)" ""
	vp_check_eq "from=203.0.113.0/24: port 2223 open to $OUTSIDER" \
		"$(vp_tcp_get "$C" "$HA" 2223 "$OUTSIDER")" guest1
	vp_check_eq "hairpin: guest2 -> $HA:2222 reaches guest1" \
		"$(vp_tcp_get "$VP_GUEST2" "$HA" 2222)" guest1
	vp_check_eq "host-local: the host -> $HA:2222 reaches guest1" \
		"$(vp_tcp_get "$H" "$HA" 2222)" guest1
	vp_check_eq "door: client -> $VP_G1_IP:22 routed straight does not get in" \
		"$(vp_tcp_get "$C" "$VP_G1_IP" 22)" ""
	vp_check_eq "door: ... it is refused by libvirt's reject" "$(vp_tcp_error)" refused
}

# FAMILY: the first N rules of libvirt's forward chain are ours, every jump comes after them.
check_accepts_on_top() {  # WHEN N [FAMILY]
	local rules top n=$2 f=${3:-ip} bad
	rules=$(vp_nft_rules list chain "$f" libvirt_network forward)
	top=$(printf '%s\n' "$rules" | head -n "$n")
	bad=$(printf '%s\n' "$top" | grep -vc "accept comment \"$OWNER\"$")
	if [ "$bad" -eq 0 ] && [ "$(printf '%s\n' "$rules" | grep -c "$OWNER")" -eq "$n" ]; then
		vp_ok "$1: our $n accepts are the first rules of $f libvirt_network forward"
	else
		vp_not_ok "$1: our $n accepts are the first rules of $f libvirt_network forward" "$rules"
	fi
}

# Where our rules are: NAT in our table, accepts atop libvirt's forward, each tagged, nowhere else.
check_shape() {
	local c n ours untagged
	check_accepts_on_top "started" 4
	# 2222->22 and 2223->22 share one hairpin masquerade: 3 rules in postrouting.
	for c in prerouting:4 output:4 postrouting:3; do
		n=$(vp_nft_rules list chain ip virt_portfwd "${c%%:*}" | grep -c "comment \"$OWNER\"$")
		vp_check_eq "ip virt_portfwd ${c%%:*}: ${c#*:} rules of guest1" "$n" "${c#*:}"
	done
	untagged=$(vp_nft_rules list table ip virt_portfwd | grep -vc "comment \"$OWNER\"$")
	vp_check_eq "every rule in ip virt_portfwd carries $OWNER" "$untagged" 0
	ours=$(vp_h nft list ruleset | grep -c "virt-portfwd:")
	vp_check_eq "no rule of ours anywhere else (15 in all)" "$ours" 15
	vp_check_eq "nothing of ours in ip6 (IPv4 forwards only)" \
		"$(vp_h nft list ruleset ip6 | grep -c virt-portfwd)" 0
	vp_check_eq "ranges map one to one: a dnat map in prerouting" \
		"$(vp_nft_rules list chain ip virt_portfwd prerouting | grep -c \
			"dnat ip to tcp dport map { 8080 : $VP_G1_IP . 80, 8081 : $VP_G1_IP . 81 }")" 1
}

check_idempotent() {
	local s1=$VP_TMP/snap.started1 s2=$VP_TMP/snap.started2
	ruleset_handles >"$s1"
	vp_hook_ok guest1 started
	ruleset_handles >"$s2"
	vp_check_same_file "started twice: ruleset identical, handles included" "$s1" "$s2"
	vp_hook_ok guest1 reconnect
	ruleset_handles >"$s2"
	vp_check_same_file "reconnect: ruleset identical, handles included" "$s1" "$s2"
	vp_check_eq "after reconnect: 2222 still reaches guest1" "$(vp_tcp_get "$C" "$HA" 2222)" guest1
}

check_stop() {
	local snap=$VP_TMP/snap.stopped
	vp_hook_ok guest1 stopped end
	check_closed "stopped"
	vp_check_eq "stopped: 8080 does not reach guest1" "$(vp_tcp_get "$C" "$HA" 8080)" ""
	vp_snapshot "$snap"
	vp_check_same_file "stopped: ruleset identical to before started" "$S0" "$snap"
	vp_check_eq "stopped: table ip virt_portfwd is gone" \
		"$(vp_h nft list tables | grep -c virt_portfwd)" 0
	check_foreign_rules "stopped"
	vp_hook_ok guest1 release end
	vp_snapshot "$snap"
	vp_check_same_file "release after stopped: still identical" "$S0" "$snap"
}

check_edit_while_running() {
	local snap=$VP_TMP/snap.edited
	vp_hook_ok guest1 started
	vp_check_eq "restarted: 2222 reaches guest1" "$(vp_tcp_get "$C" "$HA" 2222)" guest1
	write_edited_table
	vp_hook_ok guest1 stopped end
	check_closed "table edited, then stopped"
	vp_check_eq "table edited, then stopped: 8080 closed" "$(vp_tcp_get "$C" "$HA" 8080)" ""
	vp_snapshot "$snap"
	vp_check_same_file "table edited, then stopped: ruleset identical to before started" \
		"$S0" "$snap"
	write_full_table
}

# The guest address from the other two sources: a static DHCP host in the network status XML,
# then the table's ip= option (guest2 has no lease in either case). The second network XML has no
# <firewall> element: the backend is then found by libvirt's table.
check_resolution() {
	local snap=$VP_TMP/snap.resolution
	vp_write_leases "$VP_G1_MAC=$VP_G1_IP"
	vp_write_network_nft "$VP_G2_MAC=$VP_G2_IP"
	{ write_full_table_text; echo "guest2 tcp 2224 22"; } | vp_write_table
	vp_hook_ok guest2 started
	vp_check_eq "static <host> in the network XML: 2224 reaches guest2" \
		"$(vp_tcp_get "$C" "$HA" 2224)" guest2
	vp_hook_ok guest2 stopped end
	vp_write_network
	{ write_full_table_text; echo "guest2 tcp 2224 22 ip=$VP_G2_IP"; } | vp_write_table
	vp_hook_ok guest2 started
	vp_check_eq "ip= in the table: 2224 reaches guest2" "$(vp_tcp_get "$C" "$HA" 2224)" guest2
	vp_check_eq "no <firewall> in the network XML: nftables found by libvirt's table" \
		"$(vp_nft_rules list chain ip libvirt_network forward | grep -c "virt-portfwd:$VP_G2_UUID")" 1
	vp_hook_ok guest2 stopped end
	check_closed "guest2 stopped"
	vp_snapshot "$snap"
	vp_check_same_file "guest2 stopped: ruleset identical to before" "$S0" "$snap"
	write_full_table
	vp_write_network_nft
	vp_write_leases "$VP_G1_MAC=$VP_G1_IP" "$VP_G2_MAC=$VP_G2_IP"
}

# libvirt re-making its jumps puts them above our accept: the forward breaks until the hook
# re-asserts it (reconnect, as on a libvirtd restart).
check_reload() {
	local sr=$VP_TMP/snap.rejumped snap=$VP_TMP/snap.reload
	vp_libvirt_nft_rejump ip || vp_die "cannot re-make libvirt's jumps"
	vp_snapshot "$sr"
	vp_hook_ok guest1 started
	vp_check_eq "before the reload: 2222 reaches guest1" "$(vp_tcp_get "$C" "$HA" 2222)" guest1
	vp_libvirt_nft_rejump ip || vp_die "cannot re-make libvirt's jumps"
	vp_check_eq "libvirt's jumps above our accept: 2222 does not reach guest1" \
		"$(vp_tcp_get "$C" "$HA" 2222)" ""
	vp_hook_ok guest1 reconnect
	vp_check_eq "reconnect after the reload: 2222 reaches guest1 again" \
		"$(vp_tcp_get "$C" "$HA" 2222)" guest1
	check_accepts_on_top "reconnect after the reload" 4
	vp_hook_ok guest1 stopped end
	vp_snapshot "$snap"
	vp_check_same_file "reload, then stopped: ruleset identical to before started" "$sr" "$snap"
}

# No libvirt_network table (libvirt's rules not loaded): the accept goes to a forward chain of our
# own table. When libvirt's table comes back, that accept is useless (the reject wins) until the
# hook moves it atop libvirt's forward chain.
check_no_libvirt_table() {
	local n
	# shellcheck disable=SC2015 # vp_die exits
	vp_h nft delete table ip libvirt_network && vp_h nft delete table ip6 libvirt_network ||
		vp_die "cannot delete libvirt's tables"
	vp_hook_ok guest1 started
	n=$(vp_nft_rules list chain ip virt_portfwd forward | grep -c "accept comment \"$OWNER\"$")
	vp_check_eq "no libvirt_network: the 4 accepts are in ip virt_portfwd forward" "$n" 4
	vp_check_eq "no libvirt_network: 2222 reaches guest1" "$(vp_tcp_get "$C" "$HA" 2222)" guest1
	vp_check_eq "no libvirt_network: logged once" \
		"$(grep -c "no table ip libvirt_network" "$VP_TMP/hook.stderr")" 1
	vp_load_libvirt_nft_rules
	vp_check_eq "libvirt's table back: our own accept does not help, 2222 closed" \
		"$(vp_tcp_get "$C" "$HA" 2222)" ""
	vp_hook_ok guest1 reconnect
	vp_check_eq "reconnect: 2222 reaches guest1 again" "$(vp_tcp_get "$C" "$HA" 2222)" guest1
	check_accepts_on_top "libvirt's table back, reconnect" 4
	vp_check_eq "reconnect: ip virt_portfwd forward holds no accept any more" \
		"$(vp_nft_rules list chain ip virt_portfwd forward | grep -c virt-portfwd)" 0
	vp_hook_ok guest1 stopped end
	vp_check_eq "stopped: no rule of ours left anywhere" \
		"$(vp_h nft list ruleset | grep -c virt-portfwd)" 0
	vp_check_eq "stopped: table ip virt_portfwd is gone" \
		"$(vp_h nft list tables | grep -c virt_portfwd)" 0
	vp_check_eq "the foreign table survived" "$(foreign_rules | grep -c foreign-nat)" 1
}

# libvirt makes its table anew (a network restart) and rules of someone else get the handles our
# accepts had: the record of guest1 names them now. Its stop must see the table is not the one it
# recorded in, read instead, and leave them alone.
check_table_anew() {
	local rec=$VP_ROOT/run/virt-portfwd/$VP_G1_UUID.rules i
	vp_hook_ok guest1 started
	vp_check "started: the record holds the handle of libvirt's table" \
		grep -q '^table ip libvirt_network [0-9][0-9]*$' "$rec"
	# shellcheck disable=SC2015 # vp_die exits
	vp_h nft delete table ip libvirt_network && vp_h nft delete table ip6 libvirt_network ||
		vp_die "cannot delete libvirt's tables"
	vp_load_libvirt_nft_rules
	for ((i = 0; i < 40; i++)); do
		echo "add rule ip libvirt_network forward ip saddr 203.0.113.253 counter return comment \"anew-$i\""
	done | vp_h nft -f - || vp_die "cannot add the rules of the new table"
	vp_hook_ok guest1 stopped end
	vp_check_eq "table made anew, stopped: the 40 rules under our old handles are intact" \
		"$(vp_h nft list chain ip libvirt_network forward | grep -c 'comment "anew-')" 40
	vp_check_eq "table made anew, stopped: no rule of ours left anywhere" \
		"$(vp_h nft list ruleset | grep -c virt-portfwd)" 0
	# shellcheck disable=SC2015 # vp_die exits
	vp_h nft delete table ip libvirt_network && vp_h nft delete table ip6 libvirt_network ||
		vp_die "cannot delete libvirt's tables"
	vp_load_libvirt_nft_rules
}

# The hook must write only into nf_tables, and never into iptables-nft's tables.
check_other_stack_untouched() {
	local out
	out=$(vp_h iptables-legacy-save 2>&1; vp_h ip6tables-legacy-save 2>&1)
	vp_check_eq "iptables-legacy-save prints nothing" "$out" ""
	out=$(vp_h cat /proc/net/ip_tables_names /proc/net/ip6_tables_names 2>/dev/null)
	vp_check_eq "no legacy table instantiated (ip*_tables_names empty)" "$out" ""
	out=$(vp_h iptables-nft-save 2>&1; vp_h ip6tables-nft-save 2>&1)
	vp_check_eq "iptables-nft-save prints nothing of ours" "$(printf '%s' "$out" | grep -c virt-portfwd)" 0
	vp_check_eq "no iptables-nft table (ip filter, ip nat, ...) was made" \
		"$(vp_h nft list tables | grep -cE '^table ip6? (filter|nat|mangle|raw|security)$')" 0
	vp_check "iptables-nft -S still works" vp_quiet vp_h iptables-nft -w -S
}

# ---------------------------------------------------------------------------------------------
# IPv6: the same host with an IPv6 NAT subnet (libvirt's <nat ipv6='yes'/>, so its ip6 rules
# reject new connections to the guests as for IPv4). Documentation prefixes on both sides.
V6_NET=2001:db8:122::/64
V6_GW=2001:db8:122::1
V6_G1=2001:db8:122::10
V6_HA=2001:db8:100::1
V6_CL=2001:db8:100::2

setup_ipv6() {
	local i="vp_libvirt_nft_insert ip6" br=virbr0 net=$V6_NET f=$VP_ROOT/run/libvirt/network/default.xml
	# shellcheck disable=SC2015 # vp_die exits
	ip netns exec "$H" sysctl -qw net.ipv6.conf.all.forwarding=1 &&
		ip -n "$H" addr add "$V6_GW/64" dev virbr0 nodad &&
		ip -n "$H" addr add "$V6_HA/64" dev uplink0 nodad &&
		ip -n "$C" addr add "$V6_CL/64" dev lan0 nodad &&
		ip -n "$C" route add "$V6_NET" via "$V6_HA" &&
		ip -n "$VP_GUEST1" addr add "$V6_G1/64" dev eth0 nodad &&
		ip -n "$VP_GUEST1" route add default via "$V6_GW" || vp_die "IPv6 setup failed"
	vp_bg "$VP_GUEST1" socat TCP6-LISTEN:22,ipv6only=1,fork,reuseaddr SYSTEM:"echo guest1 v6"
	# libvirt's ip6 rules for that subnet, in its order (general rules, then masquerading).
	# shellcheck disable=SC2015 # vp_die exits
	$i guest_output iif $br counter reject &&
		$i guest_input oif $br counter reject &&
		$i guest_cross iif $br oif $br counter accept &&
		$i guest_output ip6 saddr $net iif $br counter accept &&
		$i guest_input oif $br ip6 daddr $net ct state related,established counter accept &&
		$i guest_nat ip6 saddr $net ip6 daddr '!=' $net counter masquerade &&
		$i guest_nat meta l4proto udp ip6 saddr $net ip6 daddr '!=' $net counter masquerade \
			to :1024-65535 &&
		$i guest_nat meta l4proto tcp ip6 saddr $net ip6 daddr '!=' $net counter masquerade \
			to :1024-65535 &&
		$i guest_nat ip6 saddr $net ip6 daddr ff02::/16 counter return ||
		vp_die "loading libvirt's ip6 rules failed"
	vp_write_network_nft
	sed -i "s|^  </network>|    <ip family='ipv6' address='$V6_GW' prefix='64'/>\n  </network>|" "$f"
	vp_wait_tcp "$H" "[$V6_G1]" 22 "guest1 v6" || vp_die "guest1's IPv6 listener does not answer"
}

check_ipv6() {
	local s0=$VP_TMP/snap.v6.before snap=$VP_TMP/snap.v6 n
	setup_ipv6
	vp_snapshot "$s0"
	{ write_full_table_text; echo "guest1 tcp [::]:2222 22 ip=$V6_G1"; } | vp_write_table
	vp_check_eq "IPv6, before started: [$V6_HA]:2222 closed" \
		"$(vp_tcp_get "$C" "[$V6_HA]" 2222)" ""
	vp_hook_ok guest1 started
	vp_check_eq "IPv6: tcp [::]:2222 -> [$V6_G1]:22 from the client" \
		"$(vp_tcp_get "$C" "[$V6_HA]" 2222)" "guest1 v6"
	vp_check_eq "IPv6: IPv4 2222 still reaches guest1" "$(vp_tcp_get "$C" "$HA" 2222)" guest1
	vp_check_eq "IPv6 host-local: the host -> [$V6_HA]:2222 reaches guest1" \
		"$(vp_tcp_get "$H" "[$V6_HA]" 2222)" "guest1 v6"
	vp_check_eq "IPv6 door: client -> [$V6_G1]:22 routed straight is refused" \
		"$(vp_tcp_get "$C" "[$V6_G1]" 22; vp_tcp_error)" refused
	check_accepts_on_top "IPv6" 1 ip6
	n=$(vp_nft_rules list table ip6 virt_portfwd | grep -c "comment \"$OWNER\"$")
	vp_check_eq "IPv6: prerouting, output and hairpin rules in ip6 virt_portfwd" "$n" 3
	vp_check_eq "IPv6: output skips ::1" \
		"$(vp_nft_rules list chain ip6 virt_portfwd output | grep -c '^ip6 daddr != ::1 ')" 1
	vp_hook_ok guest1 stopped end
	vp_check_eq "IPv6, stopped: [$V6_HA]:2222 closed" "$(vp_tcp_get "$C" "[$V6_HA]" 2222)" ""
	vp_snapshot "$snap"
	vp_check_same_file "IPv6, stopped: ruleset identical to before started" "$s0" "$snap"
	write_full_table
}

vp_world
vp_load_libvirt_nft_rules
vp_fixture_init
write_full_table
vp_write_network_nft
vp_write_leases "$VP_G1_MAC=$VP_G1_IP" "$VP_G2_MAC=$VP_G2_IP"
vp_write_domain guest1 "$VP_G1_UUID" "$VP_G1_MAC" vnet0
vp_write_domain guest2 "$VP_G2_UUID" "$VP_G2_MAC" vnet1
# A second client address in the from= range; the host routes it back via the client.
ip -n "$C" addr add "$OUTSIDER/32" dev lan0 || vp_die "cannot add $OUTSIDER"
ip -n "$H" route add 203.0.113.0/24 via "$VP_CLIENT_ADDR" || vp_die "cannot route 203.0.113.0/24"

echo "# host type: libvirt nftables backend, hook $VP_BIN"
check_world
selfcheck
add_foreign_rules
FOREIGN=$(foreign_rules)
S0=$VP_TMP/snap.before
vp_snapshot "$S0"

check_closed "before started"
vp_check_not_in_table "$S0"
vp_hook_ok guest1 started
check_forwards
check_shape
check_foreign_rules "started"
check_idempotent
check_stop
check_edit_while_running
check_resolution
check_reload
check_no_libvirt_table
check_ipv6
check_table_anew
check_other_stack_untouched
vp_finish
