# SPDX-License-Identifier: GPL-2.0-or-later
# hairpin-no: with hairpin=no, no guest of guest1's bridge reaches the forward through the
# host's address (IPv4 and IPv6, TCP and UDP, the uplink address and the bridge's own): its
# packets are not DNAT'd and reach the host itself. The client and the host itself still reach
# guest1; a forward without hairpin=no still lets guest2 in. `apply` moves a running forward
# between the two, the doctor recognises the rules, and stopped gives the ruleset back.
# kinds: nft legacy nftables

. "$VP_LIB/doctor.sh"

hairpin_table() {  # HAIRPIN-OPTION of the forwards 2222, [::]:2222 and udp 27016
	cat <<-EOF
	guest1    tcp    2222        22      $1
	guest1    tcp    [::]:2222   22      $1
	guest1    udp    27016       27016   $1
	guest1    tcp    2223        22
	EOF
}

UDP_LOG=$VP_TMP/guest1-udp.log

setup() {
	vp_ipv6_world nat
	vp_write_leases46 "$VP_G1_MAC=$VP_G1_IP" "$VP_G1_MAC=$VP6_G1_IP" "$VP_G2_MAC=$VP_G2_IP"
	# Services of the host itself on the forwarded port: what a guest of the bridge reaches
	# when its connection is not DNAT'd.
	vp_bg "$VP_HOST" socat TCP-LISTEN:2222,fork,reuseaddr SYSTEM:"echo host"
	vp_bg "$VP_HOST" socat TCP6-LISTEN:2222,ipv6only=1,fork,reuseaddr SYSTEM:"echo host v6"
	# guest1 writes down every datagram it gets on :27016 (one socket, no fork: none is lost
	# between two of them), so that a datagram that got there shows whether or not an answer
	# could come back.
	: >"$UDP_LOG"
	vp_bg "$VP_GUEST1" socat -u UDP-RECV:27016 OPEN:"$UDP_LOG",append
	vp_wait_tcp "$VP_HOST" 127.0.0.1 2222 host || vp_die "the host's listener does not answer"
	vp_wait_tcp "$VP_HOST" "[::1]" 2222 "host v6" || vp_die "the host's IPv6 listener does not answer"
}

udp_send() {  # NS TEXT: one datagram with TEXT to the host's address, port 27016
	echo "$2" | ip netns exec "$1" socat -u - "UDP-SENDTO:$VP_HOST_ADDR:27016" 2>/dev/null
}

udp_got() {  # TEXT: guest1 got a datagram with TEXT (polled for up to ~3 s)
	local _
	for _ in $(seq 30); do
		grep -qx -- "$1" "$UDP_LOG" && return 0
		sleep 0.1
	done
	return 1
}

# udp_check WHEN GUEST2-GETS-IN(yes|no): guest2's datagrams to the forward reach guest1 or not.
# The client's, sent after them, reach it either way: when it is there, guest2's would be too.
udp_check() {
	local w=$1 i n
	for i in 1 2 3; do
		udp_send "$VP_GUEST2" "$w guest2 $i"
	done
	vp_check "$w: the client's datagram to $VP_HOST_ADDR:27016 reaches guest1" \
		udp_got_one "$w client"
	n=$(grep -c -- "^$w guest2 " "$UDP_LOG")
	if [ "$2" = yes ]; then
		vp_check "$w: guest2's datagrams to $VP_HOST_ADDR:27016 reach guest1 ($n of 3)" \
			test "$n" -ge 1
	else
		vp_check_eq "$w: none of guest2's 3 datagrams to $VP_HOST_ADDR:27016 reached guest1" \
			"$n" 0
	fi
}

udp_got_one() {  # TEXT: send TEXT from the client until guest1 got it (5 tries)
	local _
	for _ in 1 2 3 4 5; do
		udp_send "$VP_CLIENT" "$1"
		udp_got "$1" && return 0
	done
	return 1
}

guest2_kept_out() {  # WHEN
	local w=$1 HA=$VP_HOST_ADDR
	vp_check_eq "$w: guest2 -> $HA:2222 reaches the host itself, not guest1" \
		"$(vp_tcp_get "$VP_GUEST2" "$HA" 2222)" host
	vp_check_eq "$w: guest2 -> $VP_GW:2222 (the bridge's address) reaches the host itself" \
		"$(vp_tcp_get "$VP_GUEST2" "$VP_GW" 2222)" host
	vp_check_eq "$w: guest2 -> [$VP6_HOST_ADDR]:2222 reaches the host itself" \
		"$(vp_tcp6_get "$VP_GUEST2" "$VP6_HOST_ADDR" 2222)" "host v6"
	udp_check "$w" no
	vp_check_eq "$w: guest2 -> $HA:2223 (hairpin) still reaches guest1" \
		"$(vp_tcp_get "$VP_GUEST2" "$HA" 2223)" guest1
}

others_get_in() {  # WHEN
	local w=$1 HA=$VP_HOST_ADDR
	vp_check_eq "$w: the client -> $HA:2222 reaches guest1" \
		"$(vp_tcp_get "$VP_CLIENT" "$HA" 2222)" guest1
	vp_check_eq "$w: the client -> [$VP6_HOST_ADDR]:2222 reaches guest1" \
		"$(vp_tcp6_get "$VP_CLIENT" "$VP6_HOST_ADDR" 2222)" "guest1 v6"
	vp_check_eq "$w: the host -> $HA:2222 reaches guest1 (its OUTPUT DNAT stays)" \
		"$(vp_tcp_get "$VP_HOST" "$HA" 2222)" guest1
}

run() {
	local HA=$VP_HOST_ADDR
	hairpin_table hairpin=no | vp_write_table
	vp_hook_ok guest1 started
	vp_write_status guest1
	others_get_in "hairpin=no"
	guest2_kept_out "hairpin=no"
	vp_doctor_expect_healthy "hairpin=no: the doctor finds our rules" guest1
	vp_check "hairpin=no: the doctor names the exclusion" grep -qF \
		"except from virbr0 (hairpin=no)" "$VP_DOCTOR_OUT"

	hairpin_table "" | vp_write_table
	vp_check "hairpin=yes: apply" vp_quiet vp_cli apply
	vp_check_eq "hairpin=yes: guest2 -> $HA:2222 reaches guest1" \
		"$(vp_tcp_get "$VP_GUEST2" "$HA" 2222)" guest1
	vp_check_eq "hairpin=yes: guest2 -> [$VP6_HOST_ADDR]:2222 reaches guest1" \
		"$(vp_tcp6_get "$VP_GUEST2" "$VP6_HOST_ADDR" 2222)" "guest1 v6"
	udp_check hairpin=yes yes
	vp_doctor_expect_healthy "hairpin=yes: the doctor finds our rules" guest1

	hairpin_table hairpin=no | vp_write_table
	vp_check "hairpin=no again: apply" vp_quiet vp_cli apply
	others_get_in "hairpin=no again"
	guest2_kept_out "hairpin=no again"

	rm -f "$VP_ROOT/run/libvirt/qemu/guest1.xml"
	vp_hook_ok guest1 stopped end
	vp_check_eq "stopped: the client -> $HA:2222 reaches the host itself, not guest1" \
		"$(vp_tcp_get "$VP_CLIENT" "$HA" 2222)" host
}
