# SPDX-License-Identifier: GPL-2.0-or-later
# lease-claim [15]: a guest that claims another guest's MAC in DHCP never gets that guest's
# forward (issue 15, item 1), with real dnsmasq and real guests. The victim g6 has a dynamic
# lease (a static DHCP host would settle the question by itself) and the forward 2236 -> 22; the
# attacker g8 (no forward of its own) boots with vpclaim=g6's MAC: once it has its own lease it
# asks dnsmasq for one with g6's MAC as chaddr and a client id of its own, gets a second lease
# under g6's MAC with another address, and keeps that address (its HTTP answers "g8" there).
# The attack is proven in dnsmasq's status file. Then host:2236 still reaches g6, never g8,
# after `virt-portfwd apply`, the hook's reconnect run by hand, the network hook (a live
# net-update) and a libvirtd restart (reconnect from libvirtd), each logging that the forward
# stays where it is installed, and the doctor failing the address, naming both leases. g6 restarted while both leases are valid gets no forward at all
# (the product refuses the ambiguous address: 2236 reaches no one, the doctor names it); once
# g8 released its claim, apply installs g6's forward again.

CLAIM_STATUS=/var/lib/libvirt/dnsmasq/virbr0.status
# udhcpc's -x 0x3d:ff76706d6163 in the image (build-image.sh), as dnsmasq records it.
CLAIM_CLID=ff:76:70:6d:61:63
# The live net-update of the network hook step, taken away again at once.
CLAIM_HOST="<host mac='52:54:00:e2:e0:fe' ip='$VP_NET_PREFIX.98'/>"

run() {
	local mac6
	mac6=$(vp_mac 6)
	vp_define_guest 6
	vp_define_guest 8 g8 "vpclaim=$mac6"
	UUID6=$(vp_virsh domuuid g6)
	claim_attack "$mac6"
	claim_stays
	claim_refused
	claim_released "$mac6"
	guests_gone g6 g8
}

# The unexpired leases of MAC in dnsmasq's status file: "IP CLIENT-ID" per line, sorted.
claim_leases() {
	jq -r --arg m "$1" --argjson now "$(date +%s)" '.[] | select(."mac-address" == $m and
		."expiry-time" > $now) | "\(."ip-address") \(."client-id" // "-")"' "$CLAIM_STATUS" \
		2>/dev/null | sort
}

# How many times the hook said, in libvirtd's log and in the manual runs' stderr, that g6's
# forward stays where it is installed.
claim_stays_logged() {
	{ vp_hook_log; cat "$VP_RUN/hook-manual.log"; } |
		grep -cF "the forward stays on $V_IP, where it is installed"
}

# How many times the hook logged that g6's leases disagree and it installs nothing.
claim_refused_logged() {
	vp_hook_log | grep -F "unexpired DHCP leases with different addresses" |
		grep -cF "nothing is installed for this forward"
}

claim_attack() {
	local mac6=$1 t0 leases
	vp_start_guest g6 >/dev/null && vp_wait_ready g6 &&
		vp_wait_http "$VP_CNS" "$HOST" 2236 g6 60
	vp_ok $? "[15] g6 booted with a dynamic lease and host:2236 reaches it"
	V_IP=$(console_ip g6)
	t0=$(vp_ms)
	vp_start_guest g8 >/dev/null
	# A liveness wait: g8 boots, takes its own lease, then claims.
	for _ in $(seq 1 600); do
		grep -q "^VP-CLAIMED g8 " "$VP_RUN/console-g8.log" 2>/dev/null && break
		sleep 0.2
	done
	C_IP=$(grep -m1 "^VP-CLAIMED g8 " "$VP_RUN/console-g8.log" 2>/dev/null | tr -d '\r' |
		cut -d ' ' -f 4)
	claim_fdb_forget "$mac6"
	leases=$(claim_leases "$mac6")
	vp_note "leases of $mac6 now: $(printf '%s' "$leases" | tr '\n' ';')"
	[ -n "$C_IP" ] && [ "$C_IP" != "$V_IP" ] &&
		grep -qx -- "$V_IP [^ ]*" <<<"$leases" && grep -qx -- "$C_IP $CLAIM_CLID" <<<"$leases"
	vp_ok $? "[15] the attack happened: dnsmasq holds two unexpired leases for g6's MAC," \
		"$V_IP (g6's) and ${C_IP:-none} (client id $CLAIM_CLID, g8's claim;" \
		"$(($(vp_ms) - t0)) ms after g8's start)"
	[ "$(vp_http "$VP_HNS" "${C_IP:-0.0.0.0}" 22)" = g8 ]
	vp_ok $? "[15] g8 answers at the claimed ${C_IP:-none}: a forward moved there would reach g8"
	claim_holds "the claim"
}

