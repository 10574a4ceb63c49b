# SPDX-License-Identifier: GPL-2.0-or-later
# ipv6-no-address: guest2 has neither a DHCPv6 lease nor a static host: its IPv6 forward stays
# closed, the hook logs why, and `status` points a SLAAC guest to ip=; with ip= in the table the
# forward reaches it; its stopped gives the ruleset back.
# kinds: nft legacy nftables

. "$VP_LIB/ipv6.sh"

setup() {
	vp_ipv6_setup nat
}

run() {
	local snap=$VP_TMP/snap.stopped C=$VP_CLIENT HA6=$VP6_HOST_ADDR
	{ vp_ipv6_table; echo "guest2 tcp [::]:2225 22"; } | vp_write_table
	vp_hook_ok guest2 started
	vp_check_eq "no lease, no static host: [$HA6]:2225 closed" "$(vp_tcp6_get "$C" "$HA6" 2225)" ""
	vp_check_eq "no IPv6 address for guest2: logged" \
		"$(grep -c "address for guest2" "$VP_TMP/hook.stderr")" 1
	vp_write_status guest2
	vp_check_eq "no IPv6 address: status points a SLAAC guest to ip=" "$(vp_cli status |
		grep -c "tcp  \[::\]:2225 -> \[?\]:22 (no address yet on default; .*SLAAC.* ip=")" 1
	rm -f "$VP_ROOT/run/libvirt/qemu/guest2.xml"
	vp_hook_ok guest2 stopped end
	{ vp_ipv6_table; echo "guest2 tcp [::]:2225 22 ip=$VP6_G2_IP"; } | vp_write_table
	vp_hook_ok guest2 started
	vp_check_eq "ip= in the table: [$HA6]:2225 reaches guest2" \
		"$(vp_tcp6_get "$C" "$HA6" 2225)" "guest2 v6"
	vp_hook_ok guest2 stopped end
	vp_snapshot "$snap"
	vp_check_same_file "guest2 stopped: ruleset identical to before" "$VP_S0" "$snap"
}
