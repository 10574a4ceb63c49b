#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Data path through the real qemu hook on a host where libvirt uses its iptables backend, with
# the iptables binary being iptables-nft (HOSTTYPE nft) or iptables-legacy (HOSTTYPE legacy).
# Every claim is checked with a real connection between namespaces. TAP on stdout; exit 1 on
# any failure, 77 when it cannot run here.
#
#   test-iptables.sh nft|legacy

. "$(dirname "$(readlink -f "$0")")/lib.sh"

vp_init "${1:-}"

C=$VP_CLIENT
H=$VP_HOST
HA=$VP_HOST_ADDR
OUTSIDER=203.0.113.5     # a second client address, inside the from= range

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

check_world() {
	vp_check_eq "world: the host reaches guest1:22 directly" \
		"$(vp_tcp_get "$H" "$VP_G1_IP" 22)" guest1
	vp_check_eq "world: guest2 reaches guest1:22 over the bridge" \
		"$(vp_tcp_get "$VP_GUEST2" "$VP_G1_IP" 22)" guest1
	vp_check_eq "world: UDP listener of guest1 answers the host" \
		"$(vp_udp_get "$H" "$VP_G1_IP" 27015)" guest1
}

# Hand-made rules, no hook: proves libvirt's REJECT is active in the tables this host type uses,
# and that a DNAT plus a DNAT-only FORWARD accept above libvirt's jumps is enough.
selfcheck() {
	local before=$VP_TMP/selfcheck.before after=$VP_TMP/selfcheck.after
	local dnat=(PREROUTING -d "$HA" -p tcp --dport 2222 -m comment --comment vp-selfcheck
		-j DNAT --to-destination "$VP_G1_IP:22")
	local accept=(FORWARD -d "$VP_G1_IP" -p tcp --dport 22 -m conntrack --ctstate DNAT
		-m comment --comment vp-selfcheck -j ACCEPT)
	vp_snapshot "$before"
	vp_h "$IPT" -w -t nat -I "${dnat[@]}" || vp_die "self-check: cannot add the DNAT rule"
	vp_check_eq "self-check: DNAT alone does not reach guest1" "$(vp_tcp_get "$C" "$HA" 2222)" ""
	vp_check_eq "self-check: ... because libvirt's REJECT refuses it" "$(vp_tcp_error)" refused
	vp_h "$IPT" -w -I "${accept[@]}" || vp_die "self-check: cannot add the FORWARD rule"
	vp_check_eq "self-check: DNAT + FORWARD accept (ctstate DNAT) reaches guest1" \
		"$(vp_tcp_get "$C" "$HA" 2222)" guest1
	if ! vp_h "$IPT" -w -D "${accept[@]}" || ! vp_h "$IPT" -w -t nat -D "${dnat[@]}"; then
		vp_die "self-check: cannot remove its rules"
	fi
	vp_snapshot "$after"
	vp_check_same_file "self-check: hand-made rules removed again" "$before" "$after"
}

# Rules of someone else that must survive our start and stop untouched.
add_foreign_rules() {
	# shellcheck disable=SC2015 # vp_die exits
	vp_h "$IPT" -w -I FORWARD 1 -s 203.0.113.250/32 -p tcp --dport 9 \
		-m comment --comment foreign-top -j ACCEPT &&
		vp_h "$IPT" -w -A FORWARD -s 203.0.113.251/32 -m comment --comment foreign-tail -j DROP &&
		vp_h "$IPT" -w -t nat -A POSTROUTING -s 203.0.113.252/32 \
			-m comment --comment foreign-nat -j RETURN || vp_die "cannot add the foreign rules"
}

check_foreign_rules() {  # WHEN
	local got
	got=$(vp_rules_tagged foreign- | sort)
	vp_check_eq "$1: the 3 foreign rules are intact" "$got" "$FOREIGN"
}

check_closed() {  # WHEN
	vp_check_eq "$1: client -> $HA:2222 does not reach guest1" "$(vp_tcp_get "$C" "$HA" 2222)" ""
}

