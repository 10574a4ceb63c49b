# SPDX-License-Identifier: GPL-2.0-or-later
# reconcile-status: `virt-portfwd status` names each running guest's forward with its address
# and where that came from, the backend that installed it, and its rules' packet counters.
# kinds: nft legacy nftables

# shellcheck source=../lib/lifecycle.sh
. "$VP_LIB/lifecycle.sh"

run() {
	local out
	vp_recon_start
	# Traffic for the counters: DNAT and accept see these connections.
	vp_recon_works "started"
	out=$(vp_cli status)
	vp_check "status shows guest1's forward with its lease address" \
		grep -q "tcp  2222 -> 192.168.122.10:22 (lease, default)" <<<"$out"
	vp_check "status shows the packet counters of guest1's rules (DNAT and accept saw traffic)" \
		grep -Eq "packets: dnat [1-9][0-9]*, local [0-9]+, hairpin [0-9]+, accept [1-9]" <<<"$out"
	vp_check "status says guest1 is installed with the backend" \
		grep -q "^guest1 ($VP_G1_UUID): installed with " <<<"$out"
	vp_recon_stop guest1 guest2
}
