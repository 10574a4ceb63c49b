# SPDX-License-Identifier: GPL-2.0-or-later
# idempotent: a second started and a reconnect (libvirtd restarted) of a running guest change
# nothing in the ruleset, not even a handle where nf_tables numbers the rules, and its forwards
# still work.
# kinds: nft legacy nftables

. "$VP_LIB/basic.sh"

# ruleset FILE: what "changed nothing" compares: on nf_tables (kinds nft and nftables) the whole
# ruleset with its handles, counters left out (nft warns on stderr about iptables-nft's tables).
ruleset() {
	if [ "$VP_KIND" = legacy ]; then
		vp_snapshot "$1"
	else
		vp_h nft -a -s list ruleset >"$1" 2>/dev/null || vp_die "nft list ruleset failed"
	fi
}

run() {
	local s1=$VP_TMP/snap.started1 s2=$VP_TMP/snap.started2 h=", handles included"
	[ "$VP_KIND" != legacy ] || h=
	vp_full_table | vp_write_table
	vp_hook_ok guest1 started
	ruleset "$s1"
	vp_hook_ok guest1 started
	ruleset "$s2"
	vp_check_same_file "started twice: ruleset identical (no duplicates)$h" "$s1" "$s2"
	vp_hook_ok guest1 reconnect
	ruleset "$s2"
	vp_check_same_file "reconnect: ruleset identical$h" "$s1" "$s2"
	vp_basic_open "after reconnect: 2222 still reaches guest1"
	vp_hook_ok guest1 stopped end
}
