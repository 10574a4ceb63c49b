# SPDX-License-Identifier: GPL-2.0-or-later
# ipv6-rules: guest1's IPv6 rules are where they must be, each carrying its owner tag (nftables:
# our accepts first in ip6 libvirt_network forward, a dnat map for the range; iptables: our jumps
# first in the ip6 built-in chains, the range one to one with a base port), the output ones skip
# ::1; a second started and a reconnect change nothing.
# kinds: nft legacy nftables

. "$VP_LIB/ipv6.sh"

setup() {
	vp_ipv6_setup nat
}

check_shape_nft() {
	local c n first rules
	rules=$(vp_nft_rules list chain ip6 libvirt_network forward)
	n=$(printf '%s\n' "$rules" | grep -c "accept comment \"$VP6_OWNER\"$")
	first=$(printf '%s\n' "$rules" | head -n 5 | grep -c "accept comment \"$VP6_OWNER\"$")
	vp_check_eq "ip6 libvirt_network forward: our 5 accepts are its first rules" "$n:$first" 5:5
	for c in prerouting:5 output:5 postrouting:3; do
		n=$(vp_nft_rules list chain ip6 virt_portfwd "${c%%:*}" |
			grep -c "comment \"$VP6_OWNER\"$")
		vp_check_eq "ip6 virt_portfwd ${c%%:*}: ${c#*:} rules of guest1" "$n" "${c#*:}"
	done
	vp_check_eq "ip6 virt_portfwd output skips ::1" \
		"$(vp_nft_rules list chain ip6 virt_portfwd output | grep -c '^ip6 daddr != ::1 ')" 5
	vp_check_eq "ranges map one to one: an ip6 dnat map" \
		"$(vp_nft_rules list chain ip6 virt_portfwd prerouting | grep -c \
			"dnat ip6 to tcp dport map { 8080 : $VP6_G1_IP . 80, 8081 : $VP6_G1_IP . 81 }")" 1
}

check_shape_xt() {
	local t tab c ours first n untagged rules desc
	for t in nat:PREROUTING:PRE nat:OUTPUT:OUT nat:POSTROUTING:POST filter:FORWARD:FWD; do
		IFS=: read -r tab c ours <<<"$t"
		first=$(vp_h "$IP6T" -w -t "$tab" -S "$c" | sed -n 2p)
		desc="ip6 $tab $c: rule 1 jumps to VIRT_PORTFWD_$ours"
		case "$first" in
		*virt-portfwd*"-j VIRT_PORTFWD_$ours") vp_ok "$desc" ;;
		*) vp_not_ok "$desc" "rule 1: $first" ;;
		esac
	done
	vp_check_eq "ip6 nat OUTPUT: the jump skips ::1" \
		"$(vp_h "$IP6T" -w -t nat -S OUTPUT | sed -n 2p | grep -c '^-A OUTPUT ! -d ::1/128 ')" 1
	n=$(vp_h "$IP6T_SAVE" | grep -c '^-A VIRT_PORTFWD_')
	untagged=$(vp_h "$IP6T_SAVE" | grep '^-A VIRT_PORTFWD_' | grep -cv "\"$VP6_OWNER\"")
	# 5 PRE, 5 OUT, 3 hairpin (2222, 2223 and 2224 -> 22 share one), 5 FWD.
	vp_check_eq "ip6 chains: 18 rules of ours, all tagged $VP6_OWNER" "$n:$untagged" 18:0
	rules=$(vp_h "$IP6T_SAVE" | grep -- "-j DNAT --to-destination \[$VP6_G1_IP\]:80-81/8080$")
	vp_check_eq "ip6 range: one to one with a base port (PRE and OUT)" \
		"$(printf '%s\n' "$rules" | grep -c '^-A VIRT_PORTFWD_')" 2
}

check_idempotent() {
	local s1=$VP_TMP/snap.started1 s2=$VP_TMP/snap.started2
	vp_snapshot "$s1"
	vp_hook_ok guest1 started
	vp_snapshot "$s2"
	vp_check_same_file "started twice: ruleset identical (no duplicates)" "$s1" "$s2"
	vp_hook_ok guest1 reconnect
	vp_snapshot "$s2"
	vp_check_same_file "reconnect: ruleset identical" "$s1" "$s2"
}

run() {
	vp_hook_ok guest1 started
	if [ "$VP_KIND" = nftables ]; then check_shape_nft; else check_shape_xt; fi
	check_idempotent
	vp_hook_ok guest1 stopped end
}
