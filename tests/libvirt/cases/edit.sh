# SPDX-License-Identifier: GPL-2.0-or-later
# edit [5] [v6]: the table changes while g1 runs (its 2222 -> 22 becomes 2224 -> 22), then
# `virt-portfwd apply` (VP_APPLY=hook: the hook's reconnect by hand instead): the new forward
# opens, the old one closes, the unchanged ones (UDP, IPv6) keep working. The table is put back.

run() {
	local out rc how
	guests_up 1 && vp_wait_http "$VP_CNS" "$HOST" 2222 g1 30
	vp_ok $? "[5] g1 is up and host:2222 reaches it"
	sed -i 's/^g1  tcp  2222   22$/g1  tcp  2224   22/' "$TABLE"
	grep -q '^g1  tcp  2224   22$' "$TABLE"
	vp_ok $? "[5] table edited: g1's 2222 -> 22 becomes 2224 -> 22"
	if [ "${VP_APPLY:-cli}" = cli ]; then
		how="virt-portfwd apply"
		out=$(vp_in_host /usr/local/sbin/virt-portfwd apply 2>>"$VP_RUN/hook-manual.log")
	else
		how="hook 'g1 reconnect' by hand with virsh dumpxml"
		out=$(vp_run_hook g1 reconnect)
	fi
	rc=$?
	[ $rc -eq 0 ] && { [ -z "$out" ] || [ "$how" = "virt-portfwd apply" ]; }
	vp_ok $? "[5] $how: exit $rc, ${#out} bytes on stdout"
	vp_wait_http "$VP_CNS" "$HOST" 2224 g1 30
	vp_ok $? "[5] the new forward host:2224 reaches g1"
	vp_tcp_closed "$VP_CNS" "$HOST" 2222
	vp_ok $? "[5] the removed forward host:2222 is closed"
	[ "$(vp_udp "$VP_CNS" "$HOST" 27015 still)" = "g1 still" ]
	vp_ok $? "[5] the unchanged UDP forward still works"
	[ "$(vp_http "$VP_CNS" "$HOST6" 2222)" = g1 ]
	vp_ok $? "[v6] the IPv6 forward [$HOST6]:2222 -> g1 is untouched by the IPv4 edit"
	table_restore
	guests_gone g1
}
