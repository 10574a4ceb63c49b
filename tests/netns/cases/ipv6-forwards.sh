# SPDX-License-Identifier: GPL-2.0-or-later
# ipv6-forwards: with the network's IPv6 subnet NAT'd (NAT66), guest1's started opens each IPv6
# forward to the client (TCP, UDP, a port range one to one, from=, one bound to a host address),
# to guest2 (hairpin, also through the bridge's address) and to the host itself, and not [::1];
# its IPv4 forward works alongside; its stopped closes them all and gives the ruleset back.
# kinds: nft legacy nftables

. "$VP_LIB/ipv6.sh"

setup() {
	vp_ipv6_setup nat
}

# The dual-stack world itself, before any forward: what the checks after it rely on.
check_world() {
	vp_check_eq "world: the host reaches [guest1]:22" \
		"$(vp_tcp6_get "$VP_HOST" "$VP6_G1_IP" 22)" "guest1 v6"
	vp_check_eq "world: guest2 reaches [guest1]:22 over the bridge" \
		"$(vp_tcp6_get "$VP_GUEST2" "$VP6_G1_IP" 22)" "guest1 v6"
	vp_check_eq "world: guest1's UDP6 listener answers the host" \
		"$(vp_udp6_get "$VP_HOST" "$VP6_G1_IP" 27015)" "guest1 v6"
	vp_check_eq "world (NAT66): client -> [guest1]:22 routed straight is refused" \
		"$(vp_tcp6_get "$VP_CLIENT" "$VP6_G1_IP" 22; vp_tcp_error)" refused
}

run() {
	check_world
	vp_check_eq "before started: [$VP6_HOST_ADDR]:2222 closed" \
		"$(vp_tcp6_get "$VP_CLIENT" "$VP6_HOST_ADDR" 2222)" ""
	vp_hook_ok guest1 started
	vp_ipv6_check_forwards NAT66
	vp_ipv6_check_stop NAT66
}
