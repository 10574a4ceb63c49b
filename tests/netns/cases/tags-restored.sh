# SPDX-License-Identifier: GPL-2.0-or-later
# tags-restored: the owner tags, not our state, say which rules are ours. A ruleset restored from
# a dump at boot (netfilter-persistent, `nft list ruleset` saved) brings guest1's rules back with
# no state of ours: started does not double them, stopped leaves the ruleset as before, and
# `apply` and `flush` remove what no state and no running guest accounts for. A state directory
# wiped under a running guest: stopped still removes its rules, and a second started doubles
# nothing.
# kinds: nft legacy nftables

STATE=$VP_ROOT/run/virt-portfwd

# The host's ruleset into FILE(s), as a boot-time restore would load it.
dump() {  # FILE
	if [ "$VP_KIND" = nftables ]; then
		vp_h nft list ruleset >"$1"
	else
		vp_h "$IPT_SAVE" >"$1.4" && vp_h "$IP6T_SAVE" >"$1.6"
	fi
}

# Load the dump over whatever is there, the way a boot does: every table in it replaced.
restore() {  # FILE
	if [ "$VP_KIND" = nftables ]; then
		vp_h nft flush ruleset && vp_h nft -f "$1"
	else
		vp_h "iptables-$VP_HOSTTYPE-restore" <"$1.4" &&
			vp_h "ip6tables-$VP_HOSTTYPE-restore" <"$1.6"
	fi
}

# WHEN: the ruleset is the one the case started from.
check_s0() {
	vp_snapshot "$VP_TMP/snap"
	vp_check_same_file "$1: the ruleset is identical to the one before" "$VP_S0" "$VP_TMP/snap"
}

# guest1's rules are back from the dump with no state of ours; its started doubles nothing.
restored_then_started() {
	local n=$1 mark
	restore "$VP_TMP/boot" || vp_die "cannot restore the dump"
	vp_check_eq "dump restored, no state: guest1's $n rules are back" "$(vp_g1_rules)" "$n"
	vp_check "dump restored: no state file of guest1" test ! -e "$STATE/$VP_G1_UUID"
	mark=$(vp_log_mark)
	vp_write_status guest1
	vp_hook_ok guest1 started
	vp_check_eq "started over the restored rules: still $n, none doubled" "$(vp_g1_rules)" "$n"
	vp_check_owned "started over the restored rules"
	# iptables-legacy reads the tables on every change: nothing to tell there.
	[ "$VP_KIND" = legacy ] || vp_check "started over the restored rules: logged" \
		grep -q "rules of it are in .* but no state of ours" <(vp_log_since "$mark")
	vp_check_eq "started over the restored rules: 2222 reaches guest1" \
		"$(vp_tcp_get "$VP_CLIENT" "$VP_HOST_ADDR" 2222)" guest1
	vp_hook_ok guest1 stopped end
	rm -f "$VP_ROOT/run/libvirt/qemu/guest1.xml"
	check_s0 "restored, started, stopped"
}

# The dump restored while guest1 is not running: COMMAND removes its rules.
restored_then() {  # COMMAND
	local mark
	restore "$VP_TMP/boot" || vp_die "cannot restore the dump"
	mark=$(vp_log_mark)
	vp_cli "$1" >/dev/null
	vp_check_eq "restored, guest1 not running: $1 exits 0" "$?" 0
	vp_check_eq "restored, guest1 not running: $1 leaves no rule of guest1" "$(vp_g1_rules)" 0
	vp_check "restored, guest1 not running: $1 says what it removed" \
		grep -q "removed rules of guest $VP_G1_UUID that no state of ours accounted for" \
		<(vp_log_since "$mark")
	check_s0 "restored, then $1"
}

# The state directory wiped under a running guest1.
state_wiped() {
	vp_write_status guest1
	vp_hook_ok guest1 started
	rm -rf "${STATE:?}"/* "$STATE"/.[!.]*
	vp_hook_ok guest1 stopped end
	vp_check_eq "state wiped, then stopped: no rule of guest1 left" "$(vp_g1_rules)" 0
	check_s0 "state wiped, then stopped"
	vp_hook_ok guest1 started
	rm -rf "${STATE:?}"/* "$STATE"/.[!.]*
	vp_hook_ok guest1 started
	vp_check_eq "state wiped, started again: still $1 rules, none doubled" "$(vp_g1_rules)" "$1"
	vp_hook_ok guest1 stopped end
	rm -f "$VP_ROOT/run/libvirt/qemu/guest1.xml"
	check_s0 "state wiped, started twice, stopped"
}

run() {
	local n
	echo "guest1 tcp 2222 22" | vp_write_table
	vp_write_status guest1
	vp_hook_ok guest1 started
	n=$(vp_g1_rules)
	vp_check "started: guest1 has rules" test "$n" -gt 0
	dump "$VP_TMP/boot"
	vp_hook_ok guest1 stopped end
	rm -f "$VP_ROOT/run/libvirt/qemu/guest1.xml"
	check_s0 "stopped"
	restored_then_started "$n"
	restored_then apply
	restored_then flush
	state_wiped "$n"
}
