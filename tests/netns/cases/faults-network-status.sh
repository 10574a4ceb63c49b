# SPDX-License-Identifier: GPL-2.0-or-later
# faults-network-status: the network's status file missing (network not running) or broken:
# guest1's started returns at once, installs nothing, leaves no waiter (no lease can come) and
# asks whether the network runs; when the network starts, the network hook installs the forwards.
# kinds: nft legacy nftables

# shellcheck source=../lib/faults.sh
. "$VP_LIB/faults.sh"

# status_broken KIND: guest1 started with the network's status KIND (missing or garbage), then
# the network started.
status_broken() {
	local k=$1 rc mark net=$VP_ROOT/run/libvirt/network/default.xml w="network status $1"
	mark=$(vp_log_mark)
	rm -f "$net"
	[ "$k" = garbage ] && printf '<networkstatus><network><name>default</na' >"$net"
	vp_timed faults_hook guest1 started
	rc=$?
	vp_check_eq "$w: exit 0" "$rc" 0
	vp_check_ratio "$w: the hook returns at once, in ms" "$VP_MS" "$FAULTS_BASE_MS" 20
	vp_check_eq "$w: no rule of guest1" "$(vp_g1_rules)" 0
	vp_check_eq "$w: no lease waiter (no lease can come)" "$(vp_waiters "$VP_G1_UUID")" 0
	vp_check "$w: the log asks whether the network runs" \
		grep -q "cannot read the status of network default.*is it running" \
		<(vp_log_since "$mark")
	cp "$VP_TMP/network.good" "$net"
	vp_write_status guest1
	vp_network_hook started "${FAULTS_BASE_ENV[@]}"
	vp_check_eq "$w, then the network started: 2222 reaches guest1" \
		"$(vp_tcp_get "$VP_CLIENT" "$VP_HOST_ADDR" 2222)" guest1
	rm -f "$VP_ROOT/run/libvirt/qemu/guest1.xml"
	vp_hook_ok guest1 stopped end
	faults_check_g2_only "$w, stopped"
}

run() {
	faults_start_g2
	faults_baseline
	cp "$VP_ROOT/run/libvirt/network/default.xml" "$VP_TMP/network.good"
	status_broken missing
	status_broken garbage
	faults_stop_g2
}
