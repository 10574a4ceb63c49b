# SPDX-License-Identifier: GPL-2.0-or-later
# lease-ambiguous: a neighbour takes guest1's MAC in its DHCP request and gets a lease of its
# own under it (guest2's address). Two unexpired leases with different addresses for one MAC:
# the forward must not move to the neighbour. started installs nothing for guest1 (exit 0) and
# logs why, `apply` does not follow the newer lease either, the doctor names it; once the
# leases agree again, apply installs the forward to guest1. A forward already installed when the
# neighbour's lease comes stays where it is, while its own lease is valid: apply and reconnect
# keep it on guest1.
# kinds: nft legacy nftables

# shellcheck source=../lib/doctor.sh
. "$VP_LIB/doctor.sh"

# guest1's forward is installed on its own lease; then a neighbour gets a newer lease under
# guest1's MAC: apply and reconnect keep the forward on guest1.
installed_stays() {
	local C=$VP_CLIENT HA=$VP_HOST_ADDR mark
	vp_write_leases "$VP_G1_MAC=$VP_G1_IP" "$VP_G2_MAC=$VP_G2_IP"
	vp_write_status guest1
	vp_hook_ok guest1 started
	vp_check_eq "installed on its own lease: 2222 reaches guest1" \
		"$(vp_tcp_get "$C" "$HA" 2222)" guest1
	vp_write_leases "$VP_G1_MAC=$VP_G1_IP" "$VP_G1_MAC=$VP_G2_IP" "$VP_G2_MAC=$VP_G2_IP"
	mark=$(vp_log_mark)
	vp_check "a newer lease under guest1's MAC: apply exits 0" vp_quiet vp_cli apply
	vp_check_eq "a newer lease under guest1's MAC: apply keeps 2222 on guest1" \
		"$(vp_tcp_get "$C" "$HA" 2222)" guest1
	vp_check "a newer lease under guest1's MAC: the log says it stays" \
		grep -q "the forward stays on $VP_G1_IP, where it is installed" <(vp_log_since "$mark")
	vp_cli doctor guest1 >"$VP_TMP/doctor.out"
	vp_check "a newer lease under guest1's MAC: the doctor fails the address, naming both" \
		grep -q "^FAIL .*guest1 tcp 2222: NIC .* leases with different addresses ($VP_G1_IP, $VP_G2_IP).*keeps the forward on $VP_G1_IP" \
		"$VP_TMP/doctor.out"
	vp_hook_ok guest1 reconnect
	vp_check_eq "a newer lease under guest1's MAC: reconnect keeps 2222 on guest1" \
		"$(vp_tcp_get "$C" "$HA" 2222)" guest1
	rm -f "$VP_ROOT/run/libvirt/qemu/guest1.xml"
	vp_hook_ok guest1 stopped end
}

run() {
	local C=$VP_CLIENT HA=$VP_HOST_ADDR mark
	echo "guest1 tcp 2222 22" | vp_write_table
	vp_write_leases "$VP_G1_MAC=$VP_G1_IP" "$VP_G1_MAC=$VP_G2_IP" "$VP_G2_MAC=$VP_G2_IP"
	mark=$(vp_log_mark)
	vp_hook_ok guest1 started
	vp_check_eq "ambiguous leases: no rule of guest1" "$(vp_rules_owned "$VP_G1_UUID")" ""
	vp_check_eq "ambiguous leases: 2222 reaches neither guest" "$(vp_tcp_get "$C" "$HA" 2222)" ""
	vp_check "ambiguous leases: the log says why" \
		grep -q "unexpired DHCP leases with different addresses ($VP_G2_IP, $VP_G1_IP" \
		<(vp_log_since "$mark")
	vp_write_status guest1
	vp_write_status guest2
	vp_check "ambiguous leases: apply exits 0" vp_quiet vp_cli apply
	vp_check_eq "ambiguous leases: apply installs nothing either" \
		"$(vp_rules_owned "$VP_G1_UUID")" ""
	vp_doctor_expect_fail "ambiguous leases, doctor" "guest.address" "find the guest that took MAC" \
		guest1
	vp_check "ambiguous leases, doctor: names both addresses" \
		grep -q "different addresses ($VP_G2_IP, $VP_G1_IP)" "$VP_DOCTOR_OUT"
	vp_write_leases "$VP_G1_MAC=$VP_G1_IP" "$VP_G2_MAC=$VP_G2_IP"
	vp_check "leases agree again: apply exits 0" vp_quiet vp_cli apply
	vp_check_eq "leases agree again: 2222 reaches guest1" "$(vp_tcp_get "$C" "$HA" 2222)" guest1
	rm -f "$VP_ROOT/run/libvirt/qemu/guest1.xml" "$VP_ROOT/run/libvirt/qemu/guest2.xml"
	vp_hook_ok guest1 stopped end
	vp_hook_ok guest2 stopped end
	installed_stays
}
