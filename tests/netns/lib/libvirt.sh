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
# (src/network/network_iptables.c), so the final order is libvirt's. libvirt runs one iptables
# command per rule; the same inserts go in here as one iptables-restore --noflush batch per
# family, which leaves the same rules in the same order (47 tool runs cost a case about a second).

# vp_libvirt_private_chains TABLE: the restore lines of TABLE for libvirt's private chains.
# libvirt lists each table, then makes each missing chain and inserts its jump at the top.
vp_libvirt_private_chains() {
	local c
	case "$1" in
	filter)
		for c in INPUT:LIBVIRT_INP OUTPUT:LIBVIRT_OUT FORWARD:LIBVIRT_FWO FORWARD:LIBVIRT_FWI \
			FORWARD:LIBVIRT_FWX; do
			printf ':%s - [0:0]\n-I %s -j %s\n' "${c#*:}" "${c%%:*}" "${c#*:}"
		done
		;;
	nat | mangle) printf ':LIBVIRT_PRT - [0:0]\n-I POSTROUTING -j LIBVIRT_PRT\n' ;;
	esac
}

# vp_libvirt_network_rules: the restore lines of libvirt's IPv4 rules for network default.
vp_libvirt_network_rules() {
	local br=virbr0 net=$VP_NET p
	echo '*filter'
	vp_libvirt_private_chains filter
	# General IPv4 rules: DHCP and DNS to and from dnsmasq, the catch-all rejects, cross traffic.
	for p in "INP --in-interface $br --protocol tcp --destination-port 67" \
		"INP --in-interface $br --protocol udp --destination-port 67" \
		"OUT --out-interface $br --protocol tcp --destination-port 68" \
		"OUT --out-interface $br --protocol udp --destination-port 68" \
		"INP --in-interface $br --protocol tcp --destination-port 53" \
		"INP --in-interface $br --protocol udp --destination-port 53" \
		"OUT --out-interface $br --protocol tcp --destination-port 53" \
		"OUT --out-interface $br --protocol udp --destination-port 53"; do
		echo "--insert LIBVIRT_$p --jump ACCEPT"
	done
	echo "--insert LIBVIRT_FWO --in-interface $br --jump REJECT"
	echo "--insert LIBVIRT_FWI --out-interface $br --jump REJECT"
	echo "--insert LIBVIRT_FWX --in-interface $br --out-interface $br --jump ACCEPT"
	# The IPv4 <ip>'s masquerading rules: allow out, allow related in, then the NAT rules in the
	# reverse of their final order.
	echo "--insert LIBVIRT_FWO --source $net --in-interface $br --jump ACCEPT"
	echo "--insert LIBVIRT_FWI --destination $net --out-interface $br" \
		"--match conntrack --ctstate ESTABLISHED,RELATED --jump ACCEPT"
	printf 'COMMIT\n*nat\n'
	vp_libvirt_private_chains nat
	echo "--insert LIBVIRT_PRT --source $net ! --destination $net --jump MASQUERADE"
	echo "--insert LIBVIRT_PRT --source $net -p udp ! --destination $net --jump MASQUERADE" \
		"--to-ports 1024-65535"
	echo "--insert LIBVIRT_PRT --source $net -p tcp ! --destination $net --jump MASQUERADE" \
		"--to-ports 1024-65535"
	echo "--insert LIBVIRT_PRT --source $net --destination 255.255.255.255/32 --jump RETURN"
	echo "--insert LIBVIRT_PRT --source $net --destination 224.0.0.0/24 --jump RETURN"
	printf 'COMMIT\n*mangle\n'
	vp_libvirt_private_chains mangle
	echo COMMIT
}

# vp_libvirt_restore BINARY: a restore batch on stdin into the host's BINARY (iptables or
# ip6tables of this kind), added to what is there.
vp_libvirt_restore() {
	vp_h "$1-restore" --noflush -w
}

