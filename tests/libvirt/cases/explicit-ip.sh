# SPDX-License-Identifier: GPL-2.0-or-later
# explicit-ip [11]: ip= (explicit address): the hook installs at 'started' without looking
# anything up. g-ip is reserved in dnsmasq by host name only, so libvirt's status XML has no MAC
# for it and its lease does not exist yet: only ip= can give the address at that moment.

run() {
	local ms rc uuid t0 r g=$VP_IP_GUEST a=$VP_IP_GUEST_ADDR
	vp_define_guest 23 "$g"
	uuid=$(vp_virsh domuuid "$g")
	t0=$(vp_ms)
	ms=$(vp_start_guest "$g")
	rc=$?
	[ $rc -eq 0 ] && hook_share_small "$g" "$ms"
	vp_ok $? "[11] virsh start $g (table: ip=$a) succeeds," \
		"the hook's share is small (rc $rc, $SHARE)"
	r=$(rules_of "$uuid" | grep -cF -- "$a")
	[ "$r" -gt 0 ] && [ -z "$(vp_waiters "$uuid")" ] && vp_forward_ours_first && ! has_lease 23
	vp_ok $? "[11] its rules for $a are in place right after the start," \
		"before it has a lease ($r lines, no waiter)"
	# A liveness wait: the guest boots meanwhile.
	vp_wait_http "$VP_CNS" "$HOST" 2250 "$g" 120
	vp_ok $? "[11] client -> host:2250 reaches $g" \
		"($(($(vp_ms) - t0)) ms; its lease: $(console_ip "$g"))"
	vp_virsh destroy "$g" >/dev/null
	vp_tcp_closed "$VP_CNS" "$HOST" 2250 && ruleset_is_initial
	vp_ok $? "[11] virsh destroy $g: host:2250 closed, the ruleset is the initial one"
	guests_gone "$g"
}
