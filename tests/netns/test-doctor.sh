#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# `virt-portfwd doctor`: a healthy host passes every check; then, one at a time, each way users
# break a forward (our accept deleted, libvirt's jumps moved above ours, nat flushed, our rules
# in the other iptables variant's tables, ip_forward off, a changed lease, a foreign DROP ahead
# of ours, firewalld's StrictForwardPorts, a stopped guest's leftovers, a broken table) must make
# the doctor exit 1 and fail exactly the matching check, naming the fix; after the repair it
# exits 0 again. Runs on the dual-stack namespace world of lib.sh (one IPv6 forward).
#
#   test-doctor.sh nft|legacy|nftables
#     nft, legacy: libvirt's iptables backend, with iptables-nft or iptables-legacy
#     nftables: libvirt's nftables backend (libvirt >= 10.4)

. "$(dirname "$(readlink -f "$0")")/lib.sh"

vp_init_kind "${1:-}"
TYPE=$VP_KIND

C=$VP_CLIENT
HA=$VP_HOST_ADDR
OUT=$VP_TMP/doctor.out
# The iptables variant our rules must not be in.
case $TYPE in
nft) OTHER=legacy ;;
*) OTHER=nft ;;
esac

# ---------------------------------------------------------------------------------------------

doctor() {  # ARGS...: the doctor's stdout in $OUT, its exit status in DOCTOR_RC
	vp_cli doctor "$@" >"$OUT"
	DOCTOR_RC=$?
}

# The checks that failed in the last `doctor --json` (one object per line), sorted, unique.
failed_checks() {
	sed -n 's/^{"check":"\([^"]*\)",.*"ok":false,.*/\1/p' "$OUT" | sort -u | tr '\n' ' ' |
		sed 's/ $//'
}

fix_of() {  # CHECK: the fix of its first failure in the last `doctor --json`
	sed -n "s/^{\"check\":\"$1\",.*\"ok\":false,.*\"fix\":\"\\(.*\\)\"},\\{0,1\\}\$/\\1/p" "$OUT" |
		head -n 1
}

# expect_fail DESCRIPTION "CHECK ..." FIX-TEXT [ARGS...]: `doctor --json ARGS` exits 1, exactly
# these checks fail, and the fix of the first one contains FIX-TEXT.
expect_fail() {
	local desc=$1 want=$2 fix=$3 got
	shift 3
	doctor --json "$@"
	got=$(failed_checks)
	vp_check_eq "$desc: the doctor exits 1" "$DOCTOR_RC" 1
	if [ "$got" = "$want" ]; then
		vp_ok "$desc: exactly $want fail"
	else
		vp_not_ok "$desc: exactly $want fail" "got: $got" "$(grep -F '"ok":false' "$OUT")"
	fi
	if fix_of "${want%% *}" | grep -qF -- "$fix"; then
		vp_ok "$desc: the fix says '$fix'"
	else
		vp_not_ok "$desc: the fix says '$fix'" "fix: $(fix_of "${want%% *}")"
	fi
}

expect_healthy() {  # DESCRIPTION [ARGS...]
	local desc=$1
	shift
	doctor --json "$@"
	if [ "$DOCTOR_RC" = 0 ] && [ -z "$(failed_checks)" ]; then
		vp_ok "$desc: every check passes, exit 0"
	else
		vp_not_ok "$desc: every check passes, exit 0" "exit $DOCTOR_RC" \
			"$(grep -F '"ok":false' "$OUT")"
	fi
}

# ---------------------------------------------------------------------------------------------
# The breakages and what the doctor says about them, for each host type.

# libvirt's rules and network status, dual stack with NAT66.
load_libvirt() {
	if [ "$TYPE" = nftables ]; then
		vp_load_libvirt_nft_rules
		vp_libvirt_nft_network_rules6 nat66 || vp_die "loading libvirt's ip6 rules failed"
		vp_write_network6 yes nftables
	else
		vp_load_libvirt_rules
		vp_libvirt_network_rules6 nat66 || vp_die "loading libvirt's IPv6 rules failed"
		vp_write_network6 yes iptables
	fi
}

