# SPDX-License-Identifier: GPL-2.0-or-later
# faults-tool-missing: the iptables tools missing from the tool directories, or iptables-nft-save
# unable to list: the hook exits 0 with a clear error and installs nothing; once the tools work,
# started does. The inherited PATH plays no part: tools run from the tool directories only, so a
# PATH without them, or with an impostor first, changes nothing.
# kinds: nft

# shellcheck source=../lib/faults.sh
. "$VP_LIB/faults.sh"

# An impostor iptables-nft-restore first in PATH, then no PATH at all: the hook runs
# /usr/sbin's tools either way, and the impostor never runs.
path_plays_no_part() {
	local fake=$VP_TMP/fakebin
	mkdir -p "$fake"
	printf '#!/bin/sh\ntouch %s/impostor-ran\nexit 1\n' "$VP_TMP" >"$fake/iptables-nft-restore"
	chmod 0755 "$fake/iptables-nft-restore"
	vp_hook_env guest1 started begin "PATH=$fake:$PATH"
	vp_check_eq "an impostor first in PATH: 2222 reaches guest1" \
		"$(vp_tcp_get "$VP_CLIENT" "$VP_HOST_ADDR" 2222)" guest1
	vp_check "an impostor first in PATH: it never ran" test ! -e "$VP_TMP/impostor-ran"
	vp_hook_env guest1 stopped end PATH=/nonexistent-$$
	faults_check_g2_only "no PATH at all: stopped removed guest1's rules"
}

run() {
	local rc mark
	faults_start_g2
	mark=$(vp_log_mark)
	vp_hook_env guest1 started begin VIRT_PORTFWD_TOOL_DIRS=/nonexistent-$$
	rc=$?
	vp_check_eq "no iptables-nft-restore in the tool directories: exit 0" "$rc" 0
	vp_check "no iptables-nft-restore in the tool directories: a clear error" \
		grep -q "cannot run iptables-nft-save: No such file or directory" \
		<(vp_log_since "$mark")
	faults_check_g2_only "no iptables tools in the tool directories"

	echo fail >"$FAULTS_CTL/iptables-nft-save.plan"
	faults_hook guest1 started
	rc=$?
	faults_disarm
	vp_check_eq "iptables-nft-save fails: exit 0" "$rc" 0
	vp_check_eq "iptables-nft-save fails: no rule of guest1 is left" "$(vp_g1_rules)" 0
	faults_check_g2_only "iptables-nft-save fails"
	path_plays_no_part
	faults_check_recovers "tool faults"
	faults_stop_g2
}
