# SPDX-License-Identifier: GPL-2.0-or-later
# neigh-slaac: guest1 on IPv6 with only the address SLAAC gives it (the network's prefix and its
# MAC's EUI-64), no DHCPv6 lease, no static host, no ip=. started installs nothing and leaves a
# waiter; guest1's first packet makes the host's NDP entry for its MAC, and the waiter installs
# the IPv6 forward to that address (not to guest1's link-local one). status says "neighbour".
# kinds: nft legacy nftables

# shellcheck source=../lib/ipv6.sh
. "$VP_LIB/ipv6.sh"
# shellcheck source=../lib/lifecycle.sh
. "$VP_LIB/lifecycle.sh"

G1_SLAAC=2001:db8:122:0:5054:ff:fe00:a   # 2001:db8:122::/64 + EUI-64 of 52:54:00:00:00:0a

# The dual-stack world, where guest1 has its MAC and its SLAAC address only; the host forgets
# what it learned of the bridge so far.
setup() {
	vp_ipv6_world nat
	# shellcheck disable=SC2015 # vp_die exits
	ip -n "$VP_GUEST1" link set eth0 address "$VP_G1_MAC" &&
		ip -n "$VP_GUEST1" addr del "$VP6_G1_IP/64" dev eth0 &&
		ip -n "$VP_GUEST1" addr add "$G1_SLAAC/64" dev eth0 nodad ||
		vp_die "cannot give guest1 its SLAAC address"
	ip -n "$VP_HOST" neigh flush dev virbr0
	vp_write_leases "$VP_G1_MAC=$VP_G1_IP" "$VP_G2_MAC=$VP_G2_IP"   # DHCPv4 only
}

run() {
	local snap=$VP_TMP/snap.stopped C=$VP_CLIENT HA6=$VP6_HOST_ADDR i got=
	echo "guest1 tcp [::]:2222 22" | vp_write_table
	vp_hook_ok guest1 started
	vp_check_eq "SLAAC guest, silent: no rule of guest1" "$(vp_rules_owned "$VP_G1_UUID")" ""
	vp_check_eq "SLAAC guest, silent: one waiter runs" "$(vp_lease_waiters)" 1
	ip -n "$VP_GUEST1" neigh flush dev eth0
	echo x | ip netns exec "$VP_GUEST1" socat -u - "UDP6-SENDTO:[$VP6_GW]:9,bind=[$G1_SLAAC]" \
		2>/dev/null
	for ((i = 0; i < 50; i++)); do
		got=$(vp_tcp6_get "$C" "$HA6" 2222)
		[ "$got" = "guest1 v6" ] && break
		sleep 0.1
	done
	vp_check_eq "guest1 talked: [$HA6]:2222 reaches guest1 within 5 s" "$got" "guest1 v6"
	vp_check_eq "guest1 talked: the waiter is gone" "$(vp_lease_waiters_gone 5)" 0
	vp_write_status guest1
	vp_check_eq "status: the SLAAC address, from the neighbour table" \
		"$(vp_cli status | grep -c "\[$G1_SLAAC\]:22 (neighbour, default)")" 1
	rm -f "$VP_ROOT/run/libvirt/qemu/guest1.xml"
	vp_hook_ok guest1 stopped end
	vp_snapshot "$snap"
	vp_check_same_file "stopped: ruleset identical to before" "$VP_S0" "$snap"
}
