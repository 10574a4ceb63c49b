# SPDX-License-Identifier: GPL-2.0-or-later
# conntrack-stop-start: the qemu hook's stopped ends the guest's flows after it has answered,
# from a detached child that holds our lock until they are ended; a started run right after it
# waits for that lock, so it finds the old flows gone and puts its own rules in place, and the
# flows that come through them are not ended by the stop before it. A UDP stream from one source
# port tells an ended entry by its age; a TCP connection tells it at its next write.
# kinds: nft legacy nftables

# shellcheck source=../lib/conntrack.sh
. "$VP_LIB/conntrack.sh"
# shellcheck source=../lib/lifecycle.sh
. "$VP_LIB/lifecycle.sh"

run() {
	vp_ct_echo "$VP_GUEST1" 7000
	vp_ct_sink "$VP_GUEST1" 5001 g1
	vp_write_table <<-'EOF2'
	guest1    tcp    2222        7000
	guest1    udp    5000        5001
	EOF2
	vp_hook_ok guest1 started
	vp_write_status guest1
	vp_ct_timestamps
	vp_ct_stream 5000 40000
	vp_check "before: the stream to 5000 reaches guest1" vp_ct_grows g1 30
	# The stream's entry 2 s old or more when the guest stops: then, at any later time, it is
	# older than the whole seconds since (date +%s) by 2 or more, and a new entry is not.
	sleep 2
	local t0 a0
	a0=$(vp_ct_oldest 40000)
	vp_check "before: the stream's conntrack entry is 2 s old or more" test "${a0:-0}" -ge 2
	t0=$(date +%s)
	vp_hook_ok guest1 stopped end
	vp_hook_ok guest1 started
	# No wait between the two, nor after: started took our lock after stopped's child let it go.
	local age
	age=$(vp_ct_oldest 40000)
	echo "# measured: $VP_KIND: right after started, the stream's oldest entry is ${age:-none} s old, $(($(date +%s) - t0)) s after the stop"
	vp_check "started right after stopped: no conntrack entry of the stream is from before" \
		test "${age:-0}" -le $(($(date +%s) - t0))
	vp_ct_connect new 2222
	vp_ct_say new one
	vp_check "started right after stopped: a new connection through 2222 echoes" \
		vp_ct_echoed new one
	vp_check "started: the flows it ends are ended (our lock is free)" vp_ct_settled
	vp_check "started: the stream reaches guest1 again" vp_ct_grows g1 10
	vp_ct_say new two
	vp_check "started: the new connection still echoes" vp_ct_echoed new two
	vp_check "started: ... and is still open" vp_ct_open new
	vp_recon_stop guest1
	vp_check "stopped: its connections are ended (our lock is free)" vp_ct_settled
	vp_check "stopped: nothing reaches guest1 any more" vp_ct_still g1
	vp_ct_say new three
	vp_check "stopped: the connection through 2222 is closed at its next write" vp_ct_ended new
	vp_check "stopped: ... by a reset (socat: Connection reset by peer)" \
		grep -q "Connection reset by peer" "$VP_TMP/new.err"
}
