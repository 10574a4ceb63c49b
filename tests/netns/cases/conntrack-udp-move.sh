# SPDX-License-Identifier: GPL-2.0-or-later
# conntrack-udp-move: a UDP client that keeps sending from one source port follows its forward
# when `apply` moves it from guest1 to guest2: within a second its datagrams reach guest2 (its
# conntrack entry, which still said guest1, was ended), while another UDP flow, to a forward
# that stayed, keeps going to guest1 with its entry untouched.
# kinds: nft legacy nftables

# shellcheck source=../lib/conntrack.sh
. "$VP_LIB/conntrack.sh"
# shellcheck source=../lib/lifecycle.sh
. "$VP_LIB/lifecycle.sh"

table() {  # GUEST-OF-5000
	vp_write_table <<-EOF2
	$1    udp    5000        5001
	guest1    udp    5002        5002
	EOF2
}

run() {
	vp_ct_move_start 4
	vp_check "before: nothing reaches guest2" vp_ct_still g2-moved
	sleep 2   # the other flow's entry is 3 s old or more when the table changes
	local t0 a0
	a0=$(vp_ct_age 40002)
	t0=$(date +%s)
	vp_check "before: the other flow's conntrack entry is 3 s old or more" test "${a0:-0}" -ge 3
	table guest2
	vp_check "apply after moving 5000 to guest2: exit 0" vp_quiet vp_cli apply
	vp_check "moved: the same stream reaches guest2 within a second" vp_ct_grows g2-moved 10
	echo "# measured: $VP_KIND: the moved UDP stream reached guest2 within $((VP_CT_TOOK * 100)) ms of apply's return"
	vp_check "moved: nothing more reaches guest1's old port" vp_ct_still g1-moved
	vp_check "moved: the stream to 5002 still reaches guest1" vp_ct_grows g1-other 10
	# Its entry ended and made anew, it would be at most as old as the change.
	vp_check "moved: the other flow's conntrack entry is the one from before the change" \
		test "$(vp_ct_age 40002)" -ge $(($(date +%s) - t0 + 2))
	vp_recon_stop guest1 guest2
	vp_check "stopped: their connections are ended (our lock is free)" vp_ct_settled
	vp_check "stopped: nothing reaches guest2 any more" vp_ct_still g2-moved
	vp_check "stopped: nothing reaches guest1 any more" vp_ct_still g1-other
}
