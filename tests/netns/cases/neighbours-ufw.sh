# SPDX-License-Identifier: GPL-2.0-or-later
# neighbours-ufw: ufw's forward chains with DEFAULT_FORWARD_POLICY="DROP" through the host kind's
# iptables variant. The forward reaches guest1; on libvirt's nftables backend our accepts are at
# the top of FORWARD (ufw has no DOCKER-USER); the doctor names ufw's FORWARD when our accept is
# taken away by hand; stopped leaves the ruleset as it was, ufw's rules untouched.
# kinds: nft legacy nftables

. "$VP_LIB/doctor.sh"
. "$VP_LIB/neighbours.sh"

setup() {
	vp_nb_load ufw
}

run() {
	vp_nb_scenario ufw FORWARD
}
