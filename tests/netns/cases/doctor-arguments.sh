# SPDX-License-Identifier: GPL-2.0-or-later
# doctor-arguments: a guest the table does not know fails guest.forwards and guest.running
# (exit 1); a port out of range and an unknown option are usage errors (exit 2).
# kinds: nft legacy nftables

. "$VP_LIB/doctor.sh"

setup() {
	vp_doctor_setup
}

run() {
	vp_doctor_start
	vp_doctor --json nosuch
	vp_check_eq "unknown guest: exit 1" "$VP_DOCTOR_RC" 1
	vp_check_eq "unknown guest: no forwards, not running" "$(vp_doctor_failed)" \
		"guest.forwards guest.running"
	vp_doctor guest1 70000
	vp_check_eq "a port out of range: usage error, exit 2" "$VP_DOCTOR_RC" 2
	vp_doctor --frobnicate
	vp_check_eq "an unknown option: usage error, exit 2" "$VP_DOCTOR_RC" 2
	vp_doctor_stop
}
