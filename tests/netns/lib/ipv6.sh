# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# What the ipv6-* cases share: the dual-stack world with libvirt's IPv6 subnet (NAT66 or routed),
# the IPv6 table of guest1, the forwards' checks through real connections, and the stop. Sourced
# by those case files and by doctor.sh (run-case.sh has loaded lib.sh).

# shellcheck disable=SC2034 # the constants are for the case files
VP6_HOST_ADDR2=2001:db8:1::3     # a second host address on the uplink, which no forward names
VP6_OUTSIDER=2001:db8:203::5     # a second client address, inside the from= range
VP6_OWNER=virt-portfwd:$VP_G1_UUID

# guest1's IPv6 forwards (with one IPv4 forward alongside): TCP, a port range one to one, UDP,
# from=, one bound to a host address.
vp_ipv6_table() {
	cat <<-EOF
	# domain  proto  host side              guest-port  options
	guest1    tcp    2222                   22
	guest1    tcp    [::]:2222              22
	guest1    tcp    [::]:8080-8081         80-81
	guest1    udp    [::]:27015             27015
	guest1    tcp    [::]:2223              22          from=2001:db8:203::/48
	guest1    tcp    [$VP6_HOST_ADDR]:2224  22
	EOF
}

# vp_ipv6_libvirt nat|route: libvirt's IPv6 rules (after its IPv4 ones) and the network's status
# with its IPv6 subnet NAT'd (<nat ipv6='yes'/>) or routed.
vp_ipv6_libvirt() {
	local mode=nat66
	[ "$1" = nat ] || mode=route
	vp_libvirt_rules6 "$mode" || vp_die "loading libvirt's IPv6 rules ($mode) failed"
	vp_write_network -6 "$1" || vp_die "cannot write the network XML"
}

# vp_ipv6_world nat|route: the world dual stack, and vp_ipv6_libvirt.
vp_ipv6_world() {
	vp_world6
	vp_ipv6_libvirt "$1"
}

# vp_ipv6_setup nat|route: vp_ipv6_world, guest1's DHCPv4 and DHCPv6 leases, guest2's DHCPv4
# one, guest1's table; a second client address in the from= range (the host routes it back via
# the client) and a second host address. For a case's setup(), before the starting dump.
vp_ipv6_setup() {
	vp_ipv6_world "$1"
	vp_write_leases46 "$VP_G1_MAC=$VP_G1_IP" "$VP_G1_MAC=$VP6_G1_IP" "$VP_G2_MAC=$VP_G2_IP"
	vp_ipv6_table | vp_write_table
	# shellcheck disable=SC2015 # vp_die exits
	ip -n "$VP_CLIENT" addr add "$VP6_OUTSIDER/128" dev lan0 nodad &&
		ip -n "$VP_HOST" route add 2001:db8:203::/48 via "$VP6_CLIENT_ADDR" &&
		ip -n "$VP_HOST" addr add "$VP6_HOST_ADDR2/64" dev uplink0 nodad ||
		vp_die "cannot add the extra addresses"
}

# vp_ipv6_check_forwards WHEN: with guest1 started on vp_ipv6_table, each forward reaches it
# from the client, the outsider, guest2 (hairpin) and the host; nothing else does.
vp_ipv6_check_forwards() {
	local w=$1 C=$VP_CLIENT HA6=$VP6_HOST_ADDR
	vp_check_eq "$w: tcp [::]:2222 -> [guest1]:22 from the client" \
		"$(vp_tcp6_get "$C" "$HA6" 2222)" "guest1 v6"
	vp_check_eq "$w: udp [::]:27015 -> [guest1]:27015" \
		"$(vp_udp6_get "$C" "$HA6" 27015)" "guest1 v6"
	vp_check_eq "$w: range 8080 -> [guest1]:80" "$(vp_tcp6_get "$C" "$HA6" 8080)" \
		"guest1 v6 port 80"
	vp_check_eq "$w: range 8081 -> [guest1]:81" "$(vp_tcp6_get "$C" "$HA6" 8081)" \
		"guest1 v6 port 81"
	vp_check_eq "$w: unforwarded port 2299 reaches nobody" "$(vp_tcp6_get "$C" "$HA6" 2299)" ""
	vp_check_eq "$w: from=2001:db8:203::/48: 2223 closed to $VP6_CLIENT_ADDR" \
		"$(vp_tcp6_get "$C" "$HA6" 2223)" ""
	vp_check_eq "$w: from=2001:db8:203::/48: 2223 open to $VP6_OUTSIDER" \
		"$(vp_tcp6_get "$C" "$HA6" 2223 "$VP6_OUTSIDER")" "guest1 v6"
	vp_check_eq "$w: [$HA6]:2224 reaches guest1" "$(vp_tcp6_get "$C" "$HA6" 2224)" "guest1 v6"
	vp_check_eq "$w: [$VP6_HOST_ADDR2]:2224 (another host address) does not" \
		"$(vp_tcp6_get "$C" "$VP6_HOST_ADDR2" 2224)" ""
	vp_check_eq "$w: hairpin: guest2 -> [$HA6]:2222 reaches guest1" \
		"$(vp_tcp6_get "$VP_GUEST2" "$HA6" 2222)" "guest1 v6"
	vp_check_eq "$w: hairpin on the bridge address: guest2 -> [$VP6_GW]:2222 reaches guest1" \
		"$(vp_tcp6_get "$VP_GUEST2" "$VP6_GW" 2222)" "guest1 v6"
	vp_check_eq "$w: host-local: the host -> [$HA6]:2222 reaches guest1" \
		"$(vp_tcp6_get "$VP_HOST" "$HA6" 2222)" "guest1 v6"
	vp_check_eq "$w: [::1]:2222 on the host is not forwarded (refused: no listener)" \
		"$(vp_tcp6_get "$VP_HOST" ::1 2222; vp_tcp_error)" refused
	vp_check_eq "$w: IPv4 2222 of the same guest still reaches guest1" \
		"$(vp_tcp_get "$C" "$VP_HOST_ADDR" 2222)" guest1
}

# vp_ipv6_check_stop WHEN: guest1 stopped closes its IPv6 and IPv4 forwards and gives back the
# starting ruleset; a release after that changes nothing.
vp_ipv6_check_stop() {
	local snap=$VP_TMP/snap.stopped
	vp_hook_ok guest1 stopped end
	vp_check_eq "$1, stopped: [$VP6_HOST_ADDR]:2222 closed" \
		"$(vp_tcp6_get "$VP_CLIENT" "$VP6_HOST_ADDR" 2222)" ""
	vp_check_eq "$1, stopped: IPv4 2222 closed" \
		"$(vp_tcp_get "$VP_CLIENT" "$VP_HOST_ADDR" 2222)" ""
	vp_snapshot "$snap"
	vp_check_same_file "$1, stopped: ruleset identical to before started" "$VP_S0" "$snap"
	vp_hook_ok guest1 release end
	vp_snapshot "$snap"
	vp_check_same_file "$1, release after stopped: still identical" "$VP_S0" "$snap"
}
