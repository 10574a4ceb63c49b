# SPDX-License-Identifier: GPL-2.0-or-later
# ipv6-cli: `virt-portfwd status` shows guest1's IPv6 forwards (bracketed, the range, the one
# bound to a host address) next to its IPv4 one; `--dry-run install` prints the IPv6 rules in
# the syntax of the backend that would write them, and the IPv4 ones too.
# kinds: nft legacy nftables

. "$VP_LIB/ipv6.sh"

setup() {
	vp_ipv6_setup nat
}

check_status() {
	local out G=$VP6_G1_IP
	vp_write_status guest1
	out=$(vp_cli status)
	vp_check_eq "status: [::]:2222 -> [guest1]:22 (lease)" \
		"$(grep -c "tcp  \[::\]:2222 -> \[$G\]:22 (lease, default)" <<<"$out")" 1
	vp_check_eq "status: [$VP6_HOST_ADDR]:2224 -> [guest1]:22" \
		"$(grep -c "tcp  \[$VP6_HOST_ADDR\]:2224 -> \[$G\]:22 " <<<"$out")" 1
	vp_check_eq "status: the range [::]:8080-8081 -> [guest1]:80-81" \
		"$(grep -c "\[::\]:8080-8081 -> \[$G\]:80-81 " <<<"$out")" 1
	vp_check_eq "status: IPv4 2222 -> guest1:22 unchanged" \
		"$(grep -c "tcp  2222 -> $VP_G1_IP:22 (lease, default)" <<<"$out")" 1
	rm -f "$VP_ROOT/run/libvirt/qemu/guest1.xml"
}

check_dry_run() {
	local out G=$VP6_G1_IP
	out=$(vp_cli --dry-run install <"$VP_FIX/guest1.xml")
	if [ "$VP_KIND" = nftables ]; then
		vp_check_eq "dry run: nft commands for ip6 virt_portfwd" "$(grep -c "^insert rule ip6 \
virt_portfwd prerouting .*dnat to \[$G\]:22 comment \"$VP6_OWNER\"$" <<<"$out")" 3
		vp_check_eq "dry run: the accept atop ip6 libvirt_network forward" "$(grep -c \
			"^insert rule ip6 libvirt_network forward oifname \"virbr0\" ip6 daddr $G " \
			<<<"$out")" 5
		vp_check_eq "dry run: no iptables syntax" "$(grep -c -- '^-A ' <<<"$out")" 0
	else
		vp_check_eq "dry run: ip6tables lines for VIRT_PORTFWD_PRE" \
			"$(grep -c "^-A VIRT_PORTFWD_PRE .*--to-destination \[$G\]:22$" <<<"$out")" 3
	fi
	vp_check_eq "dry run: the IPv4 forward is printed too (prerouting and output)" \
		"$(grep -cE "$VP_G1_IP:22( |$)" <<<"$out")" 2
}

run() {
	vp_hook_ok guest1 started
	check_status
	check_dry_run
	vp_hook_ok guest1 stopped end
}