# The libraries a hook call loads (libxml2, json-c, libnftables, libiptc are loaded when first
# used), one per line.
hook_libs() {  # DOMAIN OP
	local trace=$VP_TMP/libs.trace
	ip netns exec "$VP_HOST" env VIRT_PORTFWD_ROOT="$VP_ROOT" XTABLES_LOCKFILE="$VP_LOCK" \
		strace -f -qq -e trace=openat -o "$trace" "$VP_ROOT/hooks/qemu" "$1" "$2" end - \
		<"$VP_FIX/$1.xml" >>"$VP_TMP/hook.stdout" 2>>"$VP_TMP/hook.stderr"
	grep -o -E 'lib(xml2|json-c|nftables|ip4tc|ip6tc)\.so[.0-9]*' "$trace" | sort -u
}

# Most guests of a host have no forwards: the hook tells from the table and the state directory
# alone (each state file has a hard link named after its guest) and loads none of the libraries.
# A stopping guest with forwards is removed from what is stored, without its domain XML; when
# the state has no such link (an older version wrote it), the XML path still removes it.
check_without_xml() {
	local snap=$VP_TMP/snap.noxml st=$VP_ROOT/run/virt-portfwd
	vp_check_eq "guest not in the table, started: no library loaded" "$(hook_libs guest2 started)" ""
	vp_check_eq "guest not in the table, stopped: no library loaded" "$(hook_libs guest2 stopped)" ""
	vp_hook_ok guest1 started
	vp_check "started: the state of guest1 is linked under its name" \
		test "$st/n.guest1" -ef "$st/$VP_G1_UUID"
	vp_check_eq "guest not in the table, started while guest1 runs: no library loaded" \
		"$(hook_libs guest2 started)" ""
	vp_check_eq "guest1 stopped: removed without libxml2" "$(hook_libs guest1 stopped | grep -c xml2)" 0
	vp_snapshot "$snap"
	vp_check_same_file "guest1 stopped without its XML: ruleset identical to before started" \
		"$S0" "$snap"
	vp_check "guest1 stopped: its state and name link are gone" \
		test ! -e "$st/n.guest1" -a ! -e "$st/$VP_G1_UUID"
	vp_hook_ok guest1 started
	rm -f "$st/n.guest1"   # as an older version left it
	vp_check_eq "state without its name link: guest2 started reads its XML" \
		"$(hook_libs guest2 started | grep -c xml2)" 1
	vp_check_eq "state without its name link: guest1 stopped reads its XML" \
		"$(hook_libs guest1 stopped | grep -c xml2)" 1
	vp_snapshot "$snap"
	vp_check_same_file "state without its name link, stopped: ruleset identical to before started" \
		"$S0" "$snap"
}

# Libraries are loaded when first used: a host without libnftables (or with a broken one) still
# runs an iptables backend, and a library that cannot be loaded is an error in the log, never a
# crash or a half-applied change. Broken copies (empty files) come first in LD_LIBRARY_PATH.
check_missing_libs() {
	local broken=$VP_TMP/broken-libs snap=$VP_TMP/snap.libs mark
	mkdir -p "$broken"
	: >"$broken/libnftables.so.1"
	vp_hook_env guest1 started begin "LD_LIBRARY_PATH=$broken"
	vp_check_eq "libnftables broken: 2222 reaches guest1 all the same" \
		"$(vp_tcp_get "$C" "$HA" 2222)" guest1
	vp_hook_env guest1 stopped end "LD_LIBRARY_PATH=$broken"
	vp_snapshot "$snap"
	vp_check_same_file "libnftables broken, stopped: ruleset identical to before started" \
		"$S0" "$snap"
	: >"$broken/libxml2.so.2"
	mark=$(wc -l <"$VP_TMP/hook.stderr")
	vp_hook_env guest1 started begin "LD_LIBRARY_PATH=$broken"
	vp_check_eq "libxml2 broken, started: exit status 0" "$?" 0
	vp_check "libxml2 broken, started: the log says it cannot be loaded" \
		grep -q "cannot load libxml2.so.2" <(tail -n +"$((mark + 1))" "$VP_TMP/hook.stderr")
	vp_snapshot "$snap"
	vp_check_same_file "libxml2 broken, started: nothing installed" "$S0" "$snap"
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
	vp_check_eq "door: ... it is refused by libvirt's REJECT" "$(vp_tcp_error)" refused
}

