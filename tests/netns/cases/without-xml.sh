# SPDX-License-Identifier: GPL-2.0-or-later
# without-xml: most guests of a host have no forwards, and the hook tells from the table and the
# state directory alone (each state file has a hard link named after its guest): their started
# and stopped parse no XML and load no library, before and while guest1 runs. guest1's stopped
# removes its rules without parsing its domain XML, and its state and name link go with them.
# kinds: nft legacy nftables

. "$VP_LIB/basic.sh"

setup() {
	vp_require_tools strace
}

run() {
	local st=$VP_ROOT/run/virt-portfwd
	vp_full_table | vp_write_table
	vp_check_eq "guest not in the table, started: no XML parsed, no library loaded" \
		"$(vp_basic_hook_reads guest2 started)" ""
	vp_check_eq "guest not in the table, stopped: no XML parsed, no library loaded" \
		"$(vp_basic_hook_reads guest2 stopped)" ""
	vp_hook_ok guest1 started
	vp_check "started: the state of guest1 is linked under its name" \
		test "$st/n.guest1" -ef "$st/$VP_G1_UUID"
	vp_check_eq "guest not in the table, started while guest1 runs: no XML parsed, no library loaded" \
		"$(vp_basic_hook_reads guest2 started)" ""
	vp_check_eq "guest1 stopped: removed without parsing XML" \
		"$(vp_basic_hook_reads guest1 stopped | grep -c xml)" 0
	vp_basic_same "guest1 stopped without its XML: ruleset identical to before started"
	vp_check "guest1 stopped: its state and name link are gone" \
		test ! -e "$st/n.guest1" -a ! -e "$st/$VP_G1_UUID"
}
