# SPDX-License-Identifier: GPL-2.0-or-later
# doctor-position: libvirt's jumps moved above ours (as a libvirt network reload does) fail
# rules.position, its detail giving the positions; a connection then is refused, and the
# traffic check sees the DNAT take it while our accept saw nothing; apply repairs it, and the
# next check counts the connection through our accept.
# kinds: nft legacy nftables

. "$VP_LIB/doctor.sh"

setup() {
	vp_doctor_setup
}

# What a libvirt network reload does: its jumps re-inserted at the top, above ours.
libvirt_rejump() {
	local c
	if [ "$VP_KIND" = nftables ]; then
		vp_libvirt_nft_rejump ip
		return
	fi
	for c in LIBVIRT_FWO LIBVIRT_FWI LIBVIRT_FWX; do
		vp_h "$IPT" -w -D FORWARD -j "$c" || return 1
		vp_h "$IPT" -w -I FORWARD 1 -j "$c" || return 1
	done
}

# The position check's text after libvirt_rejump.
pos_bad() {
	if [ "$VP_KIND" = nftables ]; then
		echo "our accept is below libvirt's reject in ip libvirt_network forward" \
			"(ours is rule 7 of 7, the jump to guest_input rule 2)"
	else
		echo "our accept is below libvirt's reject in FORWARD" \
			"(ours is rule 4 of 4, the jump to LIBVIRT_FWI rule 2)"
	fi
}

run() {
	local out=$VP_DOCTOR_OUT C=$VP_CLIENT HA=$VP_HOST_ADDR
	vp_doctor_start_healthy
	vp_check "libvirt's jumps moved above ours" libvirt_rejump
	vp_doctor_expect_fail "libvirt's jumps above ours" "rules.position" "virt-portfwd apply"
	vp_check "libvirt's jumps above ours: the detail gives the positions" \
		grep -qF "$(pos_bad)" "$out"
	vp_check_eq "libvirt's jumps above ours: 2222 is refused" "$(vp_tcp_get "$C" "$HA" 2222)" ""
	vp_doctor_expect_fail "refused connection counted" "rules.position traffic" \
		"virt-portfwd apply"
	vp_check "refused connection counted: the DNAT took it, the accept saw nothing" \
		grep -qF "the DNAT took 1 new connection but our accept saw none of their packets; \
libvirt's reject on virbr0 1 packet" "$out"
	vp_check "traffic: apply repairs it" vp_cli apply
	vp_check_eq "after apply: 2222 reaches guest1" "$(vp_tcp_get "$C" "$HA" 2222)" guest1
	vp_doctor_expect_healthy "jumps restored"
	vp_check "traffic since the last check: the accept counted the connection" \
		grep -q '"detail":"since the last check, [0-9]* s ago: DNAT 1 new connection, '\
'from the host itself 0, accept [1-9][0-9]* packets' "$out"
	vp_doctor_stop
}
