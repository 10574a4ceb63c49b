# SPDX-License-Identifier: GPL-2.0-or-later
# dual-stack: on a network with an IPv6 NAT subnet (<nat ipv6='yes'/>: libvirt rejects new
# connections to the guests as for IPv4), an IPv6 forward [::]:2222 -> guest1:22 (ip=) next to
# the IPv4 ones: both open to the client, the IPv6 one to the host itself, the door closed; on
# libvirt's nftables backend our rules' place in ip6. Its stopped removes everything. (The
# ipv6-* cases test IPv6 forwards in depth.)
# kinds: nft legacy nftables

. "$VP_LIB/basic.sh"

setup() {
	vp_world6
	vp_libvirt_rules6 nat || vp_die "cannot load libvirt's IPv6 rules"
	vp_write_network -6 nat
}

# libvirt's nftables backend: the accept atop ip6 libvirt_network forward, the NAT in our ip6
# table, and the output DNAT not for ::1.
shape_nftables() {
	local n
	vp_basic_accepts_on_top "IPv6" 1 ip6
	n=$(vp_nft_rules list table ip6 virt_portfwd | grep -c "comment \"$VP_BASIC_OWNER\"$")
	vp_check_eq "IPv6: prerouting, output and hairpin rules in ip6 virt_portfwd" "$n" 3
	vp_check_eq "IPv6: output skips ::1" \
		"$(vp_nft_rules list chain ip6 virt_portfwd output | grep -c '^ip6 daddr != ::1 ')" 1
}

run() {
	local C=$VP_CLIENT HA6=$VP6_HOST_ADDR
	{ vp_full_table; echo "guest1 tcp [::]:2222 22 ip=$VP6_G1_IP"; } | vp_write_table
	vp_check_eq "IPv6, before started: [$HA6]:2222 closed" "$(vp_tcp6_get "$C" "$HA6" 2222)" ""
	vp_hook_ok guest1 started
	vp_check_eq "IPv6: tcp [::]:2222 -> [$VP6_G1_IP]:22 from the client" \
		"$(vp_tcp6_get "$C" "$HA6" 2222)" "guest1 v6"
	vp_check_eq "IPv6: IPv4 2222 still reaches guest1" \
		"$(vp_tcp_get "$C" "$VP_HOST_ADDR" 2222)" guest1
	vp_check_eq "IPv6 host-local: the host -> [$HA6]:2222 reaches guest1" \
		"$(vp_tcp6_get "$VP_HOST" "$HA6" 2222)" "guest1 v6"
	vp_check_eq "IPv6 door: client -> [$VP6_G1_IP]:22 routed straight is refused" \
		"$(vp_tcp6_get "$C" "$VP6_G1_IP" 22; vp_tcp_error)" refused
	[ "$VP_KIND" != nftables ] || shape_nftables
	vp_hook_ok guest1 stopped end
	vp_check_eq "IPv6, stopped: [$HA6]:2222 closed" "$(vp_tcp6_get "$C" "$HA6" 2222)" ""
	vp_basic_same "IPv6, stopped: ruleset identical to before started"
}
