# SPDX-License-Identifier: GPL-2.0-or-later
# neighbours-docker27: neighbours-docker against Docker 26 and 27's rules (FORWARD policy DROP,
# DOCKER-USER with its RETURN, the isolation chains and docker0's rules in FORWARD itself).
# kinds: nft legacy nftables

. "$VP_LIB/doctor.sh"
. "$VP_LIB/neighbours.sh"

setup() {
	vp_nb_load docker-27
}

run() {
	vp_nb_scenario Docker DOCKER-USER
}
