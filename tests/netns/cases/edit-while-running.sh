# SPDX-License-Identifier: GPL-2.0-or-later
# edit-while-running: the table edited while guest1 runs (its 2222 line taken out) does not
# strand that forward: guest1's stopped removes everything its started installed.
# kinds: nft legacy nftables

. "$VP_LIB/basic.sh"

run() {
	vp_full_table | vp_write_table
	vp_hook_ok guest1 started
	vp_basic_open "started: 2222 reaches guest1"
	# The line 2222 -> 22 taken out.
	vp_full_table | grep -v '^guest1 *tcp *2222 ' | vp_write_table
	vp_hook_ok guest1 stopped end
	vp_basic_closed "table edited, then stopped"
	vp_check_eq "table edited, then stopped: 8080 closed" \
		"$(vp_tcp_get "$VP_CLIENT" "$VP_HOST_ADDR" 8080)" ""
	vp_basic_same "table edited, then stopped: ruleset identical to before started"
}
