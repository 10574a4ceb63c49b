# SPDX-License-Identifier: GPL-2.0-or-later
# doctor-lease-changed: guest1's lease changed while it ran: guest.lease fails, its detail
# naming both addresses and its fix `virt-portfwd apply`, which makes the rules follow the new
# lease; with the lease back and apply again, every check passes.
# kinds: nft legacy nftables

. "$VP_LIB/doctor.sh"

setup() {
	vp_doctor_setup
}

run() {
	local new=192.168.122.12
	vp_doctor_start_healthy
	vp_doctor_write_leases "$new"
	vp_doctor_expect_fail "lease changed" "guest.lease" "virt-portfwd apply"
	vp_check "lease changed: the detail names both addresses" grep -qF "the guest's address \
is now $new (lease) but our rules still send to $VP_G1_IP" "$VP_DOCTOR_OUT"
	vp_check "lease changed: apply follows it" vp_cli apply
	vp_doctor_expect_healthy "rules follow the new lease"
	vp_doctor_write_leases "$VP_G1_IP"
	vp_check "lease back: apply" vp_cli apply
	vp_doctor_expect_healthy "lease back"
	vp_doctor_stop
}
