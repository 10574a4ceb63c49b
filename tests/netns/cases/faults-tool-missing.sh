# SPDX-License-Identifier: GPL-2.0-or-later
# faults-tool-missing: the iptables tools missing from PATH, or iptables-nft-save unable to list:
# the hook exits 0 with a clear error and installs nothing; once the tools work, started does.
# kinds: nft

# shellcheck source=../lib/faults.sh
. "$VP_LIB/faults.sh"

run() {
	local rc mark
	faults_start_g2
	mark=$(vp_log_mark)
	vp_hook_env guest1 started begin PATH=/nonexistent-$$
	rc=$?
	vp_check_eq "no iptables-nft-restore in PATH: exit 0" "$rc" 0
	vp_check "no iptables-nft-restore in PATH: a clear error" \
		grep -q "cannot run iptables-nft-save: No such file or directory" \
		<(vp_log_since "$mark")
	faults_check_g2_only "no iptables tools in PATH"

	echo fail >"$FAULTS_CTL/iptables-nft-save.plan"
	faults_hook guest1 started
	rc=$?
	faults_disarm
	vp_check_eq "iptables-nft-save fails: exit 0" "$rc" 0
	vp_check_eq "iptables-nft-save fails: no rule of guest1 is left" "$(vp_g1_rules)" 0
	faults_check_g2_only "iptables-nft-save fails"
	faults_check_recovers "tool faults"
	faults_stop_g2
}