write_leases() {  # GUEST1-IPV4
	vp_write_leases46 "$VP_G1_MAC=$1" "$VP_G1_MAC=$VP6_G1_IP" "$VP_G2_MAC=$VP_G2_IP"
}

# Handle of our accept of 2222 in ip libvirt_network forward.
nft_accept_handle() {
	vp_h nft -a list chain ip libvirt_network forward |
		sed -n 's/.*ct original proto-dst 2222 .* # handle \([0-9][0-9]*\)$/\1/p'
}

delete_accept() {  # guest1's accept of 2222
	local n
	if [ "$TYPE" = nftables ]; then
		vp_h nft delete rule ip libvirt_network forward handle "$(nft_accept_handle)"
		return
	fi
	n=$(vp_h "$IPT" -w -S VIRT_PORTFWD_FWD | grep '^-A ' | grep -n -- "--ctorigdstport 2222 " |
		cut -d: -f1)
	vp_h "$IPT" -w -D VIRT_PORTFWD_FWD "$n"
}

# What a libvirt network reload does: its jumps re-inserted at the top, above ours.
libvirt_rejump() {
	local c
	if [ "$TYPE" = nftables ]; then
		vp_libvirt_nft_rejump ip
		return
	fi
	for c in LIBVIRT_FWO LIBVIRT_FWI LIBVIRT_FWX; do
		vp_h "$IPT" -w -D FORWARD -j "$c"
		vp_h "$IPT" -w -I FORWARD 1 -j "$c"
	done
}

flush_nat() {
	if [ "$TYPE" = nftables ]; then
		vp_h nft flush table ip virt_portfwd
	else
		vp_h "$IPT" -w -t nat -F
	fi
}

# What firewalld < 2.0's reload does: every table flushed, then libvirt re-adds its rules.
full_flush() {
	local t
	if [ "$TYPE" = nftables ]; then
		vp_h nft flush ruleset
	else
		for t in filter nat mangle; do
			vp_h "$IPT" -w -t "$t" -F
			vp_h "$IPT" -w -t "$t" -X
			vp_h "$IP6T" -w -t "$t" -F
			vp_h "$IP6T" -w -t "$t" -X
		done
	fi
	load_libvirt >/dev/null
}

# Rules of ours in the other iptables variant's tables (an old libiptc build on an iptables-nft
# host, or the reverse; on an nftables host, iptables-nft): they do nothing there.
ours_elsewhere() {
	if [ "$TYPE" = nftables ]; then
		vp_h iptables-nft -w -N VIRT_PORTFWD_FWD &&
			vp_h iptables-nft -w -I FORWARD -m comment --comment virt-portfwd -j VIRT_PORTFWD_FWD
		return
	fi
	vp_h "iptables-$VP_HOSTTYPE-save" | grep -E '^(\*|:VIRT_PORTFWD|COMMIT)|virt-portfwd' |
		vp_h "iptables-$OTHER-restore"
}

# The texts of the position check, healthy and after libvirt_rejump.
if [ "$TYPE" = nftables ]; then
	POS_OK="our accept (rule 4 of 7 in ip libvirt_network forward) is above libvirt's reject"
	POS_OK="$POS_OK (its jump to guest_input is rule 6)"
	POS_BAD="our accept is below libvirt's reject in ip libvirt_network forward"
	POS_BAD="$POS_BAD (ours is rule 7 of 7, the jump to guest_input rule 2)"
	ACCEPT_MISSING="to $VP_G1_IP:22 out virbr0 is missing from ip libvirt_network forward"
	SHADOW=false
else
	POS_OK="our accept (rule 1 of 4 in FORWARD) is above libvirt's reject"
	POS_OK="$POS_OK (its jump to LIBVIRT_FWI is rule 3)"
	POS_BAD="our accept is below libvirt's reject in FORWARD"
	POS_BAD="$POS_BAD (ours is rule 4 of 4, the jump to LIBVIRT_FWI rule 2)"
	ACCEPT_MISSING="to $VP_G1_IP:22 out virbr0 is missing from filter VIRT_PORTFWD_FWD"
	SHADOW=true
