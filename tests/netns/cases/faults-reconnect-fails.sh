# SPDX-License-Identifier: GPL-2.0-or-later
# faults-reconnect-fails: libvirtd restarts and the hook's reconnect (after a table edit) fails
# midway: it exits 0 even with on-error abort (a non-zero exit would make libvirt kill the
# running guest), leaves guest1 all or nothing, guest2 untouched, and `apply` converges.
# kinds: nft legacy nftables

# shellcheck source=../lib/faults.sh
. "$VP_LIB/faults.sh"

run() {
	local rc C=$VP_CLIENT HA=$VP_HOST_ADDR w="reconnect fails"
	faults_start_g2
	vp_hook_ok guest1 started
	vp_write_status guest1
	faults_table "guest1 tcp 2225 22" "set on-error abort"
	faults_arm install-midway
	faults_hook guest1 reconnect
	rc=$?
	faults_disarm
	vp_check_eq "$w (on-error abort): the fault was injected" "$(faults_fired)" 1
	vp_check_eq "$w (on-error abort): exit 0, the running guest is not killed" "$rc" 0
	vp_check_eq "$w: guest1 has all or nothing: no rule (rolled back)" "$(vp_g1_rules)" 0
	vp_check_eq "$w: 2225 does not reach guest1" "$(vp_tcp_get "$C" "$HA" 2225)" ""
	faults_check_g2_untouched "$w"
	vp_check "$w, then apply: exit 0" faults_cli apply
	vp_check_eq "$w, then apply: 2222 reaches guest1" "$(vp_tcp_get "$C" "$HA" 2222)" guest1
	vp_check_eq "$w, then apply: 2225 reaches guest1" "$(vp_tcp_get "$C" "$HA" 2225)" guest1
	vp_check_owned "$w, then apply"
	rm -f "$VP_ROOT/run/libvirt/qemu/guest1.xml"
	vp_hook_ok guest1 stopped end
	faults_table
	faults_check_g2_only "$w, apply, stopped"
	faults_stop_g2
}
