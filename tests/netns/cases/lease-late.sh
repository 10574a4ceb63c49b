# SPDX-License-Identifier: GPL-2.0-or-later
# lease-late: guest1's lease appears only after 'started'. The hook returns at once and leaves
# one detached waiter (its own session, nothing inherited), which installs the forward soon after
# the lease appears and goes; 'stopped' then gives back the ruleset from before.
# kinds: nft legacy nftables

# shellcheck source=../lib/lifecycle.sh
. "$VP_LIB/lifecycle.sh"

# The baseline of the times checked here: guest1's started with its lease already there (it
# installs the forward), best of 3, each followed by its stopped. Sets BASE_MS.
measure_baseline() {
	local _
	BASE_MS=999999
	for _ in 1 2 3; do
		vp_lease_came
		vp_timed vp_hook guest1 started || vp_die "baseline: guest1 started failed"
		[ "$VP_MS" -lt "$BASE_MS" ] && BASE_MS=$VP_MS
		vp_hook guest1 stopped end || vp_die "baseline: guest1 stopped failed"
	done
	echo "# measured: baseline, guest1 started with its lease: $BASE_MS ms (best of 3)"
}

fds_of() {  # PID: what its file descriptors point to, one a line
	local f
	for f in "/proc/$1/fd"/*; do
		readlink "$f"
	done
}

check_waiter_detached() {
	local pid
	pid=$(vp_waiter_pids "$VP_G1_UUID" | head -n 1)
	vp_check_eq "waiter: in its own session" "$(ps -o sid= -p "$pid" | tr -d ' ')" "$pid"
	# Its own inotify instance (and a syslog socket once it logs) aside, nothing inherited.
	vp_check_eq "waiter: stdin, stdout, stderr on /dev/null and no inherited fd" \
		"$(fds_of "$pid" | grep -v -e '^anon_inode:inotify$' -e '^socket:' | sort -u |
			tr '\n' ' ')" "/dev/null "
}

run() {
	local ms
	vp_lease_table
	measure_baseline
	vp_snapshot "$VP_TMP/snap.base"
	vp_check_same_file "baseline runs: ruleset identical to before" "$VP_S0" "$VP_TMP/snap.base"
	vp_lease_none_yet
	vp_timed vp_hook_ok guest1 started
	vp_check_ratio "no lease yet: the hook returned at once, in ms" "$VP_MS" "$BASE_MS" 20
	vp_check_eq "no lease yet: one waiter runs" "$(vp_lease_waiters)" 1
	vp_check_eq "no lease yet: 2222 is closed" \
		"$(vp_tcp_get "$VP_CLIENT" "$VP_HOST_ADDR" 2222)" ""
	check_waiter_detached
	# libvirt's leases helper writes the lease a few seconds into the guest's boot.
	sleep 5
	vp_lease_came
	ms=$(vp_lease_wait_forward_ms guest1 30)
	vp_check_ratio "lease appeared: 2222 reaches guest1 (in ms, polled every 100 ms)" \
		"$ms" "$BASE_MS" 20 300
	vp_check_eq "lease appeared: the waiter is gone" "$(vp_lease_waiters_gone 5)" 0
	vp_hook_ok guest1 stopped end
	vp_snapshot "$VP_TMP/snap.stopped"
	vp_check_same_file "stopped: ruleset identical to before started" "$VP_S0" \
		"$VP_TMP/snap.stopped"
}
