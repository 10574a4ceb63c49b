# SPDX-License-Identifier: GPL-2.0-or-later
# hairpin [3] [v6]: with g1 and g2 up, g2 reaches g1 through the host's address (hairpin), the
# host itself reaches g1, and the client reaches g2 (over IPv6 at the address of its DHCPv6
# reservation), in both families.

run() {
	local r
	guests_up 1 2
	vp_ok $? "[3] g1 and g2 booted and have their leases"
	r=$(vp_http "$VP_HNS" "$(vp_gip 2)" 22 "/cgi-bin/probe?$HOST:2222")
	[ "$r" = "probe-result g1" ]
	vp_ok $? "[3] g2 -> host:2222 reaches g1 (hairpin; g2 says '$r')"
	r=$(vp_http "$VP_HNS" "$HOST" 2222)
	[ "$r" = g1 ]
	vp_ok $? "[3] the host itself -> $HOST:2222 reaches g1 ('$r')"
	r=$(vp_http "$VP_CNS" "$HOST" 2322)
	[ "$r" = g2 ]
	vp_ok $? "[3] client -> host:2322 reaches g2 ('$r')"
	r=$(vp_http "$VP_HNS" "$(vp_gip 2)" 22 "/cgi-bin/probe?$HOST6:2222")
	[ "$r" = "probe-result g1" ]
	vp_ok $? "[v6] g2 -> [$HOST6]:2222 reaches g1 (IPv6 hairpin; g2 says '$r')"
	r=$(vp_http "$VP_HNS" "$HOST6" 2222)
	[ "$r" = g1 ]
	vp_ok $? "[v6] the host itself -> [$HOST6]:2222 reaches g1 ('$r')"
	r=$(vp_http "$VP_CNS" "$HOST6" 2322)
	[ "$r" = g2 ]
	vp_ok $? "[v6] client -> [$HOST6]:2322 reaches g2," \
		"its address from its DHCPv6 reservation ('$r')"
	guests_gone g1 g2
}
