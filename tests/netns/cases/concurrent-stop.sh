# SPDX-License-Identifier: GPL-2.0-or-later
# concurrent-stop: 20 running guests' 'stopped' at once, while another program keeps changing
# the same tables: every hook succeeds, the other program never fails, and the ruleset is the
# one from before the guests started.
# kinds: nft legacy nftables

# shellcheck source=../lib/lifecycle.sh
. "$VP_LIB/lifecycle.sh"

setup() {
	vp_conc_setup
}

run() {
	vp_conc_hooks started begin
	vp_conc_check_reach 0
	vp_conc_writer_start
	vp_conc_hooks stopped end
	vp_conc_writer_stop stopped
	vp_snapshot "$VP_TMP/snap.after"
	vp_check_same_file "after $VP_CONC_N concurrent stops: ruleset identical to before" \
		"$VP_S0" "$VP_TMP/snap.after"
	vp_check_eq "data path: $VP_HOST_ADDR:3000 closed again" \
		"$(vp_tcp_get "$VP_CLIENT" "$VP_HOST_ADDR" 3000)" ""
}
