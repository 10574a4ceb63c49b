#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Forwards that stay effective: libvirt re-inserting its jumps above ours (a network reload),
# a full firewall flush (firewalld < 2.0 reload, iptables -F), and the table edited while guests
# run. The network hook and `virt-portfwd apply` put things right, reading the running guests
# from libvirt's status files (never through libvirt); `virt-portfwd flush` removes everything.
#
#   test-reconcile.sh nft|legacy|nftables   (nftables: libvirt's nftables firewall backend)

. "$(dirname "$(readlink -f "$0")")/lib.sh"

TYPE=${1:-}
if [ "$TYPE" = nftables ]; then vp_init nft; else vp_init "$TYPE"; fi

C=$VP_CLIENT
HA=$VP_HOST_ADDR

# libvirt's live status file of a running guest: <domstatus> around the live domain XML.
write_status() {  # NAME
	mkdir -p "$VP_ROOT/run/libvirt/qemu"
	{
		echo "<domstatus state='running' reason='booted' pid='4242'>"
		echo "  <monitor path='/var/lib/libvirt/qemu/domain-7-$1/monitor.sock' type='unix'/>"
		cat "$VP_FIX/$1.xml"
		echo "</domstatus>"
	} >"$VP_ROOT/run/libvirt/qemu/$1.xml"
}

cli() {  # virt-portfwd CMD... in the host namespace, with the fixture tree
	ip netns exec "$VP_HOST" env VIRT_PORTFWD_ROOT="$VP_ROOT" XTABLES_LOCKFILE="$VP_LOCK" \
		"$VP_BIN" "$@" 2>>"$VP_TMP/hook.stderr"
}

network_hook() {  # OP: libvirt's network hook for network "default"
	ln -sf "$VP_BIN" "$VP_ROOT/hooks/network"
	ip netns exec "$VP_HOST" env VIRT_PORTFWD_ROOT="$VP_ROOT" XTABLES_LOCKFILE="$VP_LOCK" \
		"$VP_ROOT/hooks/network" default "$1" begin - </dev/null >>"$VP_TMP/hook.stdout" \
		2>>"$VP_TMP/hook.stderr"
}

works() {  # DESCRIPTION: both guests reachable on their forwards
	vp_check_eq "$1: 2222 reaches guest1" "$(vp_tcp_get "$C" "$HA" 2222)" guest1
	vp_check_eq "$1: 2322 reaches guest2" "$(vp_tcp_get "$C" "$HA" 2322)" guest2
}

