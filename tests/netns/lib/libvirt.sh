# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# libvirt's own firewall rules for network default, for each host kind, replayed as libvirt 11.3
# makes them: kind nft and legacy, its iptables backend (through iptables-nft or -legacy);
# kind nftables, its nftables backend. vp_libvirt_rules and vp_libvirt_rules6 dispatch on
# VP_KIND; the rest are their parts, and the changes libvirt itself makes later (a reload).

VP_LV_NFT_HANDLES=()   # "FAMILY CHAIN HANDLE" of each per-network rule, as libvirt saves them

# vp_libvirt_rules: libvirt's private chains (IPv4 and IPv6) and its IPv4 rules for network
# default, for VP_KIND.
vp_libvirt_rules() {
	if [ "$VP_KIND" = nftables ]; then vp_load_libvirt_nft_rules; else vp_load_libvirt_rules; fi
}

# vp_libvirt_rules6 MODE: libvirt's IPv6 rules for network default, for VP_KIND (after
# vp_libvirt_rules). MODE nat66 (<nat ipv6='yes'/>) or route (IPv6 routed).
vp_libvirt_rules6() {
	if [ "$VP_KIND" = nftables ]; then
		vp_libvirt_nft_network_rules6 "$1"
	else
		vp_libvirt_network_rules6 "$1"
	fi
}

# ---------------------------------------------------------------------------------------------
# libvirt's iptables backend (libvirt >= 5.1): global private chains for IPv4 and IPv6, then the
# NAT network 192.168.122.0/24 on virbr0. Each rule is inserted at the top, in libvirt's order
# (src/network/network_iptables.c), so the final order is libvirt's.

vp_libvirt_private_chains() {  # IPTABLES-BINARY (ip or ip6)
	local ipt="vp_h $1" c
	# libvirt lists each table, then makes each missing chain and inserts its jump at the top.
	for c in INPUT:LIBVIRT_INP OUTPUT:LIBVIRT_OUT FORWARD:LIBVIRT_FWO FORWARD:LIBVIRT_FWI \
		FORWARD:LIBVIRT_FWX; do
		$ipt -w --table filter --new-chain "${c#*:}" &&
			$ipt -w --table filter --insert "${c%%:*}" --jump "${c#*:}" || return 1
	done
	for c in nat mangle; do
		$ipt -w --table $c --new-chain LIBVIRT_PRT &&
			$ipt -w --table $c --insert POSTROUTING --jump LIBVIRT_PRT || return 1
	done
}

vp_libvirt_network_rules() {
	local ipt="vp_h $IPT" p br=virbr0 net=$VP_NET
	# General IPv4 rules: DHCP and DNS to and from dnsmasq, the catch-all rejects, cross traffic.
	for p in "INP --in-interface $br --protocol tcp --destination-port 67" \
		"INP --in-interface $br --protocol udp --destination-port 67" \
		"OUT --out-interface $br --protocol tcp --destination-port 68" \
		"OUT --out-interface $br --protocol udp --destination-port 68" \
		"INP --in-interface $br --protocol tcp --destination-port 53" \
		"INP --in-interface $br --protocol udp --destination-port 53" \
		"OUT --out-interface $br --protocol tcp --destination-port 53" \
		"OUT --out-interface $br --protocol udp --destination-port 53"; do
		# shellcheck disable=SC2086 # the rule is meant to be split into words
		$ipt -w --table filter --insert LIBVIRT_$p --jump ACCEPT || return 1
	done
	$ipt -w --table filter --insert LIBVIRT_FWO --in-interface $br --jump REJECT &&
		$ipt -w --table filter --insert LIBVIRT_FWI --out-interface $br --jump REJECT &&
		$ipt -w --table filter --insert LIBVIRT_FWX --in-interface $br --out-interface $br \
			--jump ACCEPT &&
		# The IPv4 <ip>'s masquerading rules: allow out, allow related in, then the NAT rules
		# in the reverse of their final order.
		$ipt -w --table filter --insert LIBVIRT_FWO --source $net --in-interface $br \
			--jump ACCEPT &&
		$ipt -w --table filter --insert LIBVIRT_FWI --destination $net --out-interface $br \
			--match conntrack --ctstate ESTABLISHED,RELATED --jump ACCEPT &&
		$ipt -w --table nat --insert LIBVIRT_PRT --source $net '!' --destination $net \
			--jump MASQUERADE &&
		$ipt -w --table nat --insert LIBVIRT_PRT --source $net -p udp '!' --destination $net \
			--jump MASQUERADE --to-ports 1024-65535 &&
		$ipt -w --table nat --insert LIBVIRT_PRT --source $net -p tcp '!' --destination $net \
			--jump MASQUERADE --to-ports 1024-65535 &&
		$ipt -w --table nat --insert LIBVIRT_PRT --source $net \
			--destination 255.255.255.255/32 --jump RETURN &&
		$ipt -w --table nat --insert LIBVIRT_PRT --source $net --destination 224.0.0.0/24 \
			--jump RETURN || return 1
	# libvirt applies the DHCP checksum fix in a transaction that ignores errors.
	$ipt -w --table mangle --insert LIBVIRT_PRT --out-interface $br --protocol udp \
		--destination-port 68 --jump CHECKSUM --checksum-fill ||
		echo "# note: no CHECKSUM target in this kernel; libvirt ignores that too"
	return 0
}

