# SPDX-License-Identifier: GPL-2.0-or-later
# faults-neighbours-timeout: libvirt's nftables backend next to Docker's rules (iptables-nft's
# FORWARD drops), with `set hook-timeout 12`. The iptables-nft-restore that puts guest1's
# accepts into DOCKER-USER hangs, before its batch or once the batch is in: the hook kills it when
# the change's time is up, exits 0 within the hook-timeout, and rolls back whole with the time it
# keeps for that (the rollback lists iptables-nft's filter table again, and takes our accepts out
# when they went in): no rule of guest1 in our table or in iptables-nft's, no "rollback failed";
# guest2 untouched; the next started works.
# kinds: nftables

FAULTS_SHIMS=1
# shellcheck source=../lib/faults.sh
. "$VP_LIB/faults.sh"
. "$VP_LIB/neighbours.sh"

setup() {
	vp_nb_load docker-28
}

# hang_case WHAT PLAN: guest1 started while iptables-nft-restore follows PLAN (shims/xt-tool).
hang_case() {
	local rc mark margin=$((20 * FAULTS_BASE_MS)) w=$1
	[ "$margin" -ge 200 ] || margin=200
	faults_table "set hook-timeout 12"
	mark=$(vp_log_mark)
	echo "$2" >"$FAULTS_CTL/iptables-nft-restore.plan"
	vp_timed faults_hook guest1 started
	rc=$?
	faults_disarm
	vp_check_eq "$w: exit 0" "$rc" 0
	vp_check "$w: back within the 12 s hook-timeout + $margin ms (took $VP_MS ms, baseline\
 $FAULTS_BASE_MS ms)" test "$VP_MS" -le $((12000 + margin))
	vp_check "$w: the log says the tool was killed" \
		grep -q "iptables-nft-restore.*did not finish in time" <(vp_log_since "$mark")
	vp_check_eq "$w: the rollback did not fail" \
		"$(vp_log_since "$mark" | grep -c "rollback of .* failed")" 0
	vp_check_eq "$w: no rule of guest1 in our table" "$(vp_g1_rules)" 0
	vp_check_eq "$w: no rule of guest1 in iptables-nft's filter table" \
		"$(vp_nb_ours_in_filter | grep -c .)" 0
	faults_check_g2_only "$w"
	faults_check_recovers "$w"
}

run() {
	faults_start_g2
	faults_baseline
	hang_case "our accepts' restore hangs" hang
	hang_case "our accepts' restore hangs once its batch is in" hang-after
	faults_table
	faults_stop_g2
}
