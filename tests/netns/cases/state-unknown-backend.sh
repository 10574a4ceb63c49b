# SPDX-License-Identifier: GPL-2.0-or-later
# state-unknown-backend: a state naming a backend this build does not know (written by another
# version, or damaged) does not make the guest's rules unremovable: stopped removes them from
# every backend there is, then the state, and says why in the log; --dry-run says so too.
# kinds: nft legacy nftables

run() {
	local st=$VP_ROOT/run/virt-portfwd/$VP_G1_UUID mark
	vp_full_table | vp_write_table
	vp_hook_ok guest1 started
	vp_check "started: guest1 has rules" test -n "$(vp_rules_owned "$VP_G1_UUID")"
	# Rewritten in place: the name index is a link to the same file.
	sed -e 's/^backend .*/backend some-future-backend/' "$st" >"$VP_TMP/state" &&
		cat "$VP_TMP/state" >"$st"
	vp_check "the state now names an unknown backend" grep -qx 'backend some-future-backend' "$st"
	vp_check "dry-run: the removal goes to every backend" \
		grep -q "every backend: 'some-future-backend' is unknown" \
		<(vp_cli --dry-run remove "$VP_G1_UUID" 2>&1)
	mark=$(vp_log_mark)
	vp_hook_ok guest1 stopped end
	vp_check_eq "stopped: no rule of guest1 is left" "$(vp_rules_owned "$VP_G1_UUID")" ""
	vp_check "stopped: the log says why every backend was asked" \
		grep -q "unknown backend 'some-future-backend' in the state of guest1" \
		<(vp_log_since "$mark")
}
