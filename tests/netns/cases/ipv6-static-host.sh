# SPDX-License-Identifier: GPL-2.0-or-later
# ipv6-static-host: guest2 has no DHCPv6 lease; a static DHCPv6 host of the network with its
# DUID (id=) gives its IPv6 address, and its forward reaches it; its stopped gives the ruleset
# back. A host by name only is not used: dnsmasq gives it to whichever client sends that name.
# kinds: nft legacy nftables

. "$VP_LIB/ipv6.sh"

setup() {
	vp_ipv6_setup nat
	{ vp_ipv6_table; echo "guest2 tcp [::]:2225 22"; } | vp_write_table
}

run() {
	local h snap=$VP_TMP/snap.stopped
	h="id=0:3:0:1:52:54:0:0:0:b"
	vp_write_network -6 nat "$h=$VP6_G2_IP" || vp_die "cannot write the network XML"
	vp_hook_ok guest2 started
	vp_check_eq "static DHCPv6 host id=: [$VP6_HOST_ADDR]:2225 reaches guest2" \
		"$(vp_tcp6_get "$VP_CLIENT" "$VP6_HOST_ADDR" 2225)" "guest2 v6"
	vp_hook_ok guest2 stopped end
	vp_snapshot "$snap"
	vp_check_same_file "static DHCPv6 host id=: guest2 stopped: ruleset identical" \
		"$VP_S0" "$snap"
	vp_write_network -6 nat "name=guest2=$VP6_G2_IP" || vp_die "cannot write the network XML"
	vp_hook_ok guest2 started
	vp_check_eq "static DHCPv6 host by name only: not used, [$VP6_HOST_ADDR]:2225 closed" \
		"$(vp_tcp6_get "$VP_CLIENT" "$VP6_HOST_ADDR" 2225)" ""
	vp_hook_ok guest2 stopped end
}
