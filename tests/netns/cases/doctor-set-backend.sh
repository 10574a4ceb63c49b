# SPDX-License-Identifier: GPL-2.0-or-later
# doctor-set-backend: the table forces the other iptables variant (set backend), and apply
# installs our rules there: host.backend fails, its fix is to remove `set backend`, and
# rules.other_tables fails naming `virt-portfwd flush`; with the line removed, flush and apply
# bring the rules back to libvirt's backend.
# kinds: nft legacy nftables

. "$VP_LIB/doctor.sh"

setup() {
	vp_doctor_setup
	vp_doctor_other_tables_exist
}

run() {
	local out=$VP_DOCTOR_OUT other=iptables-$VP_DOCTOR_OTHER
	vp_doctor_start_healthy
	{ echo "set backend $other"; vp_doctor_table; } | vp_write_table
	vp_check "set backend $other: apply" vp_cli apply
	vp_doctor --json
	vp_check_eq "set backend $other: the doctor exits 1" "$VP_DOCTOR_RC" 1
	vp_check "set backend $other: host.backend fails" \
		grep -q '^{"check":"host.backend",.*"ok":false' "$out"
	# shellcheck disable=SC2016 # the backquotes are the doctor's, not the shell's
	vp_check "set backend $other: the fix is to remove set backend" \
		grep -q 'fix":"remove `set backend` from the table' "$out"
	vp_check "set backend $other: rules.other_tables fails" \
		grep -q '^{"check":"rules.other_tables",.*"ok":false.*virt-portfwd flush' "$out"
	vp_doctor_table | vp_write_table
	vp_check "set backend removed: flush" vp_cli flush
	vp_check "set backend removed: apply" vp_cli apply
	vp_doctor_expect_healthy "back on libvirt's backend"
	vp_doctor_stop
	vp_doctor_check_other_clean
}
