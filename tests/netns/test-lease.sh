#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The late-lease path: a guest whose DHCP lease appears only after 'started'. The hook must
# return at once, leave one detached waiter that installs the forwards within a second of the
# lease appearing, and 'stopped' before the lease must leave neither a waiter nor a rule.
#
#   test-lease.sh nft|legacy

. "$(dirname "$(readlink -f "$0")")/lib.sh"

vp_init "${1:-}"

C=$VP_CLIENT
HA=$VP_HOST_ADDR

# Number of lease waiters of guest1 alive in this test (its VIRT_PORTFWD_ROOT: other runs use the
# same uuid). Zombies aside, and children of a waiter: under ASan, LeakSanitizer's tracer is a
# clone() of the process with the same command line.
waiters() {
	local n=0 pid pids
	pids=" $(pgrep -f "__wait-lease $VP_G1_UUID" | tr '\n' ' ')"
	for pid in $pids; do
		[ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" = Z ] && continue
		tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null |
			grep -qxF "VIRT_PORTFWD_ROOT=$VP_ROOT" || continue
		case $pids in *" $(awk '{print $4}' "/proc/$pid/stat" 2>/dev/null) "*) continue ;; esac
		n=$((n + 1))
	done
	echo "$n"
}

no_lease_yet() {
	: >"$VP_ROOT/var/lib/libvirt/dnsmasq/virbr0.status"
}

# Poll up to $2 seconds for a forward on 2222; prints the milliseconds it took.
wait_forward_ms() {
	local t0 limit=$(($2 * 10)) i
	t0=$(date +%s%N)
	for ((i = 0; i < limit; i++)); do
		[ "$(vp_tcp_get "$C" "$HA" 2222)" = "$1" ] && break
		sleep 0.1
	done
	echo $((($(date +%s%N) - t0) / 1000000))
}

vp_world
vp_load_libvirt_rules
vp_fixture_init
vp_write_table <<-'EOF'
	guest1    tcp    2222        22
	EOF
vp_write_network
vp_write_domain guest1 "$VP_G1_UUID" "$VP_G1_MAC" vnet0
echo "# host type $VP_HOSTTYPE, hook $VP_BIN"

S0=$VP_TMP/snap.0
vp_snapshot "$S0"

# The baseline of the times checked below: guest1's started with its lease already there (it
# installs the forward), best of 3, each followed by its stopped.
BASE_MS=999999
for _ in 1 2 3; do
	vp_write_leases "$VP_G1_MAC=$VP_G1_IP"
	vp_timed vp_hook guest1 started || vp_die "baseline: guest1 started failed"
	[ "$VP_MS" -lt "$BASE_MS" ] && BASE_MS=$VP_MS
	vp_hook guest1 stopped end || vp_die "baseline: guest1 stopped failed"
done
echo "# measured: baseline, guest1 started with its lease: $BASE_MS ms (best of 3)"

# 1. A late lease.
no_lease_yet
t0=$(date +%s%N)
vp_hook_ok guest1 started
ms=$((($(date +%s%N) - t0) / 1000000))
vp_check_ratio "no lease yet: the hook returned at once, in ms" "$ms" "$BASE_MS" 20
vp_check_eq "no lease yet: one waiter runs" "$(waiters)" 1
vp_check_eq "no lease yet: 2222 is closed" "$(vp_tcp_get "$C" "$HA" 2222)" ""
pid=$(for p in $(pgrep -f "__wait-lease $VP_G1_UUID"); do
	tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qxF "VIRT_PORTFWD_ROOT=$VP_ROOT" && echo "$p"
done | head -n 1)
vp_check_eq "waiter: in its own session" "$(ps -o sid= -p "$pid" | tr -d ' ')" "$pid"
# Its own inotify instance (and a syslog socket once it logs) aside, nothing inherited.
vp_check_eq "waiter: stdin, stdout, stderr on /dev/null and no inherited fd" \
	"$(ls -l "/proc/$pid/fd" | awk 'NR>1 {print $NF}' | grep -v -e '^anon_inode:inotify$' \
		-e '^socket:' | sort -u | tr '\n' ' ')" "/dev/null "
# libvirt's leases helper writes the lease a few seconds into the guest's boot.
sleep 5
vp_write_leases "$VP_G1_MAC=$VP_G1_IP"
ms=$(wait_forward_ms guest1 30)
vp_check_ratio "lease appeared: 2222 reaches guest1 (in ms, polled every 100 ms)" "$ms" "$BASE_MS" 20 300
sleep 0.3
vp_check_eq "lease appeared: the waiter is gone" "$(waiters)" 0
vp_hook_ok guest1 stopped end
vp_snapshot "$VP_TMP/snap.1"
vp_check_same_file "stopped: ruleset identical to before started" "$S0" "$VP_TMP/snap.1"

# 2. 'stopped' before the lease: no waiter left, no rule even when the lease comes later.
no_lease_yet
vp_hook_ok guest1 started
vp_check_eq "second start, no lease: one waiter runs" "$(waiters)" 1
vp_hook_ok guest1 stopped end
vp_check_eq "stopped before the lease: no waiter left" "$(waiters)" 0
vp_write_leases "$VP_G1_MAC=$VP_G1_IP"
sleep 1.5
vp_snapshot "$VP_TMP/snap.2"
vp_check_same_file "stopped before the lease: no rule, even after the lease came" \
	"$S0" "$VP_TMP/snap.2"
vp_check "stopped before the lease: no state left" \
	test -z "$(ls -A "$VP_ROOT/run/virt-portfwd" | grep -v '^lock$')"

# 3. A second 'started' (reconnect) while waiting replaces the waiter: never two.
no_lease_yet
vp_hook_ok guest1 started
vp_hook_ok guest1 reconnect
vp_check_eq "reconnect while waiting: still exactly one waiter" "$(waiters)" 1
vp_hook_ok guest1 stopped end

# 4. lease-wait bounds the wait.
vp_write_table <<-'EOF'
	set lease-wait 2
	guest1    tcp    2222        22
	EOF
no_lease_yet
vp_hook_ok guest1 started
sleep 3.5
vp_check_eq "lease-wait 2: the waiter gave up after 2 s" "$(waiters)" 0
vp_hook_ok guest1 stopped end
vp_snapshot "$VP_TMP/snap.4"
vp_check_same_file "lease-wait expired, stopped: ruleset identical to before" "$S0" "$VP_TMP/snap.4"

vp_finish
