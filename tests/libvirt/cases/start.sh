# SPDX-License-Identifier: GPL-2.0-or-later
# start [1] [2] [v6]: libvirtd runs the installed hook when g1 starts, and g1's forwards work
# from the client: TCP and UDP over IPv4, and over IPv6 (ip= in the table) as rules in the IPv6
# tables that send to g1's IPv6 address; a port without a forward stays closed in both families.

run() {
	local ms t0 udp=""
	vp_define_guest 1
	t0=$(vp_ms)
	ms=$(vp_start_guest g1)
	vp_ok $? "[2] virsh start g1 ($ms ms)"
	hook_was_called g1 started
	vp_ok $? "[1] libvirtd ran the installed hook for g1 (started)"
	# A liveness wait: g1 boots meanwhile.
	vp_wait_http "$VP_CNS" "$HOST" 2222 g1 120
	vp_ok $? "[2] client -> host:2222 reaches g1:22 ($(($(vp_ms) - t0)) ms after virsh start)"
	vp_note "timing: g1 console says ready: $(console_ready g1)"
	for _ in 1 2 3; do
		udp=$(vp_udp "$VP_CNS" "$HOST" 27015 ping)
		[ "$udp" = "g1 ping" ] && break
	done
	[ "$udp" = "g1 ping" ]
	vp_ok $? "[2] client -> host:27015/udp reaches g1's UDP listener (answer: '$udp')"
	vp_tcp_closed "$VP_CNS" "$HOST" 2223
	vp_ok $? "[2] a port without a forward (2223) stays closed"
	start_v6
	guests_gone g1
}

# [v6] g1's IPv6 forwards (ip= in the table) work from the client over IPv6, next to its IPv4
# ones, and are rules in the IPv6 tables that send to g1's IPv6 address.
start_v6() {
	local udp="" n
	vp_wait_http "$VP_CNS" "$HOST6" 2222 g1 30
	vp_ok $? "[v6] client -> [$HOST6]:2222 reaches g1:22 over IPv6 (ip=$(vp_gip6 1))"
	for _ in 1 2 3; do
		udp=$(vp_udp "$VP_CNS" "$HOST6" 27015 ping6)
		[ "$udp" = "g1 ping6" ] && break
	done
	[ "$udp" = "g1 ping6" ]
	vp_ok $? "[v6] client -> [$HOST6]:27015/udp reaches g1's UDP listener (answer: '$udp')"
	n=$(rules_of "$(vp_virsh domuuid g1)" | grep -cF -- "$(vp_gip6 1)")
	[ "$n" -gt 0 ] && vp_forward_ours_first 6 && [ "$(vp_http "$VP_CNS" "$HOST" 2222)" = g1 ]
	vp_ok $? "[v6] $n rules of g1 send to $(vp_gip6 1), our IPv6 accept is above libvirt's;" \
		"IPv4 2222 still reaches g1"
	vp_tcp_closed "$VP_CNS" "$HOST6" 2223
	vp_ok $? "[v6] a port without a forward ([$HOST6]:2223) stays closed"
}
