# SPDX-License-Identifier: GPL-2.0-or-later
# faults-tool-killed: iptables-nft-restore SIGKILLed after the first block of its batch went in:
# the hook exits 0 and leaves no rule of guest1; guest2 is untouched, and the next started works.
# kinds: nft

# shellcheck source=../lib/faults.sh
. "$VP_LIB/faults.sh"

run() {
	local rc
	faults_start_g2
	echo "kill-block 2" >"$FAULTS_CTL/iptables-nft-restore.plan"
	faults_hook guest1 started
	rc=$?
	vp_check_eq "restore SIGKILLed after its first block: exit 0" "$rc" 0
	vp_check "restore SIGKILLed after its first block: the fault was injected" \
		grep -q "^kill-block 2 fired" "$FAULTS_CTL/iptables-nft-restore.log"
	vp_check_eq "restore SIGKILLed: no rule of guest1 is left" "$(vp_g1_rules)" 0
	faults_check_g2_only "restore SIGKILLed"
	faults_disarm
	faults_check_g2_untouched "restore SIGKILLed"
	faults_check_recovers "restore SIGKILLed"
	faults_stop_g2
}
