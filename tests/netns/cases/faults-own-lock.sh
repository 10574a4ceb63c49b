# SPDX-License-Identifier: GPL-2.0-or-later
# faults-own-lock: our own lock (serialising hooks) held by a stuck process: a wait ends at
# min(its own bound, the hook's time), and here the hook's default 20 s hook-timeout is below
# the lock's own 30 s: the hook waits 20 s (so this case takes 20 s), says which lock and why it
# gave up then, exits 0 and installs nothing; once the lock is released, started works.
# kinds: nftables

# shellcheck source=../lib/faults.sh
. "$VP_LIB/faults.sh"

run() {
	local rc mark took
	faults_start_g2
	faults_baseline
	mark=$(vp_log_mark)
	faults_hold_lock "$FAULTS_STATE/lock" 60
	vp_timed faults_hook guest1 started
	rc=$?
	faults_release_lock
	took="took $VP_MS ms, baseline $FAULTS_BASE_MS ms"
	vp_check_eq "our lock held by a stuck process: exit 0" "$rc" 0
	vp_check "our lock held: the hook gives up at the 20 s hook-timeout, plus at most 100\
 baselines ($took)" test "$VP_MS" -ge 20000 -a "$VP_MS" -le $((20000 + 100 * FAULTS_BASE_MS))
	vp_check "our lock held: the log says which lock, and that the hook's time was up" \
		grep -q "lock .* is still held by another process after 19[0-9][0-9][0-9] ms (set\
 hook-timeout)" <(vp_log_since "$mark")
	vp_check_eq "our lock held: no rule of guest1" "$(vp_g1_rules)" 0
	faults_check_g2_only "our lock held"
	faults_check_recovers "our lock released"
	faults_stop_g2
}