# What a libvirt network reload does: its jumps re-inserted at the top of FORWARD (iptables) or of
# libvirt_network's forward chain (nftables), above ours.
libvirt_reload() {
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

# What firewalld < 2.0's reload does: every table flushed, then libvirt re-adds its rules.
full_flush() {
	local t
	if [ "$TYPE" = nftables ]; then
		vp_h nft flush ruleset
		load_libvirt
		return
	fi
	for t in filter nat mangle; do
		vp_h "$IPT" -w -t "$t" -F
		vp_h "$IPT" -w -t "$t" -X
		vp_h "$IP6T" -w -t "$t" -F
		vp_h "$IP6T" -w -t "$t" -X
	done
	vp_load_libvirt_rules
}

load_libvirt() {
	if [ "$TYPE" = nftables ]; then
		vp_load_libvirt_nft_rules
		vp_write_network_nft
	else
		vp_load_libvirt_rules
		vp_write_network
	fi
}

# The first rule of the chain libvirt's reject hangs off must be ours.
first_forward_rule() {
	if [ "$TYPE" = nftables ]; then
		vp_nft_rules list chain ip libvirt_network forward | head -n 1 | sed 's/ comment .*//'
	else
		vp_h "$IPT" -w -S FORWARD | sed -n 2p
	fi
}

vp_world
vp_fixture_init
load_libvirt
vp_write_table <<-'EOF'
	guest1    tcp    2222        22
	guest2    tcp    2322        22
	EOF
vp_write_leases "$VP_G1_MAC=$VP_G1_IP" "$VP_G2_MAC=$VP_G2_IP"
vp_write_domain guest1 "$VP_G1_UUID" "$VP_G1_MAC" vnet0
vp_write_domain guest2 "$VP_G2_UUID" "$VP_G2_MAC" vnet1
echo "# host type $TYPE, hook $VP_BIN"

S0=$VP_TMP/snap.0
vp_snapshot "$S0"
vp_hook_ok guest1 started
vp_hook_ok guest2 started
write_status guest1
write_status guest2
works "started"

# 1. libvirt re-inserts its jumps above ours: refused, until the network hook runs.
libvirt_reload
vp_check_eq "libvirt reload: our accept is below its reject, 2222 refused" \
	"$(vp_tcp_get "$C" "$HA" 2222)" ""
network_hook started
vp_check_eq "network hook 'started': exit 0, nothing on stdout" \
	"$?:$(cat "$VP_TMP/hook.stdout")" "0:"
works "after the network hook"
if [ "$TYPE" = nftables ]; then
	vp_check "after the network hook: libvirt_network forward's rule 1 is our accept" \
		grep -q 'ct status dnat' <<<"$(first_forward_rule)"
else
	vp_check_eq "after the network hook: FORWARD rule 1 is ours" "$(first_forward_rule)" \
		"-A FORWARD -m comment --comment virt-portfwd -j VIRT_PORTFWD_FWD"
fi

# 2. Everything flushed: `apply` restores every running guest.
full_flush
vp_check_eq "full flush: 2222 refused" "$(vp_tcp_get "$C" "$HA" 2222)" ""
vp_check "apply after a full flush: exit 0" cli apply
works "after apply"
s1=$VP_TMP/snap.1
s2=$VP_TMP/snap.2
vp_snapshot "$s1"
cli apply
vp_snapshot "$s2"
vp_check_same_file "apply twice: nothing changes" "$s1" "$s2"

# 3. The table edited while the guests run: apply adds the new forward, drops the removed one.
vp_write_table <<-'EOF'
	guest1    tcp    2225        22
	guest2    tcp    2322        22
	EOF
vp_check "apply after an edit: exit 0" cli apply
vp_check_eq "edited table: new forward 2225 reaches guest1" "$(vp_tcp_get "$C" "$HA" 2225)" guest1
vp_check_eq "edited table: removed forward 2222 is closed" "$(vp_tcp_get "$C" "$HA" 2222)" ""
vp_check_eq "edited table: guest2 unaffected" "$(vp_tcp_get "$C" "$HA" 2322)" guest2

# 4. A guest that stopped while nobody listened: apply removes its rules.
rm -f "$VP_ROOT/run/libvirt/qemu/guest2.xml"
cli apply
vp_check_eq "guest2 gone from libvirt's status: apply closes 2322" \
	"$(vp_tcp_get "$C" "$HA" 2322)" ""
vp_check_eq "guest2 gone: guest1 still forwarded" "$(vp_tcp_get "$C" "$HA" 2225)" guest1

# 5. status names each forward, its address and its source.
out=$(cli status)
vp_check "status shows guest1's forward with its lease address" \
	grep -q "tcp  2225 -> 192.168.122.10:22 (lease, default)" <<<"$out"
vp_check "status shows the packet counters of guest1's rules (DNAT and accept saw traffic)" \
	grep -Eq "packets: dnat [1-9][0-9]*, local [0-9]+, hairpin [0-9]+, accept [1-9]" <<<"$out"
vp_check "status says guest1 is installed with the backend" \
	grep -q "^guest1 ($VP_G1_UUID): installed with " <<<"$out"

# 6. `set backend` switched while guest1 runs: apply moves its rules, nothing stays behind.
if [ "$TYPE" = nft ]; then
	ours() { vp_h "$1" 2>/dev/null | grep -c "virt-portfwd:$VP_G1_UUID"; }
	vp_write_table <<-'EOF'
	set backend iptables-legacy
	guest1    tcp    2225        22
	EOF
	cli apply
	vp_check_eq "backend switched to iptables-legacy: nothing of guest1 left in nf_tables" \
		"$(ours iptables-nft-save)" 0
	vp_check "backend switched to iptables-legacy: guest1's rules are in the legacy tables" \
		test "$(ours iptables-legacy-save)" -gt 0
	vp_write_table <<-'EOF'
	guest1    tcp    2225        22
	EOF
	cli apply
	vp_check_eq "backend back to auto: nothing of guest1 left in the legacy tables" \
		"$(ours iptables-legacy-save)" 0
	vp_check_eq "backend back to auto: 2225 reaches guest1 again" \
		"$(vp_tcp_get "$C" "$HA" 2225)" guest1
	# The legacy tables were instantiated by the switch; empty them so the snapshot compares.
	for t in filter nat; do vp_h iptables-legacy -w -t "$t" -F; vp_h iptables-legacy -w -t "$t" -X; done
fi

# 7. flush removes everything.
vp_check "flush: exit 0" cli flush
vp_check_eq "flush: 2225 closed" "$(vp_tcp_get "$C" "$HA" 2225)" ""
vp_snapshot "$VP_TMP/snap.3"
# After the backend switch the (now empty) legacy tables exist; iptables-nft warns about them.
sed -i '/iptables-legacy tables present/d' "$VP_TMP/snap.3"
vp_check_same_file "flush: ruleset identical to before any guest started" "$S0" "$VP_TMP/snap.3"

vp_finish
