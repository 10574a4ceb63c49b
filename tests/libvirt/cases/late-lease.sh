# SPDX-License-Identifier: GPL-2.0-or-later
# late-lease [9]: late leases (issue 3). A guest with a dynamic lease (g-late) has no address at
# 'started': the hook returns at once and leaves a detached waiter, which installs the forwards
# when dnsmasq writes the lease (inotify on /var/lib/libvirt/dnsmasq/), then exits. A guest
# destroyed before its lease arrives (g-early): 'stopped' stops its waiter, no rule ever appears.
# Runs with no other guest up, so "no rule" is checked against the whole initial ruleset.

run() {
	late_lease_arrives
	late_lease_never
}

late_lease_arrives() {
	local ms rc t0 uuid w ip
	vp_define_guest 21 g-late
	uuid=$(vp_virsh domuuid g-late)
	t0=$(vp_ms)
	ms=$(vp_start_guest g-late)
	rc=$?
	[ $rc -eq 0 ] && hook_share_small g-late "$ms"
	vp_ok $? "[9] virsh start g-late (dynamic lease, no static host) succeeds," \
		"the hook's share is small (rc $rc, $SHARE)"
	w=$(vp_waiters "$uuid")
	! has_lease 21 && ruleset_is_initial && [ -n "$w" ] &&
		vp_hook_log | grep -F "g-late: waiting up to" >/dev/null
	vp_ok $? "[9] right after the start: no lease, no rule for g-late yet," \
		"the hook logged 'waiting up to', waiter pid ${w:-none}"
	# A liveness wait: g-late boots and asks for its lease meanwhile.
	vp_wait_http "$VP_CNS" "$HOST" 2241 g-late $((120 - ($(vp_ms) - t0) / 1000))
	vp_ok $? "[9] client -> host:2241 reaches g-late once its lease appears" \
		"($(($(vp_ms) - t0)) ms after virsh start)"
	ip=$(console_ip g-late)
	[ "${ip##*.}" -ge 100 ] 2>/dev/null && rules_of "$uuid" | grep -F -- "$ip" >/dev/null &&
		vp_forward_ours_first
	vp_ok $? "[9] the forward points at the dynamic lease ${ip:-?} (range .100-.254)," \
		"accept above libvirt's"
	vp_no_waiter "$uuid" 5
	vp_ok $? "[9] the waiter exited after installing (left: $(vp_waiters "$uuid"))"
	vp_virsh destroy g-late >/dev/null
	vp_tcp_closed "$VP_CNS" "$HOST" 2241 && [ -z "$(rules_of "$uuid")" ] &&
		vp_no_waiter "" 2 && ruleset_is_initial
	vp_ok $? "[9] virsh destroy g-late: host:2241 closed, its rules gone," \
		"no waiter left ($(vp_waiters))"
	guests_gone g-late
}

# Destroyed before the lease arrives: 'stopped' must stop the waiter, or it would install rules
# for a guest that is gone (or, worse, for the next one to get that address).
late_lease_never() {
	local rc uuid w
	vp_define_guest 22 g-early
	uuid=$(vp_virsh domuuid g-early)
	vp_start_guest g-early >/dev/null
	w=$(vp_waiters "$uuid")
	vp_virsh destroy g-early >/dev/null
	rc=$?
	[ -n "$w" ] && [ $rc -eq 0 ]
	vp_ok $? "[9] g-early started without a lease (waiter ${w:-none}) and destroyed at once"
	vp_no_waiter "" 2 && ruleset_is_initial
	vp_ok $? "[9] no waiter left after destroying g-early, no rule added ($(vp_waiters))"
	sleep 3
	vp_no_waiter "" 0 && ruleset_is_initial
	vp_ok $? "[9] still no waiter and no rule 3 s later"
	guests_gone g-early
}
