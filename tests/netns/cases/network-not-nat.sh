# SPDX-License-Identifier: GPL-2.0-or-later
# network-not-nat: a forward whose NIC is on a network that is not in NAT mode (route, open,
# isolated) is skipped with a reason in the log, as the doctor says: no rule is installed, a
# forward of the same guest on its NAT network still is, and the guest starts (exit 0).
# kinds: nft legacy nftables

run() {
	local f=$VP_ROOT/run/libvirt/network/default.xml mode mark
	vp_full_table | vp_write_table
	for mode in route open none; do
		vp_write_network
		if [ "$mode" = none ]; then
			sed -i -e '/<forward /,/<\/forward>/d' "$f"
		else
			sed -i -e "s/<forward mode='nat'>/<forward mode='$mode'>/" "$f"
		fi
		mark=$(vp_log_mark)
		vp_hook_ok guest1 started
		vp_check_eq "forward mode $mode: no rule of guest1 is installed" \
			"$(vp_rules_owned "$VP_G1_UUID")" ""
		vp_check "forward mode $mode: the log says why" \
			grep -q "whose forward mode is $mode.*not nat: port forwards are for NAT networks" \
			<(vp_log_since "$mark")
		vp_check_eq "forward mode $mode: the client is not let in" \
			"$(vp_tcp_get "$VP_CLIENT" "$VP_HOST_ADDR" 2222)" ""
		vp_hook_ok guest1 stopped end
	done
	vp_write_network
	vp_hook_ok guest1 started
	vp_check_eq "back in NAT mode: 2222 reaches guest1" \
		"$(vp_tcp_get "$VP_CLIENT" "$VP_HOST_ADDR" 2222)" guest1
	vp_hook_ok guest1 stopped end
}