# Our jumps are the first rule of each base chain, and everything in our chains is tagged.
check_shape() {
	local t c ours first untagged n
	for t in nat:PREROUTING:PRE nat:OUTPUT:OUT nat:POSTROUTING:POST filter:FORWARD:FWD; do
		IFS=: read -r tab c ours <<<"$t"
		first=$(vp_h "$IPT" -w -t "$tab" -S "$c" | sed -n 2p)
		case "$first" in
		*virt-portfwd*"-j VIRT_PORTFWD_$ours") vp_ok "$tab $c: rule 1 jumps to VIRT_PORTFWD_$ours" ;;
		*) vp_not_ok "$tab $c: rule 1 jumps to VIRT_PORTFWD_$ours" "rule 1: $first" ;;
		esac
	done
	n=$(vp_h "$IPT_SAVE" | grep -c '^-A VIRT_PORTFWD_')
	untagged=$(vp_h "$IPT_SAVE" | grep '^-A VIRT_PORTFWD_' | grep -cv "virt-portfwd:$VP_G1_UUID")
	if [ "$n" -gt 0 ] && [ "$untagged" -eq 0 ]; then
		vp_ok "all $n rules in our chains carry virt-portfwd:$VP_G1_UUID"
	else
		vp_not_ok "all rules in our chains carry the owner tag" "$n rules, $untagged untagged"
	fi
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
	vp_check_eq "after reconnect: 2222 still reaches guest1" "$(vp_tcp_get "$C" "$HA" 2222)" guest1
}

check_stop() {
	local snap=$VP_TMP/snap.stopped
	vp_hook_ok guest1 stopped end
	check_closed "stopped"
	vp_check_eq "stopped: 8080 does not reach guest1" "$(vp_tcp_get "$C" "$HA" 8080)" ""
	vp_snapshot "$snap"
	vp_check_same_file "stopped: ruleset identical to before started" "$S0" "$snap"
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
# then the table's ip= option (guest2 has no lease in either case).
check_resolution() {
	local snap=$VP_TMP/snap.resolution
	vp_write_leases "$VP_G1_MAC=$VP_G1_IP"
	vp_write_network "$VP_G2_MAC=$VP_G2_IP"
	{ write_full_table_text; echo "guest2 tcp 2224 22"; } | vp_write_table
	vp_hook_ok guest2 started
	vp_check_eq "static <host> in the network XML: 2224 reaches guest2" \
		"$(vp_tcp_get "$C" "$HA" 2224)" guest2
	vp_hook_ok guest2 stopped end
	vp_write_network
	{ write_full_table_text; echo "guest2 tcp 2224 22 ip=$VP_G2_IP"; } | vp_write_table
	vp_hook_ok guest2 started
	vp_check_eq "ip= in the table: 2224 reaches guest2" "$(vp_tcp_get "$C" "$HA" 2224)" guest2
	vp_hook_ok guest2 stopped end
	check_closed "guest2 stopped"
	vp_snapshot "$snap"
	vp_check_same_file "guest2 stopped: ruleset identical to before" "$S0" "$snap"
	write_full_table
	vp_write_leases "$VP_G1_MAC=$VP_G1_IP" "$VP_G2_MAC=$VP_G2_IP"
}

# In the (new) TABLE, rules of someone else under every handle RECORD gives a rule of ours there,
# each in the chain the record names: nf_tables numbers a table's chains and rules in the order
# they come, so after a probe rule (handle p) the k-th rule of one batch gets p + k. Adds their
# number to ANEW; fails when a recorded handle is already behind (the test would prove nothing).
take_handles() {  # TABLE RECORD
	local t=$1 chains probe p c
	case "$t" in
	nat) chains="VIRT_PORTFWD_PRE VIRT_PORTFWD_OUT VIRT_PORTFWD_POST" ;;
	filter) chains=VIRT_PORTFWD_FWD ;;
	esac
	probe=${chains%% *}
	for c in $chains; do
		vp_h iptables-nft -w -t "$t" -N "$c" || return 1
	done
	vp_h iptables-nft -w -t "$t" -A "$probe" -s 203.0.113.254/32 -m comment --comment anew-probe \
		-j RETURN || return 1
	p=$(vp_h nft -a list chain ip "$t" "$probe" 2>/dev/null |
		sed -n 's/.*ip saddr 203\.0\.113\.254 .* # handle \([0-9]*\)$/\1/p')
	[ -n "$p" ] || return 1
	ANEW=$((ANEW + 1))
	awk -v p="$p" -v chains=" $chains " -v probe="$probe" -v t="$t" '
		$1 == "4" && index(chains, " " $2 " ") { at[$3 + 0] = $2; if ($3 + 0 > max) max = $3 + 0
			if ($3 + 0 <= p) low = 1 }
		END {
			if (low || !max) exit 1
			print "*" t
			for (h = p + 1; h <= max; h++)
				printf "-A %s -s 203.0.113.253/32 -m comment --comment anew-%d -j RETURN\n",
				       (h in at) ? at[h] : probe, h
			print "COMMIT"
		}' "$2" >"$VP_TMP/anew.$t" || return 1
	ANEW=$((ANEW + $(grep -c '^-A ' "$VP_TMP/anew.$t")))
	vp_h iptables-nft-restore --noflush <"$VP_TMP/anew.$t"
}

