# SPDX-License-Identifier: GPL-2.0-or-later
# doctor-probe: --probe connects from the host itself through its own address: to guest1's 2222
# over IPv4 and IPv6, only for the GUEST and PORT asked; a forward to a port nothing listens on
# fails the probe, naming that, and the connection's refusal is in the detail.
# kinds: nft legacy nftables

. "$VP_LIB/doctor.sh"

setup() {
	vp_doctor_setup
}

run() {
	local out=$VP_DOCTOR_OUT
	vp_doctor_start_healthy
	vp_doctor --json --probe guest1 2222
	vp_check_eq "probe guest1 2222: exit 0" "$VP_DOCTOR_RC" 0
	vp_check "probe guest1 2222: connected" \
		grep -q '^{"check":"probe","subject":"guest1 tcp 2222","ok":true' "$out"
	vp_check "probe guest1 [::]:2222: connected" \
		grep -qF '{"check":"probe","subject":"guest1 tcp [::]:2222","ok":true' "$out"
	vp_check "probe guest1 2222: only that guest and port" \
		test -z "$(grep -e guest2 -e 8080 "$out")"
	vp_doctor_expect_fail "probe of a port nothing listens on" "probe" "listens on port 99" --probe
	vp_doctor guest2 2399 --probe --json
	vp_check "probe guest2 2399: refused" \
		grep -qF '{"check":"probe","subject":"guest2 tcp 2399","ok":false,'\
'"detail":"connecting to 192.168.122.1:2399 from the host: Connection refused"' "$out"
	vp_doctor_stop
}
