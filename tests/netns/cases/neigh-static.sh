# SPDX-License-Identifier: GPL-2.0-or-later
# neigh-static: guest1 has its address set inside it (no DHCP): no lease, no static host, no
# ip=. started installs nothing and leaves a waiter; when guest1 first talks (one datagram to
# the host), the host's neighbour table gets an entry for its MAC, the waiter wakes on that
# event and installs the forward, and the client reaches guest1 within a few seconds; status
# and the doctor say the address came from the neighbour table. Then the trust rules: guest2
# answering ARP under guest1's MAC for an address of its own (one MAC, two addresses) installs
# nothing; guest2 answering for guest1's address (the entry moves to guest2's MAC) installs
# nothing either, and the forward never reaches guest2.
# kinds: nft legacy nftables

# shellcheck source=../lib/lifecycle.sh
. "$VP_LIB/lifecycle.sh"

# The world's guests have random MACs: guest1 gets the one of its domain XML, and the host
# forgets what it learned of the bridge so far.
setup() {
	ip -n "$VP_GUEST1" link set eth0 address "$VP_G1_MAC" || vp_die "cannot set guest1's MAC"
	ip -n "$VP_HOST" neigh flush dev virbr0
}

talk() {  # NS [SRC]: one datagram from NS to the host's bridge address (from SRC)
	ip -n "$1" neigh flush dev eth0   # so that it asks for the host's MAC, and tells its own
	echo x | ip netns exec "$1" socat -u - "UDP-SENDTO:$VP_GW:9${2:+,bind=$2}" 2>/dev/null
}

found_when_talking() {
	local ms mark
	vp_lease_table
	vp_write_leases "$VP_G2_MAC=$VP_G2_IP"   # guest2's lease only
	mark=$(vp_log_mark)
	vp_hook_ok guest1 started
	vp_check_eq "silent static guest: no rule of guest1" "$(vp_rules_owned "$VP_G1_UUID")" ""
	vp_check_eq "silent static guest: one waiter runs" "$(vp_lease_waiters)" 1
	vp_check "silent static guest: the log says no address yet" \
		grep -q "no address for guest1" <(vp_log_since "$mark")
	sleep 1
	talk "$VP_GUEST1"
	ms=$(vp_lease_wait_forward_ms guest1 5)
	vp_check "guest1 talked: 2222 reaches guest1 within 5 s ($ms ms)" test "$ms" -lt 5000
	echo "# measured: guest1's first datagram to the forward reaching it: $ms ms"
	vp_check_eq "guest1 talked: the waiter is gone" "$(vp_lease_waiters_gone 5)" 0
	vp_write_status guest1
	vp_check_eq "status: the address came from the neighbour table" \
		"$(vp_cli status | grep -c "$VP_G1_IP:22 (neighbour, default)")" 1
	vp_cli doctor guest1 >"$VP_TMP/doctor.out"
	vp_check "doctor: the address is from the neighbour table" \
		grep -q "$VP_G1_IP, from the host's neighbour table on virbr0" "$VP_TMP/doctor.out"
	vp_check "doctor: our rules send to it" \
		grep -q "our rules send to $VP_G1_IP, the address the neighbour table gives" \
		"$VP_TMP/doctor.out"
	rm -f "$VP_ROOT/run/libvirt/qemu/guest1.xml"
	vp_hook_ok guest1 stopped end
}

# guest2 takes guest1's MAC for a moment and talks from its own address.
one_mac_two_addresses() {
	local mark
	ip -n "$VP_GUEST2" link set eth0 address "$VP_G1_MAC"
	talk "$VP_GUEST2"
	ip -n "$VP_GUEST2" link set eth0 address "$VP_G2_MAC"
	talk "$VP_GUEST1"
	vp_check_eq "one MAC, two addresses: the host has two entries for guest1's MAC" \
		"$(ip -n "$VP_HOST" neigh show dev virbr0 | grep -c "lladdr $VP_G1_MAC")" 2
	mark=$(vp_log_mark)
	vp_hook_ok guest1 started
	vp_check_eq "one MAC, two addresses: no rule of guest1" "$(vp_rules_owned "$VP_G1_UUID")" ""
	vp_check_eq "one MAC, two addresses: 2222 reaches no guest" \
		"$(vp_tcp_get "$VP_CLIENT" "$VP_HOST_ADDR" 2222)" ""
	vp_check "one MAC, two addresses: the log says why" \
		grep -q "answers for two addresses on virbr0" <(vp_log_since "$mark")
	vp_write_status guest1
	vp_check "one MAC, two addresses: the doctor names it" \
		grep -q "has neighbour entries on the bridge with different addresses" \
		<(vp_cli doctor guest1)
	rm -f "$VP_ROOT/run/libvirt/qemu/guest1.xml"
	vp_hook_ok guest1 stopped end
	ip -n "$VP_HOST" neigh flush dev virbr0
}

# guest2 answers for guest1's address: the host's entry for it moves to guest2's MAC.
address_taken() {
	ip -n "$VP_GUEST2" addr add "$VP_G1_IP/32" dev eth0 noprefixroute
	talk "$VP_GUEST2" "$VP_G1_IP"
	vp_check "address taken by guest2: the host's entry for it has guest2's MAC" \
		grep -q "lladdr $VP_G2_MAC" <(ip -n "$VP_HOST" neigh show "$VP_G1_IP" dev virbr0)
	vp_hook_ok guest1 started
	vp_check_eq "address taken by guest2: no rule of guest1" "$(vp_rules_owned "$VP_G1_UUID")" ""
	vp_check_eq "address taken by guest2: 2222 reaches no guest" \
		"$(vp_tcp_get "$VP_CLIENT" "$VP_HOST_ADDR" 2222)" ""
	vp_hook_ok guest1 stopped end
	ip -n "$VP_GUEST2" addr del "$VP_G1_IP/32" dev eth0
	ip -n "$VP_HOST" neigh flush dev virbr0
}

run() {
	local snap=$VP_TMP/snap.stopped
	found_when_talking
	one_mac_two_addresses
	address_taken
	vp_snapshot "$snap"
	vp_check_same_file "stopped: ruleset identical to before" "$VP_S0" "$snap"
}
