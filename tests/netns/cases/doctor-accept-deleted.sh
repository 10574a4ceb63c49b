# SPDX-License-Identifier: GPL-2.0-or-later
# doctor-accept-deleted: with our accept of guest1's 2222 deleted, the doctor exits 1 and fails
# rules.accept alone, in JSON and in text (a FAIL line, then the fix: `virt-portfwd apply`);
# apply repairs it.
# kinds: nft legacy nftables

. "$VP_LIB/doctor.sh"

setup() {
	vp_doctor_setup
}

# Delete guest1's accept of 2222 (from ip libvirt_network forward, or VIRT_PORTFWD_FWD).
delete_accept() {
	local n
	if [ "$VP_KIND" = nftables ]; then
		n=$(vp_h nft -a list chain ip libvirt_network forward |
			sed -n 's/.*ct original proto-dst 2222 .* # handle \([0-9][0-9]*\)$/\1/p')
		vp_h nft delete rule ip libvirt_network forward handle "$n"
		return
	fi
	n=$(vp_h "$IPT" -w -S VIRT_PORTFWD_FWD | grep '^-A ' | grep -n -- "--ctorigdstport 2222 " |
		cut -d: -f1)
	vp_h "$IPT" -w -D VIRT_PORTFWD_FWD "$n"
}

run() {
	local out=$VP_DOCTOR_OUT where="filter VIRT_PORTFWD_FWD"
	[ "$VP_KIND" != nftables ] || where="ip libvirt_network forward"
	vp_doctor_start_healthy
	vp_check "our accept of 2222 deleted" delete_accept
	vp_doctor_expect_fail "accept deleted" "rules.accept" "virt-portfwd apply"
	vp_doctor
	vp_check "accept deleted: text has a FAIL line" grep -qF "FAIL  guest1 tcp 2222: the accept \
of DNAT'd connections to $VP_G1_IP:22 out virbr0 is missing from $where" "$out"
	vp_check "accept deleted: the fix line follows" \
		grep -q "^      fix: run \`virt-portfwd apply\`" "$out"
	vp_check "accept deleted: apply repairs it" vp_cli apply
	vp_doctor_expect_healthy "accept restored"
	vp_doctor_stop
}