fi

write_table() {
	write_table_text | vp_write_table
}

write_table_text() {
	cat <<-'EOF'
	guest1    tcp    2222        22
	guest1    tcp    [::]:2222   22
	guest1    tcp    8080-8081   80-81
	guest2    tcp    2322        22
	guest2    tcp    2399        99
	EOF
}

# ---------------------------------------------------------------------------------------------

vp_world
vp_world6
vp_fixture_init
load_libvirt
write_table
write_leases "$VP_G1_IP"
vp_write_domain guest1 "$VP_G1_UUID" "$VP_G1_MAC" vnet0
vp_write_domain guest2 "$VP_G2_UUID" "$VP_G2_MAC" vnet1
echo "# host type $TYPE, binary $VP_BIN"

vp_hook_ok guest1 started
vp_hook_ok guest2 started
vp_write_status guest1
vp_write_status guest2
vp_check_eq "started: 2222 reaches guest1" "$(vp_tcp_get "$C" "$HA" 2222)" guest1

# 1. Healthy: every check passes, in text and in JSON.
doctor
vp_check_eq "healthy: exit 0" "$DOCTOR_RC" 0
vp_check "healthy: text names the guest, its NIC and network" \
	grep -qF "ok    guest1 tcp 2222: NIC $VP_G1_MAC on network default (nat, bridge virbr0)" "$OUT"
vp_check "healthy: text names the address and where it comes from" \
	grep -q "ok    guest1 tcp 2222: $VP_G1_IP, from its DHCP lease on virbr0 (expires in" "$OUT"
vp_check "healthy: text says our accept is above libvirt's reject" grep -qF "$POS_OK" "$OUT"
vp_check_eq "healthy: the last line counts no failure" "$(tail -n 1 "$OUT")" "0 checks failed"
expect_healthy "healthy (JSON)"
if command -v python3 >/dev/null 2>&1; then
	vp_check "healthy: --json is valid JSON" vp_quiet python3 -m json.tool "$OUT"
fi
for c in table guest.forwards guest.running guest.nic guest.address guest.lease host.ip_forward \
	host.ipv6_forwarding host.br_netfilter host.backend rules.dnat rules.output_dnat rules.hairpin rules.accept \
	rules.position rules.other_tables rules.shadow traffic; do
	vp_check "healthy: check $c is reported" grep -qF "{\"check\":\"$c\"," "$OUT"
done

# 2. Our accept deleted.
delete_accept
expect_fail "accept deleted" "rules.accept" "virt-portfwd apply"
doctor
vp_check "accept deleted: text has a FAIL line" \
	grep -qF "FAIL  guest1 tcp 2222: the accept of DNAT'd connections $ACCEPT_MISSING" "$OUT"
vp_check "accept deleted: the fix line follows" \
	grep -q "^      fix: run \`virt-portfwd apply\`" "$OUT"
vp_check "accept deleted: apply repairs it" vp_cli apply
expect_healthy "accept restored"

# 3. libvirt's jumps moved above ours; then traffic: the DNAT counts, the accept does not.
libvirt_rejump
expect_fail "libvirt's jumps above ours" "rules.position" "virt-portfwd apply"
vp_check "libvirt's jumps above ours: the detail gives the positions" grep -qF "$POS_BAD" "$OUT"
vp_check_eq "libvirt's jumps above ours: 2222 is refused" "$(vp_tcp_get "$C" "$HA" 2222)" ""
expect_fail "refused connection counted" "rules.position traffic" "virt-portfwd apply"
vp_check "refused connection counted: the DNAT took it, the accept saw nothing" \
	grep -qF "the DNAT took 1 new connection but our accept saw none of their packets; \
libvirt's reject on virbr0 1 packet" "$OUT"
vp_check "traffic: apply repairs it" vp_cli apply
vp_check_eq "after apply: 2222 reaches guest1" "$(vp_tcp_get "$C" "$HA" 2222)" guest1
expect_healthy "jumps restored"
vp_check "traffic since the last check: the accept counted the connection" \
	grep -q '"detail":"since the last check, [0-9]* s ago: DNAT 1 new connection, '\
