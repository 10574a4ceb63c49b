# SPDX-License-Identifier: GPL-2.0-or-later
# doctor-forwarding: with the host's IPv4 forwarding off, host.ip_forward fails alone, naming
# the sysctl that turns it on; the same for IPv6 (host.ipv6_forwarding, the table has an IPv6
# forward); on again, every check passes.
# kinds: nft legacy nftables

. "$VP_LIB/doctor.sh"

setup() {
	vp_doctor_setup
}

sysctl_host() {  # NAME=VALUE
	ip netns exec "$VP_HOST" sysctl -qw "$1"
}

run() {
	vp_doctor_start_healthy
	sysctl_host net.ipv4.ip_forward=0
	vp_doctor_expect_fail "ip_forward off" "host.ip_forward" "sysctl -w net.ipv4.ip_forward=1"
	sysctl_host net.ipv4.ip_forward=1
	vp_doctor_expect_healthy "ip_forward on"
	sysctl_host net.ipv6.conf.all.forwarding=0
	vp_doctor_expect_fail "IPv6 forwarding off" "host.ipv6_forwarding" \
		"sysctl -w net.ipv6.conf.all.forwarding=1"
	sysctl_host net.ipv6.conf.all.forwarding=1
	vp_doctor_expect_healthy "IPv6 forwarding on"
	vp_doctor_stop
}
