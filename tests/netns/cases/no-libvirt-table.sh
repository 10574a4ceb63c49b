# SPDX-License-Identifier: GPL-2.0-or-later
# no-libvirt-table: without libvirt's table ip libvirt_network (its rules not loaded) guest1's
# accepts go to a forward chain of our own table, and that is logged once. When libvirt's table
# comes back that accept is useless (libvirt's reject wins) until the hook moves it atop
# libvirt's forward chain (reconnect); stopped removes everything, and a table of someone else
# survives it all.
# kinds: nftables

. "$VP_LIB/basic.sh"

# nft lists tables in the order they were made, and libvirt's are made anew below: they come
# after the foreign table from the start, so that the end compares like with like.
setup() {
	vp_basic_foreign_table || vp_die "cannot add the foreign table"
	vp_basic_drop_libvirt_nft
	vp_libvirt_rules
	vp_write_network
}

# The number of guest1's accepts in our own table's forward chain.
own_accepts() {
	vp_nft_rules list chain ip virt_portfwd forward | grep -c "accept comment \"$VP_BASIC_OWNER\"$"
}

run() {
	vp_full_table | vp_write_table
	vp_basic_drop_libvirt_nft
	vp_hook_ok guest1 started
	vp_check_eq "no libvirt_network: the 4 accepts are in ip virt_portfwd forward" \
		"$(own_accepts)" 4
	vp_basic_open "no libvirt_network: 2222 reaches guest1"
	vp_check_eq "no libvirt_network: logged once" \
		"$(grep -c "no table ip libvirt_network" "$VP_TMP/hook.stderr")" 1
	vp_libvirt_rules
	vp_write_network
	vp_check_eq "libvirt's table back: our own accept does not help, 2222 closed" \
		"$(vp_tcp_get "$VP_CLIENT" "$VP_HOST_ADDR" 2222)" ""
	vp_hook_ok guest1 reconnect
	vp_basic_open "reconnect: 2222 reaches guest1 again"
	vp_basic_accepts_on_top "libvirt's table back, reconnect" 4
	vp_check_eq "reconnect: ip virt_portfwd forward holds no accept any more" "$(own_accepts)" 0
	vp_hook_ok guest1 stopped end
	vp_check_eq "stopped: no rule of ours left anywhere" \
		"$(vp_h nft list ruleset | grep -c virt-portfwd)" 0
	vp_check_eq "stopped: table ip virt_portfwd is gone" \
		"$(vp_h nft list tables | grep -c virt_portfwd)" 0
	vp_check_eq "the foreign table survived" "$(vp_basic_foreign_list | grep -c foreign-nat)" 1
}
