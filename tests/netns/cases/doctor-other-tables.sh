# SPDX-License-Identifier: GPL-2.0-or-later
# doctor-other-tables: our rules also in the other iptables variant's tables (an old libiptc
# build on an iptables-nft host, or the reverse; on an nftables host, iptables-nft), where they
# do nothing, fail rules.other_tables; the command its fix gives removes them.
# kinds: nft legacy nftables

. "$VP_LIB/doctor.sh"

setup() {
	vp_doctor_setup
	vp_doctor_other_tables_exist
}

# Copy our IPv4 rules into the other variant's tables.
ours_elsewhere() {
	if [ "$VP_KIND" = nftables ]; then
		vp_h iptables-nft -w -N VIRT_PORTFWD_FWD &&
			vp_h iptables-nft -w -I FORWARD -m comment --comment virt-portfwd \
				-j VIRT_PORTFWD_FWD
		return
	fi
	vp_doctor_save "$IPT_SAVE" | grep -E '^(\*|:VIRT_PORTFWD|COMMIT)|virt-portfwd' |
		vp_h "iptables-$VP_DOCTOR_OTHER-restore"
}

run() {
	local other=iptables-$VP_DOCTOR_OTHER
	vp_doctor_start_healthy
	vp_check "our rules copied into $other" ours_elsewhere
	vp_doctor_expect_fail "rules in $other" "rules.other_tables" \
		"$other-save | grep -v -e virt-portfwd -e VIRT_PORTFWD | $other-restore"
	vp_doctor_save "$other-save" | grep -v -e virt-portfwd -e VIRT_PORTFWD | vp_h "$other-restore"
	vp_doctor_expect_healthy "the doctor's command removed them"
	vp_doctor_stop
	vp_doctor_check_other_clean
}
