# SPDX-License-Identifier: GPL-2.0-or-later
# restart [4]: libvirtd restarts under running guests (g1, g2): it runs the hook's reconnect for
# each, the forwards keep working, and no rule of ours is duplicated or moved.

run() {
	local before after first t0
	pair_up
	vp_ok $? "[4] g1 and g2 are up and their forwards answer ($FORWARDS)"
	before=$(vp_our_rules)
	[ -n "$before" ]
	vp_ok $? "[4] our rules are installed before the restart" \
		"($(printf '%s' "$before" | grep -c .) lines)"
	t0=$(vp_ms)
	vp_stop_libvirtd
	vp_in_host libvirtd -d && vp_wait_libvirtd
	vp_ok $? "[4] libvirtd restarted with g1 and g2 running ($(($(vp_ms) - t0)) ms)"
	wait_reconnect g1 && wait_reconnect g2
	vp_ok $? "[4] libvirtd ran the hook's reconnect for g1 and g2"
	forwards_work again
	vp_ok $? "[4] forwards still work after the restart ($FORWARDS)"
	after=$(vp_our_rules)
	[ "$before" = "$after" ]
	vp_ok $? "[4] our rules are unchanged, none duplicated"
	diff_notes "$before" "$after"
	first=$(vp_forward_head)
	vp_forward_ours_first && vp_forward_ours_first 6
	vp_ok $? "[4] our forward accept/jump is present once and first, IPv4 and IPv6" \
		"(first IPv4 rule: ${first:-none})"
	guests_gone g1 g2
}
