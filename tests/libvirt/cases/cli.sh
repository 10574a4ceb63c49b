# SPDX-License-Identifier: GPL-2.0-or-later
# cli [17.2]: the forwards kept in the domain through libvirt's API. `virt-portfwd add` on a
# running g1 (virsh's default connection) works at once: libvirt runs no hook on a metadata
# change, the command installs the rules itself. The forward is in `virsh dumpxml --inactive`;
# status, list and the doctor show it; a clash with the table changes nothing; it is installed
# again at the next start with the table empty; `remove` (--connect given) closes it at once.

VPF=/usr/local/sbin/virt-portfwd

# cli_run ARGS...: the CLI in the host, its stdout in $OUT, its stderr in $ERR (and the log).
cli_run() {
	local rc
	vp_in_host "$VPF" "$@" >"$VP_RUN/cli.out" 2>"$VP_RUN/cli.err"
	rc=$?
	OUT=$(cat "$VP_RUN/cli.out")
	ERR=$(cat "$VP_RUN/cli.err")
	cat "$VP_RUN/cli.err" >>"$VP_RUN/hook-manual.log"
	return $rc
}

# Whether g1's persistent definition carries a forward of host port PORT.
in_inactive() { vp_virsh dumpxml --inactive g1 | grep -F "host=\"$1\"" >/dev/null; }

run() {
	guests_up 1 && vp_wait_http "$VP_CNS" "$HOST" 2222 g1 30
	vp_ok $? "[17.2] g1 is up and host:2222 reaches it"
	vp_tcp_closed "$VP_CNS" "$HOST" 2230
	vp_ok $? "[17.2] before add, host:2230 is closed"
	cli_run add g1 tcp 2230 22
	vp_ok $? "[17.2] virt-portfwd add g1 tcp 2230 22: exit 0 ($OUT)"
	vp_wait_http "$VP_CNS" "$HOST" 2230 g1 30
	vp_ok $? "[17.2] host:2230 reaches g1 at once, no restart"
	in_inactive 2230
	vp_ok $? "[17.2] the forward is in virsh dumpxml --inactive g1"
	cli_run list g1 && grep -Fx 'g1 tcp 2230 22  # metadata' "$VP_RUN/cli.out" >/dev/null
	vp_ok $? "[17.2] list g1 shows it, from the metadata"
	cli_run status && grep -F 'tcp  2230 -> ' "$VP_RUN/cli.out" >/dev/null
	vp_ok $? "[17.2] status shows it"
	vp_doctor --json g1 2230
	[ "$VP_DOCTOR_RC" = 0 ] && vp_doctor_json_ok &&
		[[ "$(vp_doctor_field guest.forwards "guest g1" detail)" == *"1 in its metadata"* ]]
	vp_ok $? "[17.2] doctor g1 2230: every check ok, the forward from the metadata ($(vp_doctor_tally))"
	! cli_run add g1 tcp 2322 22 && [[ "$ERR" == *"already forwarded at /etc/virt-portfwd/forwards.conf"* ]] &&
		! in_inactive 2322
	vp_ok $? "[17.2] add of g2's table port 2322: exit 1, says where it is taken, changes nothing"
	cli_next_start
	cli_run --connect qemu:///system remove g1 tcp 2230
	vp_ok $? "[17.2] virt-portfwd --connect qemu:///system remove g1 tcp 2230: exit 0 ($OUT)"
	vp_tcp_closed "$VP_CNS" "$HOST" 2230 && ! in_inactive 2230
	vp_ok $? "[17.2] host:2230 is closed at once and gone from the persistent definition"
	guests_gone g1
}

# The table emptied, g1 stopped and started again: its forward comes from its metadata alone.
cli_next_start() {
	: >"$TABLE"
	timeout 60 virsh -q -c qemu:///system destroy g1 >/dev/null 2>&1
	vp_start_guest g1 >/dev/null && vp_wait_http "$VP_CNS" "$HOST" 2230 g1 120
	vp_ok $? "[17.2] with the table empty, g1 started again: host:2230 reaches it"
	vp_tcp_closed "$VP_CNS" "$HOST" 2222
	vp_ok $? "[17.2] ... and its table forward host:2222 is not there"
	table_restore
}