# claim_fdb_forget MAC: virbr0's learnt entry for MAC taken away. While g8 sent with g6's MAC the
# bridge learnt that MAC on g8's port, and frames for g6 go there (g8 drops them) until g6 sends
# again, which took ~30 s. Without the entry the bridge floods frames for MAC to every port, g6
# answers and the bridge learns its port again; g8 still drops what is not for its own MAC. Only
# the bridge's learning is undone: the leases, the neighbour table and our rules are untouched.
claim_fdb_forget() {
	local dev
	for dev in $(vp_in_host bridge fdb show br virbr0 |
		awk -v m="$1" 'tolower($1) == m && !/permanent/ { print $3 }'); do
		vp_in_host bridge fdb del "$1" dev "$dev" master
	done
}

# claim_holds WHAT: host:2236 reaches g6 and never g8 (three more connections once g6 answered),
# and g6's rules send to V_IP, none to C_IP. A liveness wait (60 s) for g6's first answer: until
# the bridge knows g6's port again (claim_fdb_forget), frames for g6 may reach only g8, which
# drops them.
claim_holds() {
	local r="" seen="" rules t_end _
	t_end=$(($(date +%s) + 60))
	while [ "$(date +%s)" -lt "$t_end" ]; do
		r=$(vp_http "$VP_CNS" "$HOST" 2236)
		seen+="${r:+ $r}"
		[ "$r" = g6 ] || [ "$r" = g8 ] && break
		sleep 1
	done
	for _ in 1 2 3; do
		[ "$r" = g6 ] && r=$(vp_http "$VP_CNS" "$HOST" 2236) && seen+=" ${r:-none}"
	done
	rules=$(rules_of "$UUID6")
	[ "$r" = g6 ] && [[ "$seen" != *g8* ]] && grep -qwF -- "$V_IP" <<<"$rules" &&
		! grep -qwF -- "${C_IP:-none}" <<<"$rules"
	vp_ok $? "[15] after $1: host:2236 reaches g6 ('$r'), never g8 (answers:${seen:- none});" \
		"g6's rules send to $V_IP, none to ${C_IP:-?}"
}

