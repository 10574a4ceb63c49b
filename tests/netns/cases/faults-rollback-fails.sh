# SPDX-License-Identifier: GPL-2.0-or-later
# faults-rollback-fails: an install (a reconnect after a table edit) fails and so does its
# rollback: what is left is logged with the way out (`virt-portfwd flush`), the state stays,
# nothing forwards that is not in the old or new table, and `apply` converges to the new table.
# kinds: nft legacy nftables

# shellcheck source=../lib/faults.sh
. "$VP_LIB/faults.sh"

run() {
	local rc mark C=$VP_CLIENT HA=$VP_HOST_ADDR w="rollback fails too"
	faults_start_g2
	vp_hook_ok guest1 started
	vp_write_status guest1
	faults_table "guest1 tcp 2225 22"
	mark=$(vp_log_mark)
	faults_arm rollback
	faults_hook guest1 reconnect
	rc=$?
	faults_disarm
	vp_check_eq "$w: both faults were injected" "$(faults_fired)" 2
	vp_check_eq "$w: exit 0" "$rc" 0
	vp_check "$w: the log says rules may be left and names flush" \
		grep -q "rules may be left.*flush" <(vp_log_since "$mark")
	vp_check_eq "$w: the state of guest1 stays" "$(faults_g1_state)" present
	vp_check_owned "$w"
	vp_check_eq "$w: 2299 (never declared) does not reach a guest" \
		"$(vp_tcp_get "$C" "$HA" 2299)" ""
	vp_check "$w, then apply: exit 0" faults_cli apply
	vp_check_eq "$w, then apply: 2225 reaches guest1" "$(vp_tcp_get "$C" "$HA" 2225)" guest1
	vp_check_eq "$w, then apply: 2222 reaches guest1" "$(vp_tcp_get "$C" "$HA" 2222)" guest1
	vp_check_owned "$w, then apply"
	rm -f "$VP_ROOT/run/libvirt/qemu/guest1.xml"
	vp_hook_ok guest1 stopped end
	faults_table
	faults_check_g2_only "rollback fails, apply, stopped"
	faults_stop_g2
}
