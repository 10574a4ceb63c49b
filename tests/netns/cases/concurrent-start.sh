# SPDX-License-Identifier: GPL-2.0-or-later
# concurrent-start: 20 guests' 'started' at once, while another program keeps changing the same
# tables (with the same xtables lock, as libvirt or firewalld would): every guest gets its 4
# rules exactly once, the hooks into our chains are there once, the other program's rules are
# neither lost nor duplicated, and the forwards work.
# kinds: nft legacy nftables

# shellcheck source=../lib/lifecycle.sh
. "$VP_LIB/lifecycle.sh"

setup() {
	vp_conc_setup
}

run() {
	vp_conc_writer_start
	vp_conc_hooks started begin
	vp_conc_writer_stop started
	vp_conc_check_rules_once
	vp_conc_check_reach 0
	vp_conc_check_reach "$(vp_conc_last)"
	# Back to the start for the end's checks (concurrent-stop is about stops next to a writer).
	vp_conc_hooks stopped end
}
