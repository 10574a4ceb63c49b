# SPDX-License-Identifier: GPL-2.0-or-later
# doctor-firewalld-reload: on a firewalld host, a reload as firewalld < 2.0 does it (every table
# flushed, then libvirt adds its rules again) wipes ours: firewalld.reload fails, naming
# `virt-portfwd apply`, which repairs it.
# kinds: nft legacy nftables

. "$VP_LIB/doctor.sh"

setup() {
	vp_doctor_setup
}

# Every table flushed, then libvirt's rules and network status made again.
full_flush() {
	local t
	if [ "$VP_KIND" = nftables ]; then
		vp_h nft flush ruleset
	else
		for t in filter nat mangle; do
			vp_h "$IPT" -w -t "$t" -F
			vp_h "$IPT" -w -t "$t" -X
			vp_h "$IP6T" -w -t "$t" -F
			vp_h "$IP6T" -w -t "$t" -X
		done
	fi
	vp_libvirt_rules >/dev/null
	vp_ipv6_libvirt nat
}

run() {
	local conf=$VP_ROOT/etc/firewalld/firewalld.conf
	mkdir -p "${conf%/*}"
	printf '# firewalld config file\nFirewallBackend=nftables\nStrictForwardPorts=no\n' >"$conf"
	vp_doctor_start_healthy
	full_flush
	vp_doctor --json
	vp_check_eq "firewalld reload: the doctor exits 1" "$VP_DOCTOR_RC" 1
	vp_check "firewalld reload: firewalld.reload fails, naming apply" \
		grep -q '^{"check":"firewalld.reload",.*"ok":false.*virt-portfwd apply' "$VP_DOCTOR_OUT"
	vp_check "firewalld reload: apply repairs it" vp_cli apply
	vp_doctor_expect_healthy "after the reload and apply"
	rm -r "${conf%/*}"
	vp_doctor_stop
}
