# SPDX-License-Identifier: GPL-2.0-or-later
# forwards: guest1's started opens each forward of the table to the client (TCP, UDP, a port
# range one to one, from=), to guest2 through the host's address (hairpin) and to the host
# itself; nothing else, and not the guest's own port routed straight (the door); its stopped
# and release close them all.
# kinds: nft legacy nftables

setup() {
	vp_world_outsider
}

run() {
	local C=$VP_CLIENT HA=$VP_HOST_ADDR
	vp_full_table | vp_write_table
	vp_check_eq "before started: client -> $HA:2222 does not reach guest1" \
		"$(vp_tcp_get "$C" "$HA" 2222)" ""
	vp_hook_ok guest1 started
	vp_check_eq "tcp 2222 -> guest1:22 from the client" "$(vp_tcp_get "$C" "$HA" 2222)" guest1
	vp_check_eq "udp 27015 -> guest1:27015 from the client" "$(vp_udp_get "$C" "$HA" 27015)" guest1
	vp_check_eq "range: 8080 -> guest1:80" "$(vp_tcp_get "$C" "$HA" 8080)" "guest1 port 80"
	vp_check_eq "range: 8081 -> guest1:81" "$(vp_tcp_get "$C" "$HA" 8081)" "guest1 port 81"
	vp_check_eq "unforwarded port 2299 does not reach a guest" "$(vp_tcp_get "$C" "$HA" 2299)" ""
	vp_check_eq "from=203.0.113.0/24: port 2223 refused to $VP_CLIENT_ADDR" \
		"$(vp_tcp_get "$C" "$HA" 2223)" ""
	vp_check_eq "from=203.0.113.0/24: port 2223 open to $VP_OUTSIDER" \
		"$(vp_tcp_get "$C" "$HA" 2223 "$VP_OUTSIDER")" guest1
	vp_check_eq "hairpin: guest2 -> $HA:2222 reaches guest1" \
		"$(vp_tcp_get "$VP_GUEST2" "$HA" 2222)" guest1
	vp_check_eq "host-local: the host -> $HA:2222 reaches guest1" \
		"$(vp_tcp_get "$VP_HOST" "$HA" 2222)" guest1
	vp_check_eq "door: client -> $VP_G1_IP:22 routed straight does not get in" \
		"$(vp_tcp_get "$C" "$VP_G1_IP" 22)" ""
	vp_check_eq "door: ... it is refused by libvirt's reject" "$(vp_tcp_error)" refused
	vp_hook_ok guest1 stopped end
	vp_check_eq "stopped: client -> $HA:2222 does not reach guest1" "$(vp_tcp_get "$C" "$HA" 2222)" ""
	vp_check_eq "stopped: 8080 does not reach guest1" "$(vp_tcp_get "$C" "$HA" 8080)" ""
	vp_snapshot "$VP_TMP/snap.stopped"
	vp_check_same_file "stopped: ruleset identical to before started" "$VP_S0" "$VP_TMP/snap.stopped"
	vp_hook_ok guest1 release end
	vp_snapshot "$VP_TMP/snap.released"
	vp_check_same_file "release after stopped: still identical" "$VP_S0" "$VP_TMP/snap.released"
}