# The forward stays on g6 through every path that re-decides it while both leases are valid.
claim_stays() {
	local n out rc t0
	n=$(claim_stays_logged)
	out=$(vp_in_host /usr/local/sbin/virt-portfwd apply 2>&1)
	rc=$?
	printf '%s\n' "$out" >>"$VP_RUN/hook-manual.log"
	[ $rc -eq 0 ] && [ "$(claim_stays_logged)" -gt "$n" ]
	vp_ok $? "[15] virt-portfwd apply exits 0 ($rc) and says the forward stays on $V_IP"
	claim_holds "apply"

	n=$(claim_stays_logged)
	out=$(vp_run_hook g6 reconnect)
	rc=$?
	[ $rc -eq 0 ] && [ -z "$out" ] && [ "$(claim_stays_logged)" -gt "$n" ]
	vp_ok $? "[15] the hook's reconnect for g6, run by hand, exits 0 ($rc), silent on stdout," \
		"and says the forward stays"
	claim_holds "the hook's reconnect"

	n=$(claim_stays_logged)
	vp_virsh net-update default add ip-dhcp-host "$CLAIM_HOST" --live >/dev/null
	rc=$?
	vp_virsh net-update default delete ip-dhcp-host "$CLAIM_HOST" --live >/dev/null
	[ $rc -eq 0 ] && vp_hook_log | grep -E "hooks/network default updated " >/dev/null &&
		[ "$(claim_stays_logged)" -gt "$n" ]
	vp_ok $? "[15] a live net-update ran the network hook ('updated'), which says the forward stays"
	claim_holds "the network hook"

	n=$(vp_hook_count g6 reconnect)
	t0=$(vp_ms)
	vp_stop_libvirtd
	vp_in_host libvirtd -d && vp_wait_libvirtd && wait_reconnect g6 "$n"
	vp_ok $? "[15] libvirtd restarted and ran the hook's reconnect for g6 ($(($(vp_ms) - t0)) ms)"
	claim_holds "the libvirtd restart"
	vp_doctor_expect "[15] both leases valid, the forward kept on g6" guest.address \
		"find the guest that took MAC"
	vp_doctor_field guest.address "g6 tcp 2236" detail |
		grep -F "($V_IP, $C_IP)" | grep -qF "keeps the forward on $V_IP"
	vp_ok $? "[15] the doctor names both leases and where the forward stays:" \
		"$(vp_doctor_field guest.address "g6 tcp 2236" detail | cut -c1-160)"
}

# g6 restarted: nothing is installed at 'started' (two leases with different addresses, none
# installed to stay on), host:2236 reaches no one; the log and the doctor say why.
claim_refused() {
	local r n
	vp_virsh destroy g6 >/dev/null && [ -z "$(rules_of "$UUID6")" ]
	vp_ok $? "[15] g6 destroyed: its rules are gone"
	n=$(claim_refused_logged)
	vp_start_guest g6 >/dev/null && vp_wait_ready g6 && [ "$(console_ip g6)" = "$V_IP" ]
	vp_ok $? "[15] g6 started again and renewed its own lease ($(console_ip g6))"
	[ "$(claim_refused_logged)" -gt "$n" ]
	vp_ok $? "[15] the hook's 'started' logged the two leases and installed nothing"
	r=$(vp_http "$VP_CNS" "$HOST" 2236)
	[ -z "$r" ] && [ -z "$(rules_of "$UUID6")" ] && vp_tcp_closed "$VP_CNS" "$HOST" 2236
	vp_ok $? "[15] host:2236 reaches no one (answer: '${r:-none}'), g6 has no rule"
	vp_doctor_expect "[15] two leases for g6's MAC" guest.address "find the guest that took MAC"
	vp_doctor_field guest.address "g6 tcp 2236" detail | grep -F "$V_IP" | grep -qF "$C_IP"
	vp_ok $? "[15] the doctor names both addresses: $(vp_doctor_field guest.address "g6 tcp 2236" detail |
		cut -c1-120)"
}

# g8 gives its claim back (DHCPRELEASE under g6's MAC): one lease again, and apply installs
# g6's forward.
claim_released() {
	local mac6=$1 r out rc
	r=$(vp_http "$VP_HNS" "$(vp_gip 8)" 22 /cgi-bin/release)
	for _ in $(seq 1 150); do
		claim_leases "$mac6" | grep -q "^$C_IP " || break
		sleep 0.2
	done
	[ "$r" = release-sent ] && ! claim_leases "$mac6" | grep -q "^$C_IP "
	vp_ok $? "[15] g8 released its claim ('$r'): dnsmasq holds one lease for g6's MAC" \
		"($(claim_leases "$mac6" | tr '\n' ';'))"
	out=$(vp_in_host /usr/local/sbin/virt-portfwd apply 2>&1)
	rc=$?
	printf '%s\n' "$out" >>"$VP_RUN/hook-manual.log"
	[ $rc -eq 0 ]
	vp_ok $? "[15] virt-portfwd apply exits 0 ($rc)"
	claim_holds "the release and apply"
}
