# SPDX-License-Identifier: GPL-2.0-or-later
# state-without-link: a state file without the hard link named after its guest (as an older
# version wrote it) is still found: the hook then reads the domain XML, for a guest not in the
# table as for guest1's stopped, which removes all of guest1's rules.
# kinds: nft legacy nftables

. "$VP_LIB/basic.sh"

setup() {
	vp_require_tools strace
}

run() {
	vp_full_table | vp_write_table
	vp_hook_ok guest1 started
	rm -f "$VP_ROOT/run/virt-portfwd/n.guest1"   # as an older version left it
	vp_check_eq "state without its name link: guest2 started reads its XML" \
		"$(vp_basic_hook_reads guest2 started | grep -c xml)" 1
	vp_check_eq "state without its name link: guest1 stopped reads its XML" \
		"$(vp_basic_hook_reads guest1 stopped | grep -c xml)" 1
	vp_basic_same "state without its name link, stopped: ruleset identical to before started"
}
