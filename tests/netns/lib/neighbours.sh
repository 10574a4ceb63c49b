# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# What the neighbours-* cases share: another program's firewall rules on the forward hook
# (tests/netns/fixtures/*.rules, loaded as that program writes them: through the iptables
# variant of the host kind), and one scenario run against them. On libvirt's nftables backend
# iptables-nft's FORWARD is a base chain of its own, whose policy DROP kills what our accept in
# libvirt's table let through unless an accept of ours is there too; on the iptables kinds our
# jump is in the same FORWARD chain.

VP_NB_FIXTURES=$(dirname "${BASH_SOURCE[0]}")/../fixtures

# vp_nb_load NAME: fixtures/NAME.rules into the host's tables.
vp_nb_load() {
	vp_h "$IPT-restore" -w --noflush <"$VP_NB_FIXTURES/$1.rules" ||
		vp_die "loading $1's rules with $IPT-restore failed"
}

vp_nb_reach() {  # WHEN: the client and guest2 (hairpin) reach guest1 through 2222
	vp_check_eq "$1: client -> $VP_HOST_ADDR:2222 reaches guest1" \
		"$(vp_tcp_get "$VP_CLIENT" "$VP_HOST_ADDR" 2222)" guest1
	vp_check_eq "$1: hairpin: guest2 -> $VP_HOST_ADDR:2222 reaches guest1" \
		"$(vp_tcp_get "$VP_GUEST2" "$VP_HOST_ADDR" 2222)" guest1
}

# Our rules in iptables-nft's filter table, as iptables-nft-save prints them.
vp_nb_ours_in_filter() {
	vp_h iptables-nft-save -t filter | grep -F -- "virt-portfwd:$VP_G1_UUID"
}

# The handles of the rules of ours in iptables-nft's filter CHAIN (nothing on the iptables kinds;
# nft does not show their xt comment: they are the rules matching ct status dnat).
vp_nb_handles() {
	[ "$VP_KIND" = nftables ] || return 0
	vp_h nft -a list chain ip filter "$1" 2>/dev/null | grep 'ct status dnat' | sed 's/.* # handle //'
}

# vp_nb_unaccept: our accept taken away by hand (nftables: ours in iptables-nft's filter table;
# iptables kinds: the jump to our chain in FORWARD).
vp_nb_unaccept() {
	if [ "$VP_KIND" = nftables ]; then
		vp_h iptables-nft-save -t filter | grep -vF -- "virt-portfwd:" |
			vp_h iptables-nft-restore -T filter
	else
		vp_h "$IPT" -w -D FORWARD -m comment --comment virt-portfwd -j VIRT_PORTFWD_FWD
	fi
}

# vp_nb_scenario OWNER CHAIN: guest1's forward against the neighbour's rules loaded in setup();
# CHAIN is where our accepts go on the nftables kind, OWNER what the doctor calls their owner.
vp_nb_scenario() {
	local owner=$1 chain=$2 failing="rules.shadow traffic"
	printf 'guest1 tcp 2222 22\n' | vp_write_table
	vp_check_eq "before started: client -> $VP_HOST_ADDR:2222 does not reach guest1" \
		"$(vp_tcp_get "$VP_CLIENT" "$VP_HOST_ADDR" 2222)" ""
	vp_hook_ok guest1 started begin
	vp_write_status guest1
	vp_nb_reach "started"
	if [ "$VP_KIND" = nftables ]; then
		vp_check_eq "started: our accept and its replies' are on top of $chain" \
			"$(vp_h iptables-nft -S "$chain" | grep -v '^-[NP]' | head -n 2 | grep -c virt-portfwd)" 2
	else
		vp_check_eq "started: nothing of ours but the jump in FORWARD" \
			"$(vp_h "$IPT" -S FORWARD | grep -c virt-portfwd)" 1
	fi
	vp_doctor_expect_healthy "started"
	vp_check "the doctor looked at $owner's FORWARD" grep -qF "($owner" "$VP_DOCTOR_OUT"
	vp_nb_unaccept
	vp_check_eq "our accept removed by hand: client -> 2222 does not reach guest1" \
		"$(vp_tcp_get "$VP_CLIENT" "$VP_HOST_ADDR" 2222)" ""
	# The connection just refused counts at our DNAT, not at our accept: traffic fails too.
	[ "$VP_KIND" = nftables ] || failing="rules.accept rules.shadow traffic"
	vp_doctor_expect_fail "our accept removed by hand" "$failing" "virt-portfwd apply"
	vp_check "our accept removed by hand: the doctor names $owner's FORWARD" \
		grep -q "rules.shadow.*filter FORWARD ($owner.*policy DROP" "$VP_DOCTOR_OUT"
	vp_check "apply" vp_cli apply
	vp_nb_reach "after apply"
	vp_doctor_expect_healthy "after apply"
	local before
	before=$(vp_nb_handles "$chain")
	[ "$VP_KIND" != nftables ] || vp_check_eq "after apply: our 2 rules are in $chain" \
		"$(grep -c . <<<"$before")" 2
	vp_check "apply again" vp_cli apply
	vp_check_eq "apply again: our rules in $chain are the same ones (handles)" \
		"$(vp_nb_handles "$chain")" "$before"
	vp_nb_reach "after a second apply"
	rm -f "$VP_ROOT/run/libvirt/qemu/guest1.xml"
	vp_hook_ok guest1 stopped end
	vp_check_eq "stopped: client -> 2222 does not reach guest1" \
		"$(vp_tcp_get "$VP_CLIENT" "$VP_HOST_ADDR" 2222)" ""
	vp_check_eq "stopped: nothing of ours in iptables-nft's filter table" "$(vp_nb_ours_in_filter)" ""
}
