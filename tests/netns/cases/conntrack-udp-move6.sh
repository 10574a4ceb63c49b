# SPDX-License-Identifier: GPL-2.0-or-later
# conntrack-udp-move6: conntrack-udp-move over IPv6 (NAT66): a UDP client that keeps sending from
# one source port to [::]:5000 reaches guest2 within a second of the `apply` that moves the
# forward there, while an IPv6 stream to a forward that stayed keeps going to guest1 and its
# entry is not ended (told by the log here: /proc showed IPv6 entries with delta-time 0, so their
# age cannot be compared as in the IPv4 case).
# kinds: nft legacy nftables

# shellcheck source=../lib/conntrack.sh
. "$VP_LIB/conntrack.sh"
# shellcheck source=../lib/lifecycle.sh
. "$VP_LIB/lifecycle.sh"
# shellcheck source=../lib/ipv6.sh
. "$VP_LIB/ipv6.sh"

setup() {
	vp_ipv6_world nat
	vp_write_leases46 "$VP_G1_MAC=$VP_G1_IP" "$VP_G1_MAC=$VP6_G1_IP" "$VP_G2_MAC=$VP_G2_IP" \
		"$VP_G2_MAC=$VP6_G2_IP"
}

table() {  # GUEST-OF-5000
	vp_write_table <<-EOF2
	$1    udp    [::]:5000   5001
	guest1    udp    [::]:5002   5002
	EOF2
}

run() {
	vp_ct_move_start 6
	table guest2
	local mark
	mark=$(vp_log_mark)
	vp_check "apply after moving [::]:5000 to guest2: exit 0" vp_quiet vp_cli apply
	vp_check "moved: the same stream reaches guest2 within a second" vp_ct_grows g2-moved 10
	vp_check "moved: nothing more reaches guest1's old port" vp_ct_still g1-moved
	vp_check "moved: the stream to [::]:5002 still reaches guest1" vp_ct_grows g1-other 10
	# guest1's change ends the moved flow's entry and no other (guest2's may end one of a
	# datagram that came while neither had the port).
	vp_check_eq "moved: guest1's change ended one conntrack entry" \
		"$(vp_log_since "$mark" | grep -c 'guest1: forwards changed: 1 connection ended$')" 1
	vp_recon_stop guest1 guest2
	vp_check "stopped: their connections are ended (our lock is free)" vp_ct_settled
	vp_check "stopped: nothing reaches guest2 any more" vp_ct_still g2-moved
}
