# SPDX-License-Identifier: GPL-2.0-or-later
# resolution: a guest without a lease gets its address from the other two sources, a static
# DHCP host in the network's status XML, then the table's ip= option; the status XML without a
# <firewall> element (libvirt before 10.4) still finds libvirt's nftables backend by its table.
# kinds: nft legacy nftables

. "$VP_LIB/basic.sh"

# guest2_table [OPTION]: the full table and guest2's forward 2224 -> 22.
guest2_table() {
	{ vp_full_table; echo "guest2 tcp 2224 22 $*"; } | vp_write_table
}

run() {
	local n
	vp_write_leases "$VP_G1_MAC=$VP_G1_IP"
	vp_write_network "$VP_G2_MAC=$VP_G2_IP"
	guest2_table
	vp_hook_ok guest2 started
	vp_check_eq "static <host> in the network XML: 2224 reaches guest2" \
		"$(vp_tcp_get "$VP_CLIENT" "$VP_HOST_ADDR" 2224)" guest2
	vp_hook_ok guest2 stopped end
	vp_write_network --firewall none
	guest2_table "ip=$VP_G2_IP"
	vp_hook_ok guest2 started
	vp_check_eq "ip= in the table: 2224 reaches guest2" \
		"$(vp_tcp_get "$VP_CLIENT" "$VP_HOST_ADDR" 2224)" guest2
	if [ "$VP_KIND" = nftables ]; then
		n=$(vp_nft_rules list chain ip libvirt_network forward |
			grep -c "virt-portfwd:$VP_G2_UUID")
		vp_check_eq "no <firewall> in the network XML: nftables found by libvirt's table" "$n" 1
	fi
	vp_hook_ok guest2 stopped end
	vp_basic_closed "guest2 stopped"
	vp_check_eq "guest2 stopped: 2224 closed" "$(vp_tcp_get "$VP_CLIENT" "$VP_HOST_ADDR" 2224)" ""
	vp_basic_same "guest2 stopped: ruleset identical to before"
}
