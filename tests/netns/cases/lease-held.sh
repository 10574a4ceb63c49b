# SPDX-License-Identifier: GPL-2.0-or-later
# lease-held: guest1's only lease names an address that is another's: guest2's static DHCP host,
# guest2's own lease, or ip= of a guest2 forward in the table (a guest claiming guest1's MAC in
# DHCP while guest1 holds no lease of its own). started installs nothing for guest1, logs whose
# the address is, and the doctor says so; with guest1's own address leased, the forward works.
# kinds: nft legacy nftables

# shellcheck source=../lib/doctor.sh
. "$VP_LIB/doctor.sh"

# WHAT: guest1 is refused the leased address, and the log and the doctor name the holder BY.
refused() {  # WHAT BY
	local mark
	mark=$(vp_log_mark)
	vp_hook_ok guest1 started
	vp_check_eq "$1: no rule of guest1" "$(vp_rules_owned "$VP_G1_UUID")" ""
	vp_check_eq "$1: 2222 reaches no guest" "$(vp_tcp_get "$VP_CLIENT" "$VP_HOST_ADDR" 2222)" ""
	vp_check "$1: the log names whose the address is" \
		grep -qF "a DHCP lease for $VP_G2_IP, held by $2" <(vp_log_since "$mark")
	vp_write_status guest1
	vp_doctor_expect_fail "$1, doctor" "guest.address" "give this one a static DHCP host" guest1
	rm -f "$VP_ROOT/run/libvirt/qemu/guest1.xml"
	vp_hook_ok guest1 stopped end
}

run() {
	echo "guest1 tcp 2222 22" | vp_write_table
	vp_write_network "$VP_G2_MAC=$VP_G2_IP"
	vp_write_leases "$VP_G1_MAC=$VP_G2_IP"
	refused "a static host of guest2's address" "the static DHCP host of MAC $VP_G2_MAC"
	vp_write_network
	vp_write_leases "$VP_G1_MAC=$VP_G2_IP" "$VP_G2_MAC=$VP_G2_IP"
	refused "guest2's own lease" "the lease of MAC $VP_G2_MAC"
	printf 'guest1 tcp 2222 22\nguest2 tcp 2322 22 ip=%s\n' "$VP_G2_IP" | vp_write_table
	vp_write_leases "$VP_G1_MAC=$VP_G2_IP"
	refused "ip= of guest2" "ip= of guest guest2"
	vp_write_leases "$VP_G1_MAC=$VP_G1_IP" "$VP_G2_MAC=$VP_G2_IP"
	vp_hook_ok guest1 started
	vp_check_eq "guest1's own lease: 2222 reaches guest1" \
		"$(vp_tcp_get "$VP_CLIENT" "$VP_HOST_ADDR" 2222)" guest1
	vp_hook_ok guest1 stopped end
}
