# SPDX-License-Identifier: GPL-2.0-or-later
# doctor-stopped-unseen: guest2 stopped while its rules stayed (libvirtd was down when it
# stopped: no status file, its rules still there) fails guest.running, naming `virt-portfwd
# apply`; running again, every check passes.
# kinds: nft legacy nftables

. "$VP_LIB/doctor.sh"

setup() {
	vp_doctor_setup
}

run() {
	vp_doctor_start_healthy
	rm "$VP_ROOT/run/libvirt/qemu/guest2.xml"
	vp_doctor_expect_fail "guest2 stopped unseen" "guest.running" "virt-portfwd apply"
	vp_write_status guest2
	vp_doctor_expect_healthy "guest2 running again"
	vp_doctor_stop
}
