# SPDX-License-Identifier: GPL-2.0-or-later
# faults-hook-timeout: with `set hook-timeout 3`, whatever hangs for ever (our lock, the xtables
# lock, a firewall tool before, midway through and during the rollback of a change), one hook
# call is back in 3 s plus a margin, not after the 5 s or 30 s of its wait's own bound; it exits
# 0; it leaves nothing half-applied without a record (rolled back, or the state names the guest);
# the next call converges. started, stopped, reconnect and the network hook (one deadline for
# all its guests) alike. A reconnect pays its fork (measured).
# kinds: nft legacy nftables

# shellcheck source=../lib/faults.sh
. "$VP_LIB/faults.sh"

BOUND_MS=3000

# The hook is back within the bound: at most BOUND_MS plus 20 baselines (the work it did before
# and after the wait it gave up on; 200 ms at least).
check_in_time() {  # WHAT
	local margin=$((20 * FAULTS_BASE_MS))
	[ "$margin" -ge 200 ] || margin=200
	vp_check "$1: back within the ${BOUND_MS} ms hook-timeout + $margin ms (took $VP_MS ms,\
 baseline $FAULTS_BASE_MS ms)" test "$VP_MS" -le $((BOUND_MS + margin))
}

# our lock held for ever: started installs nothing, reconnect and stopped change nothing, the
# network hook gives up on both guests within one bound.
own_lock() {
	local rc mark w="our lock held for ever"
	faults_table "set hook-timeout 3"
	mark=$(vp_log_mark)
	faults_hold_lock "$FAULTS_STATE/lock" 60
	vp_timed faults_hook guest1 started
	rc=$?
	vp_check_eq "$w, started: exit 0" "$rc" 0
	check_in_time "$w, started"
	vp_check "$w: the log names the lock and the hook-timeout" \
		grep -q "lock .* is still held by another process after [0-9]* ms (set hook-timeout)" \
		<(vp_log_since "$mark")
	vp_check_eq "$w, started: no rule of guest1, no state" "$(vp_g1_rules):$(faults_g1_state)" \
		0:absent
	vp_timed faults_hook guest2 reconnect
	rc=$?
	vp_check_eq "$w, reconnect: exit 0" "$rc" 0
	check_in_time "$w, reconnect"
	vp_timed faults_hook guest2 stopped end
	rc=$?
	vp_check_eq "$w, stopped: exit 0" "$rc" 0
	check_in_time "$w, stopped"
	faults_check_g2_untouched "$w, stopped gave up"
	faults_release_lock
	vp_hook_ok guest1 started
	faults_hold_lock "$FAULTS_STATE/lock" 60
	vp_write_status guest1
	vp_timed vp_network_hook started "${FAULTS_BASE_ENV[@]}"
	rc=$?
	vp_check_eq "$w, the network hook: exit 0" "$rc" 0
	check_in_time "$w, the network hook (two guests, one deadline)"
	vp_check "$w, the network hook: the guests left are named" \
		grep -q "hook-timeout) is up: guest[12] and the guests after it" <(vp_log_since "$mark")
	faults_release_lock
	rm -f "$VP_ROOT/run/libvirt/qemu/guest1.xml"
	vp_hook_ok guest1 stopped end
	faults_check_g2_only "$w, released"
	faults_check_recovers "$w, released"
}

# The xtables lock (libiptc) held for ever: its own bound is 5 s, the hook's 3 s.
xtables_lock() {
	local rc w="the xtables lock held for ever"
	faults_table "set hook-timeout 3"
	faults_hold_lock "$VP_LOCK" 60
	vp_timed faults_hook guest1 started
	rc=$?
	faults_release_lock
	vp_check_eq "$w: exit 0" "$rc" 0
	check_in_time "$w"
	vp_check_eq "$w: no rule of guest1" "$(vp_g1_rules)" 0
	faults_check_g2_only "$w"
	faults_check_recovers "$w, released"
}

# hang_case WHAT PLAN WANT [SECONDS]: iptables-nft-restore follows PLAN (the shim's lines); WANT is
# what is left of guest1: "none" (rolled back), or "recorded" (the rollback hung too: some
# accepts, never a DNAT, and the state names guest1 so that the next call finishes the job).
# SECONDS is the hook-timeout (default 3).
hang_case() {
	local w="$1" rc mark pid BOUND_MS=$((${4:-3} * 1000))
	faults_table "set hook-timeout ${4:-3}"
	mark=$(vp_log_mark)
	: >"$FAULTS_CTL/iptables-nft-restore.log"
	printf '%b' "$2" >"$FAULTS_CTL/iptables-nft-restore.plan"
	vp_timed faults_hook guest1 started
	rc=$?
	faults_disarm
	vp_check_eq "$w: exit 0" "$rc" 0
	check_in_time "$w"
	vp_check "$w: the log says the tool was killed" \
		grep -q "iptables-nft-restore.*did not finish in time" <(vp_log_since "$mark")
	for pid in $(sed -n 's/^.*hung pid //p' "$FAULTS_CTL/iptables-nft-restore.log"); do
		vp_check "$w: the stuck tool (pid $pid) was killed" test ! -e "/proc/$pid"
	done
	vp_check_eq "$w: no DNAT of guest1" \
		"$(vp_rules_owned "$VP_G1_UUID" | grep -c -- '-j DNAT')" 0
	vp_check_owned "$w"
	if [ "$3" = none ]; then
		vp_check_eq "$w: rolled back, no rule of guest1" "$(vp_g1_rules)" 0
	else
		vp_check_eq "$w: what is left is recorded: the state of guest1 stays" \
			"$(faults_g1_state)" present
	fi
	faults_check_recovers "$w"
}

# Reconnect forks (its work cannot crash libvirt's guest): what that costs, against a started
# that has as little to do (the forwards are in place, both change nothing).
fork_cost() {
	local s r
	faults_table
	vp_hook_ok guest1 started
	s=$(vp_hook_us guest1 started)
	r=$(vp_hook_us guest1 reconnect)
	echo "# measured: an idempotent started $s µs, reconnect (forked) $r µs, best of 5"
	# A sanitizer's shadow memory makes every fork expensive: that build measures only.
	[ "${VP_SANITIZE:-none}" = none ] && vp_check_ratio "reconnect, forked, costs about what started does, in µs" "$r" "$s" 3 5000
	vp_hook_ok guest1 stopped end
}

run() {
	faults_start_g2
	faults_baseline
	fork_cost
	own_lock
	case "$VP_KIND" in
	legacy) xtables_lock ;;
	nft)
		hang_case "restore hangs for ever" 'hang\nhang\nhang\nhang\n' none
		# The rollback has the quarter of the time left that the hook keeps for it: 12 s give
		# it 3 s, which a busy machine running the sanitizer build needs (3 s gave 0.75).
		hang_case "restore hangs midway, rolled back" 'hang-block 2\n' none 12
		hang_case "restore hangs midway, its rollback too" 'hang-block 2\nhang\nhang\n' \
			recorded
		;;
	esac
	faults_check_g2_only "hook-timeout"
	faults_stop_g2
}
