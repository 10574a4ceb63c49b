# SPDX-License-Identifier: GPL-2.0-or-later
# doctor-shadow: a foreign rule ahead of ours fails rules.shadow, its fix deleting that rule: a
# DROP in FORWARD (only guest1's 2222 is shadowed), a DNAT in nat PREROUTING; rules that do not
# touch the forwards' traffic are no finding. (Other base chains on the forward hook that drop,
# on every host kind: doctor-forward-hooks, neighbours-*.)
# kinds: nft legacy

. "$VP_LIB/doctor.sh"

setup() {
	vp_doctor_setup
}

run() {
	local ipt="vp_h $IPT -w"
	vp_doctor_start_healthy
	$ipt -I FORWARD 1 -d "$VP_G1_IP/32" -p tcp --dport 22 -j DROP
	vp_doctor_expect_fail "foreign DROP ahead" "rules.shadow" "-t filter -D FORWARD 1"
	vp_check "foreign DROP ahead: only guest1's 2222 is shadowed" \
		test "$(grep -c '^{"check":"rules.shadow",.*"ok":false' "$VP_DOCTOR_OUT")" = 1
	$ipt -D FORWARD 1
	$ipt -t nat -I PREROUTING 1 -p tcp --dport 2322 -j DNAT --to-destination 192.168.122.99:22
	vp_doctor_expect_fail "foreign DNAT ahead" "rules.shadow" "-t nat -D PREROUTING 1"
	$ipt -t nat -D PREROUTING 1
	$ipt -I FORWARD 1 -s 203.0.113.0/24 -d "$VP_G1_IP/32" -j DROP
	$ipt -I FORWARD 1 -d 192.168.122.99/32 -p tcp --dport 22 -j REJECT
	vp_doctor_expect_healthy "DROPs for other traffic"
	$ipt -D FORWARD 1
	$ipt -D FORWARD 1
	vp_doctor_expect_healthy "foreign rules removed"
	vp_doctor_stop
}
