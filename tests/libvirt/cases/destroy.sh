# SPDX-License-Identifier: GPL-2.0-or-later
# destroy [6] [v6]: `virsh destroy` of g1 and g2 runs the hook's stopped and release, closes
# every forward of theirs (IPv4, IPv6, TCP, UDP), and leaves the ruleset byte-identical to the
# one before any guest started.

run() {
	local c=$VP_CNS p4 p6
	pair_up
	vp_ok $? "[6] g1 and g2 are up and their forwards answer ($FORWARDS)"
	vp_virsh destroy g1 >/dev/null && vp_virsh destroy g2 >/dev/null
	vp_ok $? "[6] virsh destroy g1 g2"
	hook_was_called g1 stopped && hook_was_called g1 release
	vp_ok $? "[6] libvirtd ran the hook for g1 (stopped, release)"
	# The UDP checks wait their 3 s for an echo that must not come: both at once, beside the
	# TCP ones.
	vp_udp "$c" "$HOST" 27015 gone >"$VP_RUN/udp-gone4" &
	p4=$!
	vp_udp "$c" "$HOST6" 27015 gone >"$VP_RUN/udp-gone6" &
	p6=$!
	vp_tcp_closed "$c" "$HOST" 2222 && vp_tcp_closed "$c" "$HOST" 2322 &&
		wait "$p4" && [ ! -s "$VP_RUN/udp-gone4" ]
	vp_ok $? "[6] host:2222, host:2322 and host:27015/udp are closed"
	wait "$p6"
	vp_tcp_closed "$c" "$HOST6" 2222 && vp_tcp_closed "$c" "$HOST6" 2322 &&
		[ ! -s "$VP_RUN/udp-gone6" ]
	vp_ok $? "[v6] [$HOST6]:2222, [$HOST6]:2322 and [$HOST6]:27015/udp are closed"
	rm -f "$VP_RUN/udp-gone4" "$VP_RUN/udp-gone6"
	ruleset_is_initial
	vp_ok $? "[6] the ruleset, IPv4 and IPv6, is identical to the one before the guests started"
	guests_gone g1 g2
}
