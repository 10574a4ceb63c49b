# SPDX-License-Identifier: GPL-2.0-or-later
# shape: with someone else's rules at the top and the tail of the forward chain and in a NAT
# chain, guest1's started puts our rules first where libvirt's are, each tagged with its owner,
# nowhere else; its stopped removes them all, and the others' rules stay untouched throughout.
# kinds: nft legacy nftables

. "$VP_LIB/basic.sh"

setup() {
	vp_basic_foreign_rules || vp_die "cannot add the foreign rules"
}

# libvirt's iptables backend: our jumps are the first rule of each base chain, and everything
# in our chains is tagged.
shape_iptables() {
	local t tab c ours first untagged n desc
	for t in nat:PREROUTING:PRE nat:OUTPUT:OUT nat:POSTROUTING:POST filter:FORWARD:FWD; do
		IFS=: read -r tab c ours <<<"$t"
		first=$(vp_h "$IPT" -w -t "$tab" -S "$c" | sed -n 2p)
		desc="$tab $c: rule 1 jumps to VIRT_PORTFWD_$ours"
		case "$first" in
		*virt-portfwd*"-j VIRT_PORTFWD_$ours") vp_ok "$desc" ;;
		*) vp_not_ok "$desc" "rule 1: $first" ;;
		esac
	done
	n=$(vp_h "$IPT_SAVE" | grep -c '^-A VIRT_PORTFWD_')
	untagged=$(vp_h "$IPT_SAVE" | grep '^-A VIRT_PORTFWD_' | grep -cv "$VP_BASIC_OWNER")
	if [ "$n" -gt 0 ] && [ "$untagged" -eq 0 ]; then
		vp_ok "all $n rules in our chains carry $VP_BASIC_OWNER"
	else
		vp_not_ok "all rules in our chains carry the owner tag" "$n rules, $untagged untagged"
	fi
}

# libvirt's nftables backend: NAT in our table, accepts atop libvirt's forward, each tagged,
# nowhere else.
shape_nftables() {
	local c n ours untagged o=$VP_BASIC_OWNER
	vp_basic_accepts_on_top "started" 4
	# 2222->22 and 2223->22 share one hairpin masquerade: 3 rules in postrouting.
	for c in prerouting:4 output:4 postrouting:3; do
		n=$(vp_nft_rules list chain ip virt_portfwd "${c%%:*}" | grep -c "comment \"$o\"$")
		vp_check_eq "ip virt_portfwd ${c%%:*}: ${c#*:} rules of guest1" "$n" "${c#*:}"
	done
	untagged=$(vp_nft_rules list table ip virt_portfwd | grep -vc "comment \"$o\"$")
	vp_check_eq "every rule in ip virt_portfwd carries $o" "$untagged" 0
	ours=$(vp_h nft list ruleset | grep -c "virt-portfwd:")
	vp_check_eq "no rule of ours anywhere else (15 in all)" "$ours" 15
	vp_check_eq "nothing of ours in ip6 (IPv4 forwards only)" \
		"$(vp_h nft list ruleset ip6 | grep -c virt-portfwd)" 0
	vp_check_eq "ranges map one to one: a dnat map in prerouting" \
		"$(vp_nft_rules list chain ip virt_portfwd prerouting | grep -c \
			"dnat ip to tcp dport map { 8080 : $VP_G1_IP . 80, 8081 : $VP_G1_IP . 81 }")" 1
}

run() {
	local foreign
	foreign=$(vp_basic_foreign_list)
	vp_full_table | vp_write_table
	vp_hook_ok guest1 started
	vp_basic_open "started: 2222 reaches guest1"
	if [ "$VP_KIND" = nftables ]; then shape_nftables; else shape_iptables; fi
	vp_check_eq "started: the 3 foreign rules are intact" "$(vp_basic_foreign_list)" "$foreign"
	vp_hook_ok guest1 stopped end
	vp_check_eq "stopped: the 3 foreign rules are intact" "$(vp_basic_foreign_list)" "$foreign"
	vp_basic_same "stopped: ruleset identical to before started"
	[ "$VP_KIND" != nftables ] || vp_check_eq "stopped: table ip virt_portfwd is gone" \
		"$(vp_h nft list tables | grep -c virt_portfwd)" 0
}
