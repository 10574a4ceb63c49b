# SPDX-License-Identifier: GPL-2.0-or-later
# other-stack: the hook writes only where libvirt's rules are, while guest1 runs and after it
# stopped: on an iptables-nft host nothing in the legacy tables, on a legacy host nothing in
# nf_tables, on libvirt's nftables backend nothing in either iptables flavour; and the other
# stack's tools still work.
# kinds: nft legacy nftables

. "$VP_LIB/basic.sh"

# What the legacy tables hold: nothing, and none instantiated.
check_no_legacy() {  # WHEN
	local out
	out=$(vp_h iptables-legacy-save 2>&1; vp_h ip6tables-legacy-save 2>&1)
	vp_check_eq "$1: iptables-legacy-save prints nothing" "$out" ""
	out=$(vp_h cat /proc/net/ip_tables_names /proc/net/ip6_tables_names 2>/dev/null)
	vp_check_eq "$1: no legacy table instantiated (ip*_tables_names empty)" "$out" ""
}

check_other_stack() {  # WHEN
	local out
	case "$VP_KIND" in
	nft)
		check_no_legacy "$1, nft host"
		vp_check "$1, nft host: iptables-nft -S still works" vp_quiet vp_h iptables-nft -w -S
		;;
	legacy)
		out=$(vp_h nft list ruleset 2>&1)
		vp_check_eq "$1, legacy host: nf_tables holds nothing (nft list ruleset empty)" "$out" ""
		vp_check "$1, legacy host: iptables-legacy -S still works" \
			vp_quiet vp_h iptables-legacy -w -S
		;;
	nftables)
		check_no_legacy "$1"
		out=$(vp_h iptables-nft-save 2>&1; vp_h ip6tables-nft-save 2>&1)
		vp_check_eq "$1: iptables-nft-save prints nothing of ours" \
			"$(printf '%s' "$out" | grep -c virt-portfwd)" 0
		vp_check_eq "$1: no iptables-nft table (ip filter, ip nat, ...) was made" \
			"$(vp_h nft list tables | grep -cE '^table ip6? (filter|nat|mangle|raw|security)$')" 0
		vp_check "$1: iptables-nft -S still works" vp_quiet vp_h iptables-nft -w -S
		;;
	esac
}

run() {
	vp_full_table | vp_write_table
	vp_hook_ok guest1 started
	vp_basic_open "started: 2222 reaches guest1"
	check_other_stack "started"
	vp_hook_ok guest1 stopped end
	check_other_stack "stopped"
}
