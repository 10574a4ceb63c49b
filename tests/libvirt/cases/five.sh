# SPDX-License-Identifier: GPL-2.0-or-later
# five [7]: five guests started at once (g3-g7): every start succeeds with the hook's share of it
# small, and every forward works. g3-g5 have static DHCP hosts, g6 and g7 dynamic leases: their
# forwards come from lease waiters, and only theirs.

run() {
	local n t0 miss="" waited
	for n in 3 4 5 6 7; do vp_define_guest "$n"; done
	t0=$(vp_ms)
	for n in 3 4 5 6 7; do
		(ms=$(vp_start_guest "g$n"); echo "$? $ms" >"$VP_RUN/start-g$n") &
	done
	wait
	five_starts
	waited=$(vp_hook_log | grep -oE ' g[3-7]: waiting up to' | awk '{ print $1 }' | tr -d ':' |
		sort -u | tr '\n' ' ')
	[ "$waited" = "g6 g7 " ]
	vp_ok $? "[7] the hook left lease waiters for g6 and g7 (dynamic) and for no other" \
		"(waited: ${waited:-none})"
	# A liveness wait: five guests boot at once under TCG.
	for n in 3 4 5 6 7; do
		vp_wait_http "$VP_CNS" "$HOST" "223$n" "g$n" $((120 - ($(vp_ms) - t0) / 1000)) ||
			miss+=" g$n"
	done
	[ -z "$miss" ]
	vp_ok $? "[7] all five reachable through their forwards, g6 and g7 by dynamic lease" \
		"($(($(vp_ms) - t0)) ms)${miss:+; unreachable:$miss}"
	vp_destroy_all
	ruleset_is_initial && vp_no_waiter "" 2
	vp_ok $? "[7] after destroying the five, the ruleset is the initial one again," \
		"no waiter left"
	guests_gone g3 g4 g5 g6 g7
}

# The five starts (rc and ms in $VP_RUN/start-gN): each succeeded, and the hook's own share of
# it, from libvirtd's log, is at most a quarter: a slow machine is not judged.
five_starts() {
	local n line rc ms max=0 hmax=0 bad="" d
	for n in 3 4 5 6 7; do
		line=$(cat "$VP_RUN/start-g$n" 2>/dev/null)
		rc=${line%% *}
		ms=${line##* }
		{ [ "${rc:-1}" = 0 ] && hook_share_small "g$n" "${ms:-0}"; } ||
			bad+=" g$n(rc=${rc:-?}, $SHARE)"
		[ "${ms:-0}" -gt "$max" ] && max=$ms
		ms=$(vp_hook_ms "g$n" started) && [ "$ms" -gt "$hmax" ] && hmax=$ms
	done
	d="slowest start $max ms, hook 'started' at most $hmax ms${bad:+; failed:$bad}"
	[ -z "$bad" ]
	vp_ok $? "[7] five concurrent virsh start all succeed," \
		"the hook's share of each at most a quarter ($d)"
}
