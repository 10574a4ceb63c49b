# SPDX-License-Identifier: GPL-2.0-or-later
# faults-xtables-lock: libiptc must hold the xtables lock, and a holder that never lets go costs
# us 5 s at most: the hook then gives up with the exit status on-error asks for (continue: 0,
# abort: 1), names the lock, installs nothing; once it is released, started works.
# kinds: legacy

# shellcheck source=../lib/faults.sh
. "$VP_LIB/faults.sh"

run() {
	local rc mark on want took
	faults_start_g2
	faults_baseline
	for on in continue abort; do
		want=0
		[ "$on" = continue ] || want=1
		faults_table "set on-error $on"
		mark=$(vp_log_mark)
		faults_hold_lock "$VP_LOCK" 30
		vp_timed faults_hook guest1 started
		rc=$?
		faults_release_lock
		took="took $VP_MS ms, baseline $FAULTS_BASE_MS ms"
		vp_check_eq "xtables lock held (on-error $on): exit status $want" "$rc" "$want"
		vp_check "xtables lock held: the hook gives up after the 5 s bound, plus at most\
 100 baselines ($took)" test "$VP_MS" -ge 5000 -a "$VP_MS" -le $((5000 + 100 * FAULTS_BASE_MS))
		vp_check "xtables lock held: the log names the lock and the wait" \
			grep -q "xtables lock .* is still held by another process after 5000 ms" \
			<(vp_log_since "$mark")
		vp_check_eq "xtables lock held (on-error $on): no rule of guest1" "$(vp_g1_rules)" 0
		faults_check_g2_only "xtables lock held (on-error $on)"
	done
	faults_table
	faults_check_recovers "xtables lock released"
	faults_stop_g2
}
