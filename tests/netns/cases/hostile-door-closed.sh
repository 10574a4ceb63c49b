# SPDX-License-Identifier: GPL-2.0-or-later
# hostile-door-closed: with guest1's forwards open, nothing else gets in: a client routing
# straight to the guest's forwarded ports (TCP, a range's target, UDP, from an address every
# from= allows) is refused, and so is someone else's DNAT to a forwarded guest port.
# kinds: nft legacy nftables

# shellcheck source=../lib/hostile.sh
. "$VP_LIB/hostile.sh"

setup() {
	vp_world_outsider
}

# A DNAT of someone else's: host port 9999 -> guest1:22, and no rule accepting it.
foreign_dnat() {  # add|delete
	local op=-I
	if [ "$VP_KIND" = nftables ]; then
		if [ "$1" = add ]; then
			vp_h nft -f - <<-EOF
			table ip vp_foreign {
				chain pre {
					type nat hook prerouting priority dstnat; policy accept;
					tcp dport 9999 dnat to $VP_G1_IP:22
				}
			}
			EOF
		else
			vp_h nft delete table ip vp_foreign
		fi
	else
		[ "$1" = add ] || op=-D
		vp_h "$IPT" -w -t nat "$op" PREROUTING -p tcp --dport 9999 -j DNAT \
			--to-destination "$VP_G1_IP:22"
	fi
}

run() {
	local C=$VP_CLIENT HA=$VP_HOST_ADDR G=$VP_G1_IP
	hostile_doors_table
	vp_hook_ok guest1 started
	vp_hook_ok guest2 started
	vp_check_eq "forwarded: 2222 reaches guest1" "$(vp_tcp_get "$C" "$HA" 2222)" guest1
	vp_check_eq "door: client -> $G:22 routed straight is refused" \
		"$(vp_tcp_get "$C" "$G" 22; vp_tcp_error)" refused
	vp_check_eq "door: client -> $G:80 (a range's target) routed straight is refused" \
		"$(vp_tcp_get "$C" "$G" 80; vp_tcp_error)" refused
	vp_check_eq "door: client -> $G udp 27015 routed straight gets no answer" \
		"$(vp_udp_get "$C" "$G" 27015)" ""
	vp_check_eq "door: from $VP_OUTSIDER (in every from=) straight to $G:22 is refused" \
		"$(vp_tcp_get "$C" "$G" 22 "$VP_OUTSIDER"; vp_tcp_error)" refused
	foreign_dnat add || vp_die "cannot add the foreign DNAT"
	vp_check_eq "door: someone else's DNAT 9999 -> guest1:22 is not accepted by our rules" \
		"$(vp_tcp_get "$C" "$HA" 9999; vp_tcp_error)" refused
	foreign_dnat delete || vp_die "cannot delete the foreign DNAT"
	vp_hook_ok guest1 stopped end
	vp_hook_ok guest2 stopped end
	hostile_check_unchanged "doors, both stopped"
}
