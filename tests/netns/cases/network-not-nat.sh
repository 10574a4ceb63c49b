# SPDX-License-Identifier: GPL-2.0-or-later
# network-not-nat: a forward whose NIC is on a network that is not in NAT mode (route, open,
# isolated) is skipped with a reason in the log, as the doctor says (its NIC check fails with
# the same reason, and nothing else does): no rule is installed, the guest starts (exit 0), and
# back in NAT mode the forward works.
# kinds: nft legacy nftables

# shellcheck source=../lib/doctor.sh
. "$VP_LIB/doctor.sh"

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
		vp_write_status guest1
		vp_doctor_expect_fail "forward mode $mode, doctor" "guest.nic" \
			"port forwards are for NAT networks" guest1
		vp_check "forward mode $mode, doctor: says the hook skips the forward" \
			grep -q "whose forward mode is $mode.*not nat: the hook skips this forward" \
			"$VP_DOCTOR_OUT"
		rm -f "$VP_ROOT/run/libvirt/qemu/guest1.xml"
		vp_hook_ok guest1 stopped end
	done
	vp_write_network
	vp_hook_ok guest1 started
	vp_check_eq "back in NAT mode: 2222 reaches guest1" \
		"$(vp_tcp_get "$VP_CLIENT" "$VP_HOST_ADDR" 2222)" guest1
	vp_hook_ok guest1 stopped end
}