'from the host itself 0, accept [1-9][0-9]* packets' "$OUT"

# 4. nat flushed.
flush_nat
expect_fail "nat flushed" "rules.dnat rules.hairpin rules.output_dnat" "virt-portfwd apply"
vp_check "nat flushed: apply repairs it" vp_cli apply
expect_healthy "nat restored"

# 5. Our rules also in the other iptables variant's tables: the doctor's command removes them.
ours_elsewhere
expect_fail "rules in iptables-$OTHER" "rules.other_tables" \
	"iptables-$OTHER-save | grep -v -e virt-portfwd -e VIRT_PORTFWD | iptables-$OTHER-restore"
vp_h "iptables-$OTHER-save" | grep -v -e virt-portfwd -e VIRT_PORTFWD |
	vp_h "iptables-$OTHER-restore"
expect_healthy "the doctor's command removed them"

# 6. The same for real: the table forces the other variant, apply installs there.
{ echo "set backend iptables-$OTHER"; write_table_text; } | vp_write_table
vp_cli apply
doctor --json
vp_check_eq "set backend iptables-$OTHER: the doctor exits 1" "$DOCTOR_RC" 1
vp_check "set backend iptables-$OTHER: host.backend fails" \
	grep -q '^{"check":"host.backend",.*"ok":false' "$OUT"
# shellcheck disable=SC2016 # the backquotes are the doctor's, not the shell's
vp_check "set backend iptables-$OTHER: the fix is to remove set backend" \
	grep -q 'fix":"remove `set backend` from the table' "$OUT"
vp_check "set backend iptables-$OTHER: rules.other_tables fails" \
	grep -q '^{"check":"rules.other_tables",.*"ok":false.*virt-portfwd flush' "$OUT"
write_table
vp_check "set backend removed: flush" vp_cli flush
vp_check "set backend removed: apply" vp_cli apply
expect_healthy "back on libvirt's backend"

# 7. ip_forward off.
ip netns exec "$VP_HOST" sysctl -qw net.ipv4.ip_forward=0
expect_fail "ip_forward off" "host.ip_forward" "sysctl -w net.ipv4.ip_forward=1"
ip netns exec "$VP_HOST" sysctl -qw net.ipv4.ip_forward=1
expect_healthy "ip_forward on"
ip netns exec "$VP_HOST" sysctl -qw net.ipv6.conf.all.forwarding=0
expect_fail "IPv6 forwarding off" "host.ipv6_forwarding" \
	"sysctl -w net.ipv6.conf.all.forwarding=1"
ip netns exec "$VP_HOST" sysctl -qw net.ipv6.conf.all.forwarding=1
expect_healthy "IPv6 forwarding on"

# 8. The guest's lease changed while it ran.
write_leases 192.168.122.12
expect_fail "lease changed" "guest.lease" "virt-portfwd apply"
vp_check "lease changed: the detail names both addresses" \
	grep -qF "the guest's address is now 192.168.122.12 (lease) but our rules still send to \
$VP_G1_IP" "$OUT"
vp_check "lease changed: apply follows it" vp_cli apply
expect_healthy "rules follow the new lease"
write_leases "$VP_G1_IP"
vp_cli apply
expect_healthy "lease back"

# 9. A foreign rule ahead of ours: a DROP in FORWARD, a DNAT in nat PREROUTING. One that does
# not touch the forward's traffic is no finding. (iptables hosts only.)
if $SHADOW; then
	vp_h "$IPT" -w -I FORWARD 1 -d "$VP_G1_IP/32" -p tcp --dport 22 -j DROP
	expect_fail "foreign DROP ahead" "rules.shadow" "-t filter -D FORWARD 1"
	vp_check "foreign DROP ahead: only guest1's 2222 is shadowed" \
		test "$(grep -c '^{"check":"rules.shadow",.*"ok":false' "$OUT")" = 1
	vp_h "$IPT" -w -D FORWARD 1
	vp_h "$IPT" -w -t nat -I PREROUTING 1 -p tcp --dport 2322 -j DNAT \
		--to-destination 192.168.122.99:22
	expect_fail "foreign DNAT ahead" "rules.shadow" "-t nat -D PREROUTING 1"
	vp_h "$IPT" -w -t nat -D PREROUTING 1
	vp_h "$IPT" -w -I FORWARD 1 -s 203.0.113.0/24 -d "$VP_G1_IP/32" -j DROP
	vp_h "$IPT" -w -I FORWARD 1 -d 192.168.122.99/32 -p tcp --dport 22 -j REJECT
	expect_healthy "DROPs for other traffic"
	vp_h "$IPT" -w -D FORWARD 1
	vp_h "$IPT" -w -D FORWARD 1
	expect_healthy "foreign rules removed"
