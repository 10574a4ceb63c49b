# SPDX-License-Identifier: GPL-2.0-or-later
# tables-anew: the tables guest1's rules went into are made anew while it runs (nft flush
# ruleset, a firewall reload, a restart of libvirt's network), and rules of someone else get the
# handles ours had: the record of guest1 names them now. Its stopped must see the tables are not
# the ones it recorded in, read instead, and leave those rules alone. The legacy tables keep no
# record (no handles): kinds nft (iptables-nft's tables) and nftables (libvirt's table).
# kinds: nft nftables

. "$VP_LIB/basic.sh"

ANEW=0

# kind nft: a history of 40 rules made and deleted in nat and filter, as on a host that has run
# for a while: the handles of guest1's rules are then above the first ones tables made anew give
# out (take_handles needs that). The ruleset is the same afterwards.
setup() {
	local t i
	[ "$VP_KIND" = nft ] || return 0
	for t in nat filter; do
		{
			echo "*$t"
			echo ":VP_HISTORY - [0:0]"
			for ((i = 0; i < 40; i++)); do
				echo "-A VP_HISTORY -s 203.0.113.253/32 -j RETURN"
			done
			echo "COMMIT"
		} | vp_h iptables-nft-restore --noflush || return 1
		vp_h iptables-nft -w -t "$t" -F VP_HISTORY || return 1
		vp_h iptables-nft -w -t "$t" -X VP_HISTORY || return 1
	done
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

# iptables-nft's tables (both families) deleted, as by nft flush ruleset.
drop_xt_tables() {
	local c
	for c in "ip nat" "ip filter" "ip mangle" "ip6 nat" "ip6 filter" "ip6 mangle"; do
		# shellcheck disable=SC2086 # family and table: two words
		vp_h nft delete table $c || vp_die "cannot delete table $c"
	done
}

# kind nft: iptables-nft's tables made anew, the others' rules in chains named as ours.
anew_nft() {
	local rec=$1 t n
	vp_check "started: the record holds the handles of nat" grep -q '^t4 nat [0-9]' "$rec"
	vp_check "started: ... and of filter" grep -q '^t4 filter [0-9]' "$rec"
	drop_xt_tables
	vp_libvirt_rules
	for t in nat filter; do
		take_handles "$t" "$rec" || vp_die "cannot give the recorded handles of $t to others"
	done
	vp_hook_ok guest1 stopped end
	n=$(vp_h iptables-nft-save | grep -c -- '--comment anew-')
	vp_check_eq "tables made anew, stopped: the $ANEW rules under our old handles are intact" \
		"$n" "$ANEW"
	vp_check_eq "tables made anew, stopped: no rule of guest1 left anywhere" \
		"$(vp_h iptables-nft-save | grep -c "$VP_BASIC_OWNER")" 0
	# The others' chains are named as ours: the tables made anew once more, as libvirt had them.
	drop_xt_tables
	vp_libvirt_rules
}

# kind nftables: libvirt's table made anew, the others' rules in its forward chain.
anew_nftables() {
	local rec=$1 i
	vp_check "started: the record holds the handle of libvirt's table" \
		grep -q '^table ip libvirt_network [0-9][0-9]*$' "$rec"
	vp_basic_drop_libvirt_nft
	vp_libvirt_rules
	vp_write_network   # libvirt's status names the rules of its new table
	for ((i = 0; i < 40; i++)); do
		echo "add rule ip libvirt_network forward ip saddr 203.0.113.253 counter return" \
			"comment \"anew-$i\""
	done | vp_h nft -f - || vp_die "cannot add the rules of the new table"
	vp_hook_ok guest1 stopped end
	vp_check_eq "table made anew, stopped: the 40 rules under our old handles are intact" \
		"$(vp_h nft list chain ip libvirt_network forward | grep -c 'comment "anew-')" 40
	vp_check_eq "table made anew, stopped: no rule of ours left anywhere" \
		"$(vp_h nft list ruleset | grep -c virt-portfwd)" 0
	vp_basic_drop_libvirt_nft
	vp_libvirt_rules
}

run() {
	local rec=$VP_ROOT/run/virt-portfwd/$VP_G1_UUID.rules
	vp_full_table | vp_write_table
	vp_hook_ok guest1 started
	if [ "$VP_KIND" = nftables ]; then anew_nftables "$rec"; else anew_nft "$rec"; fi
}
