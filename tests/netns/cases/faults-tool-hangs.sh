# SPDX-License-Identifier: GPL-2.0-or-later
# faults-tool-hangs: iptables-nft-restore hangs, with `set hook-timeout 60`: a wait ends at
# min(its own bound, the hook's time), and here the tool's own is the smaller: the hook kills it
# after its 30 s bound (so this case takes 30 s), says so, exits 0 and leaves no rule of guest1;
# the next started works. (faults-hook-timeout: the hook's time the smaller.)
# kinds: nft

# shellcheck source=../lib/faults.sh
. "$VP_LIB/faults.sh"

run() {
	local rc mark pid took
	faults_start_g2
	faults_baseline
	faults_table "set hook-timeout 60"
	mark=$(vp_log_mark)
	echo hang >"$FAULTS_CTL/iptables-nft-restore.plan"
	vp_timed faults_hook guest1 started
	rc=$?
	faults_disarm
	vp_check_eq "restore hangs: exit 0" "$rc" 0
	took="took $VP_MS ms, baseline $FAULTS_BASE_MS ms"
	vp_check "restore hangs: the hook gives up after the 30 s bound, plus at most 100 baselines\
 ($took)" \
		test "$VP_MS" -le $((30000 + 100 * FAULTS_BASE_MS))
	vp_check "restore hangs: the log says the tool was killed" \
		grep -q "iptables-nft-restore.*did not finish in time" <(vp_log_since "$mark")
	vp_check_eq "restore hangs: no rule of guest1 is left" "$(vp_g1_rules)" 0
	pid=$(sed -n 's/^hang hung pid //p' "$FAULTS_CTL/iptables-nft-restore.log")
	vp_check "restore hangs: the stuck tool (pid $pid) was killed" \
		test -n "$pid" -a ! -e "/proc/$pid"
	faults_check_g2_only "restore hangs"
	faults_check_recovers "restore hangs"
	faults_table
	faults_stop_g2
}
