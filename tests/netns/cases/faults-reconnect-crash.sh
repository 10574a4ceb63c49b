# SPDX-License-Identifier: GPL-2.0-or-later
# faults-reconnect-crash: the hook's work dies of SIGSEGV (libxml2 crashing, injected) during a
# reconnect and an attach: libvirt kills a running guest whose hook fails there, so that work runs
# in a child: the hook exits 0 all the same, logs the crash, and guest1's forwards stay as they
# were; the next reconnect, without the fault, changes nothing. (started is not contained: there
# a crash only stops a start, and the common path pays no fork.)
# kinds: nft legacy nftables

# shellcheck source=../lib/faults.sh
. "$VP_LIB/faults.sh"

run() {
	local rc op mark before w
	faults_start_g2
	vp_hook_ok guest1 started
	vp_write_status guest1
	before=$(vp_rules_owned "$VP_G1_UUID")
	for op in reconnect attach; do
		w="$op, its work crashing"
		mark=$(vp_log_mark)
		: >"$FAULTS_LOG"
		FAULTS_ENV=(VP_FAULT_XMLCRASH=1)
		faults_hook guest1 "$op"
		rc=$?
		faults_disarm
		vp_check_eq "$w: the crash was injected" "$(faults_fired)" 1
		vp_check_eq "$w: exit 0" "$rc" 0
		# (A sanitizer build catches the SIGSEGV and exits 1 instead.)
		vp_check "$w: the log says the work died of signal 11" \
			grep -q -E "$op guest1: its work (died of signal 11|failed \(exit status 1\))" \
			<(vp_log_since "$mark")
		vp_check_eq "$w: guest1's rules are as they were" \
			"$(vp_rules_owned "$VP_G1_UUID")" "$before"
		vp_check_eq "$w: 2222 still reaches guest1" \
			"$(vp_tcp_get "$VP_CLIENT" "$VP_HOST_ADDR" 2222)" guest1
		faults_check_g2_untouched "$w"
	done
	vp_hook_ok guest1 reconnect
	vp_check_eq "reconnect without the fault: guest1's rules are as they were" \
		"$(vp_rules_owned "$VP_G1_UUID")" "$before"
	rm -f "$VP_ROOT/run/libvirt/qemu/guest1.xml"
	vp_hook_ok guest1 stopped end
	faults_check_g2_only "after the crashes, stopped"
	faults_stop_g2
}
