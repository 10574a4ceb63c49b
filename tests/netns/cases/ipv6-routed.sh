# SPDX-License-Identifier: GPL-2.0-or-later
# ipv6-routed: with the network's IPv6 subnet routed (no NAT66), libvirt lets the client reach
# guest1 at its own address, and the forwards still work, from= included. Hairpin needs our
# masquerade just the same (guest1 would answer guest2 straight over the bridge, from an address
# guest2 never spoke to); hairpin=no keeps guest2 out and still lets the client in. guest1's
# stopped gives the ruleset back.
# kinds: nft legacy nftables

. "$VP_LIB/ipv6.sh"

setup() {
	vp_ipv6_setup route
}

run() {
	local C=$VP_CLIENT HA6=$VP6_HOST_ADDR
	vp_check_eq "routed: client -> [guest1]:22 straight is let in by libvirt" \
		"$(vp_tcp6_get "$C" "$VP6_G1_IP" 22)" "guest1 v6"
	vp_hook_ok guest1 started
	vp_check_eq "routed: [::]:2222 -> [guest1]:22 from the client" \
		"$(vp_tcp6_get "$C" "$HA6" 2222)" "guest1 v6"
	vp_check_eq "routed: hairpin: guest2 -> [$HA6]:2222 reaches guest1" \
		"$(vp_tcp6_get "$VP_GUEST2" "$HA6" 2222)" "guest1 v6"
	vp_check_eq "routed: from= still enforced" "$(vp_tcp6_get "$C" "$HA6" 2223)" ""
	# Alone in the table: the hairpin rule matches the guest side, 2223 and 2224 -> 22 share it.
	echo "guest1 tcp [::]:2222 22 hairpin=no" | vp_write_table
	vp_hook_ok guest1 started
	vp_check_eq "routed, hairpin=no: guest2 -> [$HA6]:2222 does not reach guest1" \
		"$(vp_tcp6_get "$VP_GUEST2" "$HA6" 2222)" ""
	vp_check_eq "routed, hairpin=no: the client still gets in" \
		"$(vp_tcp6_get "$C" "$HA6" 2222)" "guest1 v6"
	vp_ipv6_table | vp_write_table
	vp_ipv6_check_stop routed
}