vp_load_libvirt_rules() {
	vp_libvirt_private_chains "$IPT" || vp_die "loading libvirt's IPv4 private chains failed"
	vp_libvirt_private_chains "$IP6T" || vp_die "loading libvirt's IPv6 private chains failed"
	vp_libvirt_network_rules || vp_die "loading libvirt's rules for network default failed"
}

# vp_libvirt_ip6_rules ACTION MODE: the per-<ip> rules of libvirt's iptables backend for the
# IPv6 subnet (network_iptables.c), ACTION insert or delete. MODE nat66: <nat ipv6='yes'/>
# (libvirt >= 6.5), masquerading like IPv4, new connections from outside rejected. MODE route: a
# NAT network's IPv6 without NAT66 is routed; libvirt then accepts everything to the subnet.
vp_libvirt_ip6_rules() {
	local a=--$1 ipt="vp_h $IP6T -w" br=virbr0 net=$VP6_NET
	if [ "$2" = route ]; then
		$ipt --table filter "$a" LIBVIRT_FWO --source $net --in-interface $br --jump ACCEPT &&
			$ipt --table filter "$a" LIBVIRT_FWI --destination $net --out-interface $br \
				--jump ACCEPT
		return
	fi
	$ipt --table filter "$a" LIBVIRT_FWO --source $net --in-interface $br --jump ACCEPT &&
		$ipt --table filter "$a" LIBVIRT_FWI --destination $net --out-interface $br \
			--match conntrack --ctstate ESTABLISHED,RELATED --jump ACCEPT &&
		$ipt --table nat "$a" LIBVIRT_PRT --source $net '!' --destination $net --jump MASQUERADE &&
		$ipt --table nat "$a" LIBVIRT_PRT --source $net -p udp '!' --destination $net \
			--jump MASQUERADE --to-ports 1024-65535 &&
		$ipt --table nat "$a" LIBVIRT_PRT --source $net -p tcp '!' --destination $net \
			--jump MASQUERADE --to-ports 1024-65535 &&
		$ipt --table nat "$a" LIBVIRT_PRT --source $net --destination ff02::/16 --jump RETURN
}

# vp_libvirt_network_rules6 MODE: libvirt's IPv6 rules for network default (iptables backend):
# the general ones (networkAddGeneralIp6tablesRules: rejects, cross traffic, DNS and DHCPv6 to
# dnsmasq), then the subnet's (vp_libvirt_ip6_rules). The private chains must exist already.
vp_libvirt_network_rules6() {
	local ipt="vp_h $IP6T -w" br=virbr0 p
	$ipt --table filter --insert LIBVIRT_FWO --in-interface $br --jump REJECT &&
		$ipt --table filter --insert LIBVIRT_FWI --out-interface $br --jump REJECT &&
		$ipt --table filter --insert LIBVIRT_FWX --in-interface $br --out-interface $br \
			--jump ACCEPT || return 1
	for p in "INP --in-interface $br --protocol tcp --destination-port 53" \
		"INP --in-interface $br --protocol udp --destination-port 53" \
		"OUT --out-interface $br --protocol tcp --destination-port 53" \
		"OUT --out-interface $br --protocol udp --destination-port 53" \
		"INP --in-interface $br --protocol udp --destination-port 547" \
		"OUT --out-interface $br --protocol udp --destination-port 546"; do
		# shellcheck disable=SC2086 # the rule is meant to be split into words
		$ipt --table filter --insert LIBVIRT_$p --jump ACCEPT || return 1
	done
	vp_libvirt_ip6_rules insert "$1"
}

# ---------------------------------------------------------------------------------------------
# libvirt's nftables backend (libvirt >= 10.4), its rules as libvirt 11.3 makes them for the NAT
# network 192.168.122.0/24 on virbr0 (src/network/network_nftables.c: private chains first, then
# every per-network rule inserted at the top of its chain, so the final order is libvirt's).