# iptables-nft: the tables made anew (nft flush ruleset, a firewall reload that deletes tables)
# and rules of someone else, in chains named as ours, get the handles our rules had: the record
# of guest1 names them now. Its stop must see the tables are not the ones it recorded in, read
# instead, and leave them alone. The legacy tables keep no record.
check_tables_anew() {
	local rec=$VP_ROOT/run/virt-portfwd/$VP_G1_UUID.rules owner=virt-portfwd:$VP_G1_UUID c n t
	[ "$VP_HOSTTYPE" = nft ] || return 0
	ANEW=0
	vp_hook_ok guest1 started
	vp_check "started: the record holds the handles of filter and nat" \
		grep -q '^t4 nat [0-9]' "$rec"
	vp_check "started: ... and of filter" grep -q '^t4 filter [0-9]' "$rec"
	for c in "ip nat" "ip filter" "ip mangle" "ip6 nat" "ip6 filter" "ip6 mangle"; do
		# shellcheck disable=SC2086 # family and table: two words
		vp_h nft delete table $c || vp_die "cannot delete table $c"
	done
	vp_load_libvirt_rules
	for t in nat filter; do
		take_handles "$t" "$rec" || vp_die "cannot give the recorded handles of $t to others"
	done
	vp_hook_ok guest1 stopped end
	n=$(vp_h iptables-nft-save | grep -c -- '--comment anew-')
	vp_check_eq "tables made anew, stopped: the $ANEW rules under our old handles are intact" \
		"$n" "$ANEW"
	vp_check_eq "tables made anew, stopped: no rule of guest1 left anywhere" \
		"$(vp_h iptables-nft-save | grep -c "$owner")" 0
}

# The hook must write only where libvirt's rules are.
check_other_stack_untouched() {
	local out
	if [ "$VP_HOSTTYPE" = nft ]; then
		out=$(vp_h iptables-legacy-save 2>&1; vp_h ip6tables-legacy-save 2>&1)
		vp_check_eq "nft host: iptables-legacy-save prints nothing" "$out" ""
		out=$(vp_h cat /proc/net/ip_tables_names /proc/net/ip6_tables_names 2>/dev/null)
		vp_check_eq "nft host: no legacy table instantiated (ip*_tables_names empty)" "$out" ""
		vp_check "nft host: iptables-nft -S still works" vp_quiet vp_h iptables-nft -w -S
	else
		out=$(vp_h nft list ruleset 2>&1)
		vp_check_eq "legacy host: nf_tables holds nothing (nft list ruleset empty)" "$out" ""
		vp_check "legacy host: iptables-legacy -S still works" vp_quiet vp_h iptables-legacy -w -S
	fi
}

vp_world
vp_load_libvirt_rules
vp_fixture_init
write_full_table
vp_write_network
vp_write_leases "$VP_G1_MAC=$VP_G1_IP" "$VP_G2_MAC=$VP_G2_IP"
vp_write_domain guest1 "$VP_G1_UUID" "$VP_G1_MAC" vnet0
vp_write_domain guest2 "$VP_G2_UUID" "$VP_G2_MAC" vnet1
# A second client address in the from= range; the host routes it back via the client.
ip -n "$C" addr add "$OUTSIDER/32" dev lan0 || vp_die "cannot add $OUTSIDER"
ip -n "$H" route add 203.0.113.0/24 via "$VP_CLIENT_ADDR" || vp_die "cannot route 203.0.113.0/24"

echo "# host type $VP_HOSTTYPE, hook $VP_BIN"
check_world
selfcheck
add_foreign_rules
FOREIGN=$(vp_rules_tagged foreign- | sort)
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
check_other_stack_untouched
check_without_xml
check_missing_libs
check_tables_anew
vp_finish
