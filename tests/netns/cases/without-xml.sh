# SPDX-License-Identifier: GPL-2.0-or-later
# without-xml: most guests of a host have no forwards, and the hook tells from the table and the
# state directory alone (each state file has a hard link named after its guest): their started
# and stopped load no library, before and while guest1 runs. guest1's stopped removes its rules
# without reading its domain XML (no libxml2), and its state and name link go with them.
# kinds: nft legacy nftables

. "$VP_LIB/basic.sh"

setup() {
	vp_require_tools strace
}

run() {
	local st=$VP_ROOT/run/virt-portfwd
	vp_full_table | vp_write_table
	vp_check_eq "guest not in the table, started: no library loaded" \
		"$(vp_basic_hook_libs guest2 started)" ""
	vp_check_eq "guest not in the table, stopped: no library loaded" \
		"$(vp_basic_hook_libs guest2 stopped)" ""
	vp_hook_ok guest1 started
	vp_check "started: the state of guest1 is linked under its name" \
		test "$st/n.guest1" -ef "$st/$VP_G1_UUID"
	vp_check_eq "guest not in the table, started while guest1 runs: no library loaded" \
		"$(vp_basic_hook_libs guest2 started)" ""
	vp_check_eq "guest1 stopped: removed without libxml2" \
		"$(vp_basic_hook_libs guest1 stopped | grep -c xml2)" 0
	vp_basic_same "guest1 stopped without its XML: ruleset identical to before started"
	vp_check "guest1 stopped: its state and name link are gone" \
		test ! -e "$st/n.guest1" -a ! -e "$st/$VP_G1_UUID"
}
