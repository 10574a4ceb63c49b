# SPDX-License-Identifier: GPL-2.0-or-later
# conntrack-tcp-remove: an established TCP connection through a forward that `apply` removes is
# closed (the client's next write is answered with a reset), while a connection through a
# forward that stays goes on; guest1's stopped then closes that one too.
# kinds: nft legacy nftables

# shellcheck source=../lib/conntrack.sh
. "$VP_LIB/conntrack.sh"
# shellcheck source=../lib/lifecycle.sh
. "$VP_LIB/lifecycle.sh"

run() {
	vp_ct_echo "$VP_GUEST1" 7000
	vp_ct_echo "$VP_GUEST1" 7001
	vp_write_table <<-'EOF2'
	guest1    tcp    2222        7000
	guest1    tcp    2224        7001
	EOF2
	vp_hook_ok guest1 started
	vp_write_status guest1
	vp_ct_connect removed 2222
	vp_ct_connect kept 2224
	vp_ct_say removed one
	vp_ct_say kept one
	vp_check "before: the connection through 2222 echoes" vp_ct_echoed removed one
	vp_check "before: the connection through 2224 echoes" vp_ct_echoed kept one
	vp_write_table <<-'EOF2'
	guest1    tcp    2224        7001
	EOF2
	vp_check "apply after removing 2222: exit 0" vp_quiet vp_cli apply
	vp_ct_say removed two
	vp_check "removed: the connection through 2222 is closed at its next write" \
		vp_ct_ended removed
	echo "# measured: $VP_KIND: the connection through the removed forward was reset at its next write; its client ended within $((VP_CT_TOOK * 100)) ms (socat waits 0.5 s after a reset)"
	vp_check "removed: ... by a reset (socat: Connection reset by peer)" \
		grep -q "Connection reset by peer" "$VP_TMP/removed.err"
	vp_check "removed: ... and its data never reached guest1" \
		bash -c "! grep -qx two '$VP_TMP/removed.out'"
	vp_ct_say kept two
	vp_check "removed: the connection through 2224 still echoes" vp_ct_echoed kept two
	vp_check "removed: ... and is still open" vp_ct_open kept
	vp_recon_stop guest1
	vp_check "stopped: its connections are ended (our lock is free)" vp_ct_settled
	vp_ct_say kept three
	vp_check "stopped: the connection through 2224 is closed at its next write" vp_ct_ended kept
}
