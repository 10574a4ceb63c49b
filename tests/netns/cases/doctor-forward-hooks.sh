# SPDX-License-Identifier: GPL-2.0-or-later
# doctor-forward-hooks: a native nftables table of someone else's whose forward-hook base chain
# drops (a user's inet table with policy drop; the same chain accepting by policy but dropping
# everything at its rule 2; a table named as firewalld's) fails rules.shadow for every forward
# of the family, naming the chain, its owner when the name tells, and a fix; a chain that drops
# only on a condition, one of another family, and one that accepts DNAT'd connections before
# it drops (`ct status dnat accept`, as firewalld writes it) are no finding. virt-portfwd writes nothing
# into such a table.
# kinds: nft legacy nftables

. "$VP_LIB/doctor.sh"

setup() {
	vp_doctor_setup
}

expect_named() {  # WHAT TEXT...: the first failing rules.shadow line names each TEXT
	local line t
	line=$(grep -m 1 '^{"check":"rules.shadow",.*"ok":false' "$VP_DOCTOR_OUT")
	for t in "${@:2}"; do
		vp_check "$1: the doctor says '$t'" grep -qF -- "$t" <<<"$line"
	done
}

run() {
	local n=vp_h
	vp_doctor_start_healthy
	$n nft add table inet mine
	$n nft add chain inet mine guard '{ type filter hook forward priority 10; policy drop; }'
	vp_doctor_expect_fail "inet mine guard policy drop" "rules.shadow" "nft insert rule inet mine guard"
	expect_named "inet mine guard policy drop" "inet mine guard (owner unknown, nftables) has policy drop" \
		"does not write into another program's nftables table"
	vp_check_eq "inet mine guard policy drop: every forward fails (4 IPv4, 1 IPv6)" \
		"$(grep -c '^{"check":"rules.shadow",.*"ok":false' "$VP_DOCTOR_OUT")" 5
	vp_check_eq "inet mine: nothing of ours written there" \
		"$($n nft list table inet mine | grep -c 'ct status dnat')" 0
	$n nft add chain inet mine guard '{ policy accept; }'
	$n nft add rule inet mine guard ip saddr 203.0.113.0/24 drop
	$n nft add rule inet mine guard counter drop
	vp_doctor_expect_fail "inet mine guard drops at rule 2" "rules.shadow" "nft insert rule"
	expect_named "inet mine guard drops at rule 2" "drops everything at its rule 2"
	$n nft delete table inet mine
	$n nft add table ip6 mine
	$n nft add chain ip6 mine guard '{ type filter hook forward priority 10; policy drop; }'
	vp_doctor_expect_fail "ip6 mine guard policy drop" "rules.shadow" "nft insert rule ip6 mine"
	vp_check_eq "ip6 mine guard policy drop: only the IPv6 forward fails" \
		"$(grep -c '^{"check":"rules.shadow",.*"ok":false' "$VP_DOCTOR_OUT")" 1
	$n nft delete table ip6 mine
	$n nft add table inet firewalld
	$n nft add chain inet firewalld filter_FORWARD \
		'{ type filter hook forward priority 10; policy accept; }'
	$n nft add rule inet firewalld filter_FORWARD reject
	vp_doctor_expect_fail "firewalld's forward rejects" "rules.shadow" "StrictForwardPorts"
	expect_named "firewalld's forward rejects" "inet firewalld filter_FORWARD (firewalld's, nftables)"
	# As firewalld itself writes it (StrictForwardPorts=no): DNAT'd connections accepted first.
	$n nft insert rule inet firewalld filter_FORWARD ct status dnat accept
	$n nft insert rule inet firewalld filter_FORWARD ct state established,related accept
	vp_doctor_expect_healthy "firewalld's forward accepts DNAT'd connections before its reject"
	$n nft delete table inet firewalld
	$n nft add table inet mine
	$n nft add chain inet mine guard '{ type filter hook forward priority 10; policy accept; }'
	$n nft add rule inet mine guard ip saddr 203.0.113.0/24 drop
	vp_doctor_expect_healthy "a conditional drop only"
	$n nft delete table inet mine
	vp_doctor_expect_healthy "the tables removed"
	vp_doctor_stop
}
