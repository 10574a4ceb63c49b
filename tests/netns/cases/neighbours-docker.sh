# SPDX-License-Identifier: GPL-2.0-or-later
# neighbours-docker: Docker 28's rules (FORWARD policy DROP, DOCKER-USER, DOCKER-FORWARD, the
# isolation chains) through the host kind's iptables variant. The forward reaches guest1 from the
# client and from guest2; on libvirt's nftables backend our accepts are in DOCKER-USER, and stay
# there and work when Docker restarts (it keeps DOCKER-USER's rules and puts its jumps back on
# top of FORWARD); the doctor names Docker's FORWARD when our accept is taken away by hand and
# apply puts it back; stopped leaves the ruleset as it was, Docker's rules untouched.
# kinds: nft legacy nftables

. "$VP_LIB/doctor.sh"
. "$VP_LIB/neighbours.sh"

setup() {
	vp_nb_load docker-28
}

# Docker restarting: its jumps deleted and inserted again at the top of FORWARD; DOCKER-USER kept.
docker_restart() {
	vp_h "$IPT" -w -D FORWARD -j DOCKER-USER &&
		vp_h "$IPT" -w -D FORWARD -j DOCKER-FORWARD &&
		vp_h "$IPT" -w -I FORWARD 1 -j DOCKER-FORWARD &&
		vp_h "$IPT" -w -I FORWARD 1 -j DOCKER-USER
}

run() {
	vp_nb_scenario Docker DOCKER-USER
	vp_hook_ok guest1 started begin
	vp_check "Docker restarts" docker_restart
	vp_nb_reach "after Docker restarted"
	vp_hook_ok guest1 stopped end
}
