# SPDX-License-Identifier: GPL-2.0-or-later
# doctor-healthy: with guest1 and guest2 started on a healthy host, `virt-portfwd doctor` exits
# 0 and every check passes; its text names the guest's NIC, network and address and where the
# address comes from, and says our accept is above libvirt's reject; --json is valid JSON and
# reports each check.
# kinds: nft legacy nftables

. "$VP_LIB/doctor.sh"

setup() {
	vp_doctor_setup
}

# The position check's text on a healthy host of this kind.
pos_ok() {
	if [ "$VP_KIND" = nftables ]; then
		echo "our accept (rule 4 of 7 in ip libvirt_network forward) is above libvirt's reject" \
			"(its jump to guest_input is rule 6)"
	else
		echo "our accept (rule 1 of 4 in FORWARD) is above libvirt's reject" \
			"(its jump to LIBVIRT_FWI is rule 3)"
	fi
}

run() {
	local out=$VP_DOCTOR_OUT c
	vp_hook_ok guest1 started
	vp_hook_ok guest2 started
	vp_write_status guest1
	vp_write_status guest2
	vp_check_eq "started: 2222 reaches guest1" \
		"$(vp_tcp_get "$VP_CLIENT" "$VP_HOST_ADDR" 2222)" guest1
	vp_doctor
	vp_check_eq "healthy: exit 0" "$VP_DOCTOR_RC" 0
	vp_check "healthy: text names the guest, its NIC and network" grep -qF \
		"ok    guest1 tcp 2222: NIC $VP_G1_MAC on network default (nat, bridge virbr0)" "$out"
	vp_check "healthy: text names the address and where it comes from" grep -q \
		"ok    guest1 tcp 2222: $VP_G1_IP, from its DHCP lease on virbr0 (expires in" "$out"
	vp_check "healthy: text says our accept is above libvirt's reject" grep -qF "$(pos_ok)" "$out"
	vp_check_eq "healthy: the last line counts no failure" "$(tail -n 1 "$out")" "0 checks failed"
	vp_doctor_expect_healthy "healthy (JSON)"
	if command -v python3 >/dev/null 2>&1; then
		vp_check "healthy: --json is valid JSON" vp_quiet python3 -m json.tool "$out"
	fi
	for c in table guest.forwards guest.running guest.nic guest.address guest.lease \
		host.ip_forward host.ipv6_forwarding host.br_netfilter host.backend rules.dnat \
		rules.output_dnat rules.hairpin rules.accept rules.position rules.other_tables \
		rules.shadow traffic; do
		vp_check "healthy: check $c is reported" grep -qF "{\"check\":\"$c\"," "$out"
	done
	vp_doctor_stop
}
