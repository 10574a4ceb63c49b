# SPDX-License-Identifier: GPL-2.0-or-later
# doctor-broken-table: a table that does not parse fails the check table, naming `virt-portfwd
# check`; repaired, every check passes.
# kinds: nft legacy nftables

. "$VP_LIB/doctor.sh"

setup() {
	vp_doctor_setup
}

run() {
	vp_doctor_start_healthy
	echo "guest1    tpc    2222        22" | vp_write_table
	vp_doctor_expect_fail "broken table" "table" "virt-portfwd check"
	vp_doctor_table | vp_write_table
	vp_doctor_expect_healthy "table repaired"
	vp_doctor_stop
}