fi

# 10. firewalld: StrictForwardPorts, and a reload that wiped our rules.
mkdir -p "$VP_ROOT/etc/firewalld"
printf '# firewalld config file\nFirewallBackend=nftables\nStrictForwardPorts=yes\n' \
	>"$VP_ROOT/etc/firewalld/firewalld.conf"
expect_fail "StrictForwardPorts=yes" "firewalld.strict" "StrictForwardPorts=no"
sed -i 's/^StrictForwardPorts=yes/StrictForwardPorts=no/' "$VP_ROOT/etc/firewalld/firewalld.conf"
expect_healthy "StrictForwardPorts=no"
vp_check "firewalld present: the reload check runs" \
	grep -q '^{"check":"firewalld.reload",.*"ok":true' "$OUT"
full_flush
doctor --json
vp_check_eq "firewalld reload: the doctor exits 1" "$DOCTOR_RC" 1
vp_check "firewalld reload: firewalld.reload fails, naming apply" \
	grep -q '^{"check":"firewalld.reload",.*"ok":false.*virt-portfwd apply' "$OUT"
vp_check "firewalld reload: apply repairs it" vp_cli apply
expect_healthy "after the reload and apply"
rm -r "$VP_ROOT/etc/firewalld"

# 11. A stopped guest whose rules are still installed (libvirtd was down when it stopped).
rm "$VP_ROOT/run/libvirt/qemu/guest2.xml"
expect_fail "guest2 stopped unseen" "guest.running" "virt-portfwd apply"
vp_write_status guest2
expect_healthy "guest2 running again"

# 12. --probe: from the host itself through its own address; one GUEST, one PORT.
doctor --json --probe guest1 2222
vp_check_eq "probe guest1 2222: exit 0" "$DOCTOR_RC" 0
vp_check "probe guest1 2222: connected" \
	grep -q '^{"check":"probe","subject":"guest1 tcp 2222","ok":true' "$OUT"
vp_check "probe guest1 [::]:2222: connected" \
	grep -qF '{"check":"probe","subject":"guest1 tcp [::]:2222","ok":true' "$OUT"
vp_check "probe guest1 2222: only that guest and port" \
	test -z "$(grep -e guest2 -e 8080 "$OUT")"
expect_fail "probe of a port nothing listens on" "probe" "listens on port 99" --probe
doctor guest2 2399 --probe --json
vp_check "probe guest2 2399: refused" \
	grep -qF '{"check":"probe","subject":"guest2 tcp 2399","ok":false,'\
'"detail":"connecting to 192.168.122.1:2399 from the host: Connection refused"' "$OUT"

# 13. Arguments and subjects the table does not know.
doctor --json nosuch
vp_check_eq "unknown guest: exit 1" "$DOCTOR_RC" 1
vp_check_eq "unknown guest: no forwards, not running" "$(failed_checks)" \
	"guest.forwards guest.running"
doctor guest1 70000
vp_check_eq "a port out of range: usage error, exit 2" "$DOCTOR_RC" 2
doctor --frobnicate
vp_check_eq "an unknown option: usage error, exit 2" "$DOCTOR_RC" 2

# 14. A broken table.
vp_write_table <<-'EOF'
	guest1    tpc    2222        22
	EOF
expect_fail "broken table" "table" "virt-portfwd check"
write_table
expect_healthy "table repaired"

vp_finish
