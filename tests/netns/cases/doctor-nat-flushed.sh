# SPDX-License-Identifier: GPL-2.0-or-later
# doctor-nat-flushed: our nat rules flushed (iptables: the whole nat table; nftables: our own
# table) fail rules.dnat, rules.hairpin and rules.output_dnat, naming `virt-portfwd apply`,
# which repairs them.
# kinds: nft legacy nftables

. "$VP_LIB/doctor.sh"

setup() {
	vp_doctor_setup
}

flush_nat() {
	if [ "$VP_KIND" = nftables ]; then
		vp_h nft flush table ip virt_portfwd
	else
		vp_h "$IPT" -w -t nat -F
	fi
}

run() {
	local libvirt_nat=$VP_TMP/libvirt-nat.save
	# On iptables the flush takes libvirt's masquerade along; what it was, to put it back.
	[ "$VP_KIND" = nftables ] || vp_h "$IPT_SAVE" -t nat >"$libvirt_nat"
	vp_doctor_start_healthy
	vp_check "nat flushed" flush_nat
	vp_doctor_expect_fail "nat flushed" "rules.dnat rules.hairpin rules.output_dnat" \
		"virt-portfwd apply"
	vp_check "nat flushed: apply repairs it" vp_cli apply
	vp_doctor_expect_healthy "nat restored"
	if [ "$VP_KIND" != nftables ]; then
		# libvirt's rules back after ours (a reload of the network would add them the same way).
		vp_check "libvirt's nat rules put back" vp_h "$IPT-restore" -w --noflush <"$libvirt_nat"
	fi
	vp_doctor_stop
}
