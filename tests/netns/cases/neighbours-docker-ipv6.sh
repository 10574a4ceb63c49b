# SPDX-License-Identifier: GPL-2.0-or-later
# neighbours-docker-ipv6: Docker's IPv4 and IPv6 rules (both FORWARD policies DROP) with the
# network's IPv6 subnet NAT'd: guest1's IPv6 forwards reach it from the client, from guest2 and
# from the host, its IPv4 forward too; on libvirt's nftables backend the IPv6 accepts are in
# ip6tables-nft's DOCKER-USER; stopped gives the ruleset back, Docker's rules untouched.
# kinds: nft legacy nftables

. "$VP_LIB/ipv6.sh"
. "$VP_LIB/neighbours.sh"

setup() {
	vp_ipv6_setup nat
	vp_nb_load docker-28
	vp_h "$IP6T-restore" -w --noflush <"$VP_NB_FIXTURES/docker-28-ipv6.rules" ||
		vp_die "loading Docker's IPv6 rules failed"
}

run() {
	vp_hook_ok guest1 started
	vp_ipv6_check_forwards NAT66
	if [ "$VP_KIND" = nftables ]; then
		vp_check "started: our IPv6 accepts are in ip6 filter DOCKER-USER" \
			test "$(vp_h ip6tables-nft -S DOCKER-USER | grep -c virt-portfwd)" -ge 2
	fi
	vp_ipv6_check_stop NAT66
}
