# SPDX-License-Identifier: GPL-2.0-or-later
# no-forwards [8]: a guest with no forwards (g8, absent from the table) gets no rule, and the
# hook returns at once for it, under libvirtd and by hand. This guest also carries the
# self-check [env], which proves the environment (guest, bridge, libvirt's REJECT, the client's
# path) with hand-made rules, independently of the hook.

run() {
	local ms t0 out rc base
	vp_define_guest 8
	ms=$(vp_start_guest g8)
	vp_ok $? "[8] virsh start g8 (a guest without forwards) succeeds"
	hook_share_small g8 "$ms"
	vp_ok $? "[8] virsh start g8: the hook's share is small ($SHARE)"
	hook_was_called g8 started
	vp_ok $? "[8] libvirtd ran the installed hook for g8 (started)"
	# The hook's 'started' against its own 'prepare' of the same start: no wall-clock bound.
	base=$(vp_hook_ms g8 prepare)
	ms=$(vp_hook_ms g8 started)
	[ -n "$ms" ] && [ -n "$base" ] && [ "$ms" -le $((10 * (base > 0 ? base : 1))) ]
	vp_ok $? "[8] the hook returned at once for g8: started ${ms:-?} ms in libvirtd's log," \
		"at most 10x its prepare (${base:-?} ms)"
	ruleset_is_initial
	vp_ok $? "[8] no rule added for g8"
	t0=$(vp_ms)
	vp_run_hook g8 prepare >/dev/null
	base=$(($(vp_ms) - t0))
	t0=$(vp_ms)
	out=$(vp_run_hook g8 started)
	rc=$?
	ms=$(($(vp_ms) - t0))
	[ $rc -eq 0 ] && [ -z "$out" ] && [ $ms -le $((10 * (base > 0 ? base : 1))) ]
	vp_ok $? "[8] hook 'g8 started' by hand: exit $rc, ${#out} bytes on stdout, $ms ms" \
		"(at most 10x prepare by hand, $base ms)"
	ruleset_is_initial
	vp_ok $? "[8] still no rule after the manual run"

	t0=$(vp_ms)
	vp_wait_ready g8
	vp_ok $? "[env] g8 booted and has its lease" \
		"($(($(vp_ms) - t0)) ms after virsh start returned)"
	vp_selfcheck g8 "$(vp_gip 8)"
	vp_ok $? "[env] self-check: DNAT alone is refused," \
		"hand-made DNAT + FORWARD accept reaches g8"
	ruleset_is_initial
	vp_ok $? "[env] self-check rules removed"
	guests_gone g8
}
