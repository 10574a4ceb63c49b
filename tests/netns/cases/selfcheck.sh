# SPDX-License-Identifier: GPL-2.0-or-later
# selfcheck: the world works (the host and guest2 reach guest1, its UDP listener answers) and,
# with hand-made rules and no hook, libvirt's reject is active in the tables this host kind uses:
# a DNAT alone is refused, a DNAT plus an accept of DNAT'd traffic where ours go gets in.
# kinds: nft legacy nftables

. "$VP_LIB/basic.sh"

check_world() {
	vp_check_eq "world: the host reaches guest1:22 directly" \
		"$(vp_tcp_get "$VP_HOST" "$VP_G1_IP" 22)" guest1
	vp_check_eq "world: guest2 reaches guest1:22 over the bridge" \
		"$(vp_tcp_get "$VP_GUEST2" "$VP_G1_IP" 22)" guest1
	vp_check_eq "world: UDP listener of guest1 answers the host" \
		"$(vp_udp_get "$VP_HOST" "$VP_G1_IP" 27015)" guest1
}

# DNAT alone, then the check that libvirt's reject refused it.
check_dnat_alone() {
	vp_check_eq "self-check: DNAT alone does not reach guest1" \
		"$(vp_tcp_get "$VP_CLIENT" "$VP_HOST_ADDR" 2222)" ""
	vp_check_eq "self-check: ... because libvirt's reject refuses it" "$(vp_tcp_error)" refused
}

# libvirt's iptables backend: a DNAT, then a DNAT-only FORWARD accept above libvirt's jumps.
selfcheck_iptables() {
	local dnat=(PREROUTING -d "$VP_HOST_ADDR" -p tcp --dport 2222 -m comment --comment vp-selfcheck
		-j DNAT --to-destination "$VP_G1_IP:22")
	local accept=(FORWARD -d "$VP_G1_IP" -p tcp --dport 22 -m conntrack --ctstate DNAT
		-m comment --comment vp-selfcheck -j ACCEPT)
	vp_h "$IPT" -w -t nat -I "${dnat[@]}" || vp_die "self-check: cannot add the DNAT rule"
	check_dnat_alone
	vp_h "$IPT" -w -I "${accept[@]}" || vp_die "self-check: cannot add the FORWARD rule"
	vp_check_eq "self-check: DNAT + FORWARD accept (ctstate DNAT) reaches guest1" \
		"$(vp_tcp_get "$VP_CLIENT" "$VP_HOST_ADDR" 2222)" guest1
	if ! vp_h "$IPT" -w -D "${accept[@]}" || ! vp_h "$IPT" -w -t nat -D "${dnat[@]}"; then
		vp_die "self-check: cannot remove its rules"
	fi
}

# libvirt's nftables backend: a DNAT in a table of its own; an accept in that table does not
# help (netfilter.md), one at the top of libvirt's forward chain does.
selfcheck_nftables() {
	local h
	vp_h nft -f - <<-EOF || vp_die "self-check: cannot add the DNAT rule"
	table ip vp_selfcheck {
		chain pre {
			type nat hook prerouting priority dstnat; policy accept;
			ip daddr $VP_HOST_ADDR tcp dport 2222 dnat to $VP_G1_IP:22
		}
	}
	EOF
	check_dnat_alone
	vp_h nft -f - <<-EOF || vp_die "self-check: cannot add the forward chain"
	table ip vp_selfcheck {
		chain vpfwd {
			type filter hook forward priority filter - 10; policy accept;
			ip daddr $VP_G1_IP tcp dport 22 ct status dnat accept
		}
	}
	EOF
	vp_check_eq "self-check: an accept in a table of our own does not help" \
		"$(vp_tcp_get "$VP_CLIENT" "$VP_HOST_ADDR" 2222)" ""
	vp_h nft insert rule ip libvirt_network forward oifname virbr0 ip daddr "$VP_G1_IP" \
		tcp dport 22 ct status dnat accept comment '"vp-selfcheck"' ||
		vp_die "self-check: cannot add the accept to libvirt's forward chain"
	vp_check_eq \
		"self-check: DNAT + accept (ct status dnat) atop libvirt's forward reaches guest1" \
		"$(vp_tcp_get "$VP_CLIENT" "$VP_HOST_ADDR" 2222)" guest1
	h=$(vp_h nft -a list chain ip libvirt_network forward |
		sed -n 's/.*"vp-selfcheck" # handle \([0-9]*\)$/\1/p')
	if ! vp_h nft delete rule ip libvirt_network forward handle "$h" ||
		! vp_h nft delete table ip vp_selfcheck; then
		vp_die "self-check: cannot remove its rules"
	fi
}

run() {
	check_world
	if [ "$VP_KIND" = nftables ]; then selfcheck_nftables; else selfcheck_iptables; fi
	vp_basic_same "self-check: hand-made rules removed again"
}
