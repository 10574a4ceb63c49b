# SPDX-License-Identifier: GPL-2.0-or-later
# doctor: `virt-portfwd doctor` against the real libvirtd with g1 and g2 running: healthy, then
# two breakages libvirt itself is part of, each failing exactly its check and naming the fix,
# and healthy again after the fix. The namespace suite covers every breakage.

run() {
	local out
	pair_up
	vp_ok $? "[doctor] g1 and g2 are up and their forwards answer ($FORWARDS)"
	vp_doctor_healthy "[doctor] g1 and g2 running, IPv4 and IPv6 forwards"
	[ "$(vp_doctor_field guest.lease "g1 tcp [::]:2222" ok)" = true ] &&
		[ "$(vp_doctor_field guest.address "g2 tcp [::]:2322" ok)" = true ] &&
		[ "$(vp_doctor_field host.ipv6_forwarding host ok)" = true ] &&
		[ "$(vp_doctor_subjects rules.position true | grep -c IPv)" = 2 ]
	vp_ok $? "[doctor] it looked at both families: g1's IPv6 lease, g2's IPv6 address" \
		"($(vp_doctor_field guest.address "g2 tcp [::]:2322" detail)), IPv6 forwarding," \
		"our accept's position in IPv4 and IPv6"
	vp_doctor
	out=$(tail -n 1 "$VP_RUN/doctor.out")
	[ "$VP_DOCTOR_RC" = 0 ] && [ "$out" = "0 checks failed" ]
	vp_ok $? "[doctor] the text form exits 0 too, last line '$out'"
	doctor_position
	doctor_lease
	guests_gone g1 g2
}

# (a) libvirt's jumps above ours, in both families (what a network reload does without our
# network hook): rules.position fails for each, a refused connection then shows in the traffic
# check, and `virt-portfwd apply` repairs both.
doctor_position() {
	local subj fix="virt-portfwd apply"
	vp_libvirt_rejump 4 && vp_libvirt_rejump 6 &&
		! vp_forward_ours_first 4 && ! vp_forward_ours_first 6
	vp_ok $? "[doctor] libvirt's jumps moved above ours in IPv4 and IPv6" \
		"(first IPv4 rule now: $(vp_forward_head))"
	vp_doctor_expect "[doctor] libvirt's jumps above ours" rules.position "$fix"
	subj=$(vp_doctor_subjects rules.position false | tr '\n' ';')
	[[ "$subj" == *IPv4* && "$subj" == *IPv6* ]]
	vp_ok $? "[doctor] rules.position fails for IPv4 and for IPv6 ($subj)"
	vp_tcp_closed "$VP_CNS" "$HOST" 2222
	vp_ok $? "[doctor] client -> host:2222 is refused now, by libvirt's reject"
	vp_doctor_expect "[doctor] the refused connection" "rules.position traffic" "$fix"
	vp_doctor_field traffic "g1 tcp 2222" detail |
		grep -qF "the DNAT took 1 new connection but our accept saw none of their packets"
	vp_ok $? "[doctor] traffic: $(vp_doctor_field traffic "g1 tcp 2222" detail)"
	# ... and libvirt's reject counted it (nftables: `oif "virbr0" counter reject` in
	# guest_input).
	vp_doctor_field traffic "g1 tcp 2222" detail |
		grep -qE "libvirt's reject on virbr0 [1-9][0-9]* packet"
	vp_ok $? "[doctor] traffic: the detail names libvirt's reject on virbr0 and its count"
	vp_in_host /usr/local/sbin/virt-portfwd apply >/dev/null 2>>"$VP_RUN/hook-manual.log" &&
		vp_forward_ours_first 4 && vp_forward_ours_first 6
	vp_ok $? "[doctor] the fix, virt-portfwd apply, puts our accepts back on top"
	vp_doctor_healthy "[doctor] after apply"
	forwards_work
	vp_ok $? "[doctor] every forward works again ($FORWARDS)"
}

# (b) g1's IPv6 address changes in the table (ip=) without an apply: guest.lease fails for that
# forward alone; apply follows it; the table put back and applied again, g1 answers over IPv6.
doctor_lease() {
	local old new uuid subj="g1 tcp [::]:2222"
	old=$(vp_gip6 1)
	new=$VP_NET6_PREFIX::99
	uuid=$(vp_virsh domuuid g1)
	sed -i "s/^\(g1  tcp  \[::\]:2222 .*ip=\)$old\$/\1$new/" "$TABLE"
	grep -qF "ip=$new" "$TABLE"
	vp_ok $? "[doctor] table edited: g1's [::]:2222 now says ip=$new, not applied"
	vp_doctor_expect "[doctor] g1's address changed" guest.lease "virt-portfwd apply"
	[ "$(vp_doctor_subjects guest.lease false)" = "$subj" ] &&
		vp_doctor_field guest.lease "$subj" detail |
		grep -qF "is now $new (ip=) but our rules still send to $old"
	vp_ok $? "[doctor] guest.lease: $(vp_doctor_field guest.lease "$subj" detail)"
	vp_in_host /usr/local/sbin/virt-portfwd apply >/dev/null 2>>"$VP_RUN/hook-manual.log" &&
		rules_of "$uuid" | grep -F -- "$new" >/dev/null
	vp_ok $? "[doctor] the fix, virt-portfwd apply, points g1's IPv6 forward at $new"
	vp_doctor_healthy "[doctor] after apply"
	table_restore
	vp_in_host /usr/local/sbin/virt-portfwd apply >/dev/null 2>>"$VP_RUN/hook-manual.log" &&
		! rules_of "$uuid" | grep -qF -- "$new" && forwards_work
	vp_ok $? "[doctor] table put back and applied: no rule sends to $new," \
		"every forward works ($FORWARDS)"
	vp_doctor_healthy "[doctor] at the end"
}
