# SPDX-License-Identifier: GPL-2.0-or-later
# doctor-firewalld-strict: firewalld's StrictForwardPorts=yes (firewalld then rejects forwarded
# connections to DNAT rules it did not make) fails firewalld.strict, its fix StrictForwardPorts=no;
# with that, every check passes, the firewalld reload check among them.
# kinds: nft legacy nftables

. "$VP_LIB/doctor.sh"

setup() {
	vp_doctor_setup
}

run() {
	local conf=$VP_ROOT/etc/firewalld/firewalld.conf
	vp_doctor_start_healthy
	mkdir -p "${conf%/*}"
	printf '# firewalld config file\nFirewallBackend=nftables\nStrictForwardPorts=yes\n' >"$conf"
	vp_doctor_expect_fail "StrictForwardPorts=yes" "firewalld.strict" "StrictForwardPorts=no"
	sed -i 's/^StrictForwardPorts=yes/StrictForwardPorts=no/' "$conf"
	vp_doctor_expect_healthy "StrictForwardPorts=no"
	vp_check "firewalld present: the reload check runs" \
		grep -q '^{"check":"firewalld.reload",.*"ok":true' "$VP_DOCTOR_OUT"
	rm -r "${conf%/*}"
	vp_doctor_stop
}