vp_load_libvirt_rules() {
	local t
	vp_libvirt_network_rules | vp_libvirt_restore "$IPT" ||
		vp_die "loading libvirt's IPv4 chains and rules for network default failed"
	{
		for t in filter nat mangle; do
			echo "*$t"
			vp_libvirt_private_chains $t
			echo COMMIT
		done
	} | vp_libvirt_restore "$IP6T" || vp_die "loading libvirt's IPv6 private chains failed"
	# libvirt applies the DHCP checksum fix in a transaction that ignores errors: on its own.
	vp_h "$IPT" -w --table mangle --insert LIBVIRT_PRT --out-interface virbr0 --protocol udp \
		--destination-port 68 --jump CHECKSUM --checksum-fill ||
		echo "# note: no CHECKSUM target in this kernel; libvirt ignores that too"
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

# The rules go in as one `nft -ae -f -` batch: libvirt runs one nft command for each, but the
# batch leaves the same objects with the same handles (a table numbers its objects in the order
# they are made), and 28 runs of nft cost a case about half a second.

# The private chains of one family, as nft commands, made as libvirt does when the table is
# missing: the forward base chain, a jump to each guest_* chain inserted at its top (the final
# order is cross, input, output), and the guest_nat base chain.
vp_libvirt_nft_private_chains() {  # FAMILY (ip or ip6)
	local f=$1 c
	echo "add table $f libvirt_network"
	echo "add chain $f libvirt_network forward" \
		'{ type filter hook forward priority 0; policy accept; }'
	for c in guest_output guest_input guest_cross; do
		echo "add chain $f libvirt_network $c"
		echo "insert rule $f libvirt_network forward counter jump $c"
	done
	echo "add chain $f libvirt_network guest_nat" \
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

# vp_libvirt_nft_network_rules: libvirt's IPv4 rules for network default, as nft commands.
vp_libvirt_nft_network_rules() {
	local br=virbr0 net=$VP_NET i="insert rule ip libvirt_network"
	# General IPv4 rules: the catch-all rejects, then cross traffic on the bridge.
	echo "$i guest_output iif $br counter reject"
	echo "$i guest_input oif $br counter reject"
	echo "$i guest_cross iif $br oif $br counter accept"
	# The <ip>'s masquerading rules: allow out, allow related in, then the NAT rules in the
	# reverse of their final order.
	echo "$i guest_output ip saddr $net iif $br counter accept"
	echo "$i guest_input oif $br ip daddr $net ct state related,established counter accept"
	echo "$i guest_nat ip saddr $net ip daddr != $net counter masquerade"
	echo "$i guest_nat meta l4proto udp ip saddr $net ip daddr != $net counter masquerade" \
		"to :1024-65535"
	echo "$i guest_nat meta l4proto tcp ip saddr $net ip daddr != $net counter masquerade" \
		"to :1024-65535"
	echo "$i guest_nat ip saddr $net ip daddr 255.255.255.255/32 counter return"
	echo "$i guest_nat ip saddr $net ip daddr 224.0.0.0/24 counter return"
}

# vp_load_libvirt_nft_rules: both families' private chains and the IPv4 rules, in one batch;
# the handle of each per-network rule is kept (VP_LV_NFT_HANDLES), as libvirt keeps them.
vp_load_libvirt_nft_rules() {
	local out
	out=$({
		vp_libvirt_nft_private_chains ip
		vp_libvirt_nft_private_chains ip6
		vp_libvirt_nft_network_rules
	} | vp_h nft -ae -f -) || vp_die "loading libvirt's nftables chains and rules failed"
	# "insert rule FAMILY libvirt_network CHAIN ... # handle N", but the jumps in forward.
	mapfile -t VP_LV_NFT_HANDLES < <(printf '%s\n' "$out" | sed -n \
		's/^insert rule \(ip6*\) libvirt_network \(guest_[a-z]*\) .* # handle \([0-9]*\)$/\1 \2 \3/p')
	[ "${#VP_LV_NFT_HANDLES[@]}" = 10 ] ||
		vp_die "libvirt's nftables rules: 10 handles expected, got ${#VP_LV_NFT_HANDLES[@]}"
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