# The private chains of one family, made as libvirt does when the table is missing: the forward
# base chain, a jump to each guest_* chain inserted at its top (the final order is cross, input,
# output), and the guest_nat base chain.
vp_libvirt_nft_private_chains() {  # FAMILY (ip or ip6)
	local f=$1 c
	vp_h nft add table "$f" libvirt_network &&
		vp_h nft add chain "$f" libvirt_network forward \
			'{ type filter hook forward priority 0; policy accept; }' || return 1
	for c in guest_output guest_input guest_cross; do
		vp_h nft add chain "$f" libvirt_network "$c" &&
			vp_h nft insert rule "$f" libvirt_network forward counter jump "$c" || return 1
	done
	vp_h nft add chain "$f" libvirt_network guest_nat \
		'{ type nat hook postrouting priority 100; policy accept; }'
}

# vp_libvirt_nft_insert FAMILY CHAIN RULE...: one per-network rule, inserted at the top of CHAIN
# with `nft -ae` as libvirt does; its handle is kept for the status XML's removal commands.
vp_libvirt_nft_insert() {
	local out h
	out=$(vp_h nft -ae insert rule "$1" libvirt_network "${@:2}") || return 1
	h=$(printf '%s\n' "$out" | sed -n 's/.* # handle \([0-9][0-9]*\)$/\1/p' | head -n 1)
	[ -n "$h" ] || return 1
	VP_LV_NFT_HANDLES+=("$1 $2 $h")
}

vp_libvirt_nft_network_rules() {
	local br=virbr0 net=$VP_NET i="vp_libvirt_nft_insert ip"
	# General IPv4 rules: the catch-all rejects, then cross traffic on the bridge.
	$i guest_output iif $br counter reject &&
		$i guest_input oif $br counter reject &&
		$i guest_cross iif $br oif $br counter accept &&
		# The <ip>'s masquerading rules: allow out, allow related in, then the NAT rules in the
		# reverse of their final order.
		$i guest_output ip saddr $net iif $br counter accept &&
		$i guest_input oif $br ip daddr $net ct state related,established counter accept &&
		$i guest_nat ip saddr $net ip daddr '!=' $net counter masquerade &&
		$i guest_nat meta l4proto udp ip saddr $net ip daddr '!=' $net counter masquerade \
			to :1024-65535 &&
		$i guest_nat meta l4proto tcp ip saddr $net ip daddr '!=' $net counter masquerade \
			to :1024-65535 &&
		$i guest_nat ip saddr $net ip daddr 255.255.255.255/32 counter return &&
		$i guest_nat ip saddr $net ip daddr 224.0.0.0/24 counter return
}

vp_load_libvirt_nft_rules() {
	VP_LV_NFT_HANDLES=()
	vp_libvirt_nft_private_chains ip || vp_die "loading libvirt's ip libvirt_network failed"
	vp_libvirt_nft_private_chains ip6 || vp_die "loading libvirt's ip6 libvirt_network failed"
	vp_libvirt_nft_network_rules || vp_die "loading libvirt's nftables rules for default failed"
}

# vp_libvirt_nft_network_rules6 MODE: the same for libvirt's nftables backend, into
# `ip6 libvirt_network` (whose private chains must exist: vp_load_libvirt_nft_rules).
vp_libvirt_nft_network_rules6() {
	local br=virbr0 net=$VP6_NET i="vp_libvirt_nft_insert ip6"
	$i guest_output iif $br counter reject &&
		$i guest_input oif $br counter reject &&
		$i guest_cross iif $br oif $br counter accept || return 1
	if [ "$1" = route ]; then
		$i guest_output ip6 saddr $net iif $br counter accept &&
			$i guest_input oif $br ip6 daddr $net counter accept
		return
	fi
	$i guest_output ip6 saddr $net iif $br counter accept &&
		$i guest_input oif $br ip6 daddr $net ct state related,established counter accept &&
		$i guest_nat ip6 saddr $net ip6 daddr '!=' $net counter masquerade &&
		$i guest_nat meta l4proto udp ip6 saddr $net ip6 daddr '!=' $net counter masquerade \
			to :1024-65535 &&
		$i guest_nat meta l4proto tcp ip6 saddr $net ip6 daddr '!=' $net counter masquerade \
			to :1024-65535 &&
		$i guest_nat ip6 saddr $net ip6 daddr ff02::/16 counter return
}

# vp_libvirt_nft_rejump [FAMILY]: libvirt's jumps in forward deleted and inserted again, as after
# a flush of that chain and a libvirt reload: they end up at the top, above everything else.
vp_libvirt_nft_rejump() {
	local f=${1:-ip} h c
	for h in $(vp_h nft -a list chain "$f" libvirt_network forward |
		sed -n 's/.* jump guest_[a-z]* # handle \([0-9][0-9]*\)$/\1/p'); do
		vp_h nft delete rule "$f" libvirt_network forward handle "$h" || return 1
	done
	for c in guest_output guest_input guest_cross; do
		vp_h nft insert rule "$f" libvirt_network forward counter jump "$c" || return 1
	done
}
