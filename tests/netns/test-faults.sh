#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Faults injected into the real qemu hook, each with its outcome asserted: the firewall batch or
# transaction failing midway (install, removal, and the rollback too), the tool hanging, missing
# or unable to list, the xtables lock or our own lock held past the bounded wait, lease files and
# network status that are missing, empty, truncated, not JSON, huge, a FIFO or replaced while
# read, and the hook SIGKILLed at random points. After each: no half-working forward, the exit
# status `set on-error` asks for, another guest untouched, and the next `started` or `apply`
# converges to exactly the right ruleset, every rule tagged, none twice. TAP on stdout; exit 1
# on any failure, 77 when it cannot run here.
#
#   test-faults.sh nft|legacy|nftables [vp-faultinj.so]
#
# nft: libvirt's rules and ours in iptables-nft; the iptables tools are replaced by shims/xt-tool
# (PATH). legacy and nftables: the backends work in process (libiptc, libnftables); the test-only
# library shims/faultinj.c, LD_PRELOADed into the hook, fails a table commit or an nf_tables batch.

. "$(dirname "$(readlink -f "$0")")/lib.sh"

vp_init_kind "${1:-}"
vp_close_stray_fds
FAULTINJ=${2:-${VP_BUILDDIR:-.}/tests/netns/vp-faultinj.so}
[ -f "$FAULTINJ" ] || vp_die "the fault-injection library $FAULTINJ is missing (meson builds it)"
FAULTINJ=$(readlink -f "$FAULTINJ")
# An ASan build checks that its runtime is loaded first: the preloaded library comes first.
PRELOAD_ENV=("LD_PRELOAD=$FAULTINJ"
	"ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0")
SHIMS=$(dirname "$(readlink -f "$0")")/shims

C=$VP_CLIENT
HA=$VP_HOST_ADDR
STATE=$VP_ROOT/run/virt-portfwd
CTL=$VP_TMP/shimctl          # plans and logs of the tool shims
SHIMBIN=$VP_TMP/shimbin      # the shims, under the tools' names
FAULTLOG=$VP_TMP/faults.log  # what faultinj injected
KILLS=${VP_KILLS:-60}        # SIGKILL iterations
VP_HOOK_TIMEOUT=60           # no hook may hang the test

# The environment of every hook call: shims first in PATH (nft), or the fault library (loaded,
# but it does nothing unless a VP_FAULT_* variable asks).
BASE_ENV=("${PRELOAD_ENV[@]}" "VP_FAULT_LOG=$FAULTLOG")
[ "$VP_KIND" = nft ] && BASE_ENV+=("PATH=$SHIMBIN:$PATH" "VP_SHIM_CTL=$CTL")
FAULT_ENV=()

hook() {  # DOMAIN OP [SUBOP]
	vp_hook_env "$1" "$2" "${3:-begin}" "${BASE_ENV[@]}" "${FAULT_ENV[@]}"
}

# shellcheck disable=SC2317 # called by the scenarios below
cli() {  # ARGS...
	vp_cli_env "${BASE_ENV[@]}" -- "$@"
}

network_hook() {  # OP
	ln -sf "$VP_BIN" "$VP_ROOT/hooks/network"
	ip netns exec "$VP_HOST" env VIRT_PORTFWD_ROOT="$VP_ROOT" XTABLES_LOCKFILE="$VP_LOCK" \
		"${BASE_ENV[@]}" "$VP_ROOT/hooks/network" default "$1" begin - </dev/null \
		>>"$VP_TMP/hook.stdout" 2>>"$VP_TMP/hook.stderr"
}

setup_shims() {
	local t
	mkdir -p "$CTL" "$SHIMBIN"
	for t in iptables-nft-restore ip6tables-nft-restore iptables-nft-save ip6tables-nft-save; do
		ln -s "$SHIMS/xt-tool" "$SHIMBIN/$t"
	done
}

# arm FAULT: the next hook call meets FAULT, one of
#   install-midway  the second half of an install fails after the first half went in
#   remove-midway   the second half of a removal fails after the first half went in
#   rollback        install-midway, and the rollback that follows fails too
arm() {
	FAULT_ENV=()
	: >"$FAULTLOG"
	rm -f "$CTL"/*.plan "$CTL"/*.log
	# shellcheck disable=SC2054 # the commas are the fault library's syntax
	case "$VP_KIND:$1" in
	# iptables-nft-restore: one batch, the filter block then the nat block on install, the
	# other way round on removal; each block commits on its own.
	nft:install-midway) echo "fail-block 2" >"$CTL/iptables-nft-restore.plan" ;;
	# A removal deletes the recorded rules by handle, in process, in one nf_tables transaction.
	nft:remove-midway) FAULT_ENV=(VP_FAULT_NFT=1) ;;
	nft:rollback) printf 'fail-block 2\nfail\n' >"$CTL/iptables-nft-restore.plan" ;;
	# libiptc: one commit per table, filter then nat on install, nat then filter on removal.
	legacy:install-midway) FAULT_ENV=(VP_FAULT_IPTC=nat:1) ;;
	legacy:remove-midway) FAULT_ENV=(VP_FAULT_IPTC=filter:1) ;;
	legacy:rollback) FAULT_ENV=(VP_FAULT_IPTC=nat:1,filter:2) ;;
	# libnftables: one transaction for everything; the kernel refuses it whole.
	nftables:install-midway | nftables:remove-midway) FAULT_ENV=(VP_FAULT_NFT=1) ;;
	nftables:rollback) FAULT_ENV=(VP_FAULT_NFT=1,2) ;;
	*) vp_die "arm: unknown fault $1" ;;
	esac
}

disarm() {
	FAULT_ENV=()
	rm -f "$CTL"/*.plan
}

faults_fired() {  # how many injected failures happened since arm
	local lib tool
	lib=$(cat "$FAULTLOG" 2>/dev/null | grep -c .)
	tool=$(cat "$CTL/iptables-nft-restore.log" 2>/dev/null | grep -c -e ' fired ' -e '^fail failed$')
	echo $((lib + tool))
}

g1_rules() { vp_count_owned "$VP_G1_UUID"; }
g1_state() { if [ -e "$STATE/$VP_G1_UUID" ]; then echo present; else echo absent; fi; }
stderr_mark() { wc -l <"$VP_TMP/hook.stderr"; }
stderr_since() { tail -n +"$(($1 + 1))" "$VP_TMP/hook.stderr"; }

# The ruleset with guest2 alone installed, as it was before guest1's scenario.
check_g2_only() {  # WHEN
	local snap=$VP_TMP/snap.now
	vp_snapshot "$snap"
	vp_check_same_file "$1: the ruleset holds guest2's forwards only, as before" "$S_G2" "$snap"
}

check_g2_untouched() {  # WHEN
	vp_check_eq "$1: guest2's rules are untouched" "$(vp_rules_owned "$VP_G2_UUID")" "$G2_RULES"
	vp_check_eq "$1: 2322 still reaches guest2" "$(vp_tcp_get "$C" "$HA" 2322)" guest2
}

# guest1 started normally, checked, stopped normally: the forward works again after a fault.
check_recovers() {  # WHEN
	vp_hook_ok guest1 started
	vp_check_eq "$1, then started: 2222 reaches guest1" "$(vp_tcp_get "$C" "$HA" 2222)" guest1
	vp_hook_ok guest1 stopped end
	check_g2_only "$1, started and stopped again"
}

# BASE_MS: the baseline of every time this script checks: guest1's started with no fault, through
# the same harness (best of 3; each followed by its stopped).
measure_baseline() {
	local i
	BASE_MS=999999
	for i in 1 2 3; do
		vp_timed hook guest1 started || vp_die "baseline: guest1 started failed"
		[ "$VP_MS" -lt "$BASE_MS" ] && BASE_MS=$VP_MS
		hook guest1 stopped end || vp_die "baseline: guest1 stopped failed"
	done
	echo "# measured: baseline, guest1 started without a fault: $BASE_MS ms (best of 3)"
}

write_table() {  # [EXTRA LINES...]: the table; guest1 and guest2's forwards, then the extra lines
	{
		echo "set lease-wait 20"
		echo "guest1 tcp 2222 22"
		echo "guest1 tcp 8080-8081 80-81"
		echo "guest1 udp 27015 27015"
		echo "guest2 tcp 2322 22"
		printf '%s\n' "$@"
	} | vp_write_table
}

# ---------------------------------------------------------------------------------------------
# The firewall failing midway.

# A start whose second half fails: nothing of guest1 may stay (the rollback removes the first
# half), the hook exits 0 with `on-error continue` and 1 with `on-error abort`.
scenario_install_midway() {  # ON-ERROR
	local rc mark want=0
	[ "$1" = abort ] && want=1
	write_table "set on-error $1"
	mark=$(stderr_mark)
	arm install-midway
	hook guest1 started
	rc=$?
	disarm
	vp_check_eq "install fails midway (on-error $1): the fault was injected" "$(faults_fired)" 1
	vp_check_eq "install fails midway (on-error $1): exit status $want" "$rc" "$want"
	vp_check_eq "install fails midway (on-error $1): no rule of guest1 is left" "$(g1_rules)" 0
	vp_check "install fails midway (on-error $1): the failure is logged" \
		grep -q "applying the forwards of guest1 failed" <(stderr_since "$mark")
	check_g2_only "install fails midway (on-error $1)"
	check_g2_untouched "install fails midway (on-error $1)"
	write_table
	check_recovers "install fails midway (on-error $1)"
}

# libvirtd restarts and the hook's reconnect (after a table edit) fails: it must exit 0 even
# with on-error abort (a non-zero exit would make libvirt kill the running guest), leave guest1
# all or nothing, and `apply` must converge.
scenario_reconnect_fails() {
	local rc n
	write_table
	vp_hook_ok guest1 started
	vp_write_status guest1
	write_table "guest1 tcp 2225 22" "set on-error abort"
	arm install-midway
	hook guest1 reconnect
	rc=$?
	disarm
	vp_check_eq "reconnect fails (on-error abort): the fault was injected" "$(faults_fired)" 1
	vp_check_eq "reconnect fails (on-error abort): exit 0, the running guest is not killed" "$rc" 0
	n=$(g1_rules)
	vp_check_eq "reconnect fails: guest1 has all or nothing: no rule (rolled back)" "$n" 0
	vp_check_eq "reconnect fails: 2225 does not reach guest1" "$(vp_tcp_get "$C" "$HA" 2225)" ""
	check_g2_untouched "reconnect fails"
	vp_check "reconnect fails, then apply: exit 0" cli apply
	vp_check_eq "reconnect fails, then apply: 2222 reaches guest1" "$(vp_tcp_get "$C" "$HA" 2222)" guest1
	vp_check_eq "reconnect fails, then apply: 2225 reaches guest1" "$(vp_tcp_get "$C" "$HA" 2225)" guest1
	vp_check_owned "reconnect fails, then apply"
	rm -f "$VP_ROOT/run/libvirt/qemu/guest1.xml"
	vp_hook_ok guest1 stopped end
	write_table
	check_g2_only "reconnect fails, apply, stopped"
}

# A stop whose second half fails: what is left must not forward (iptables-legacy: the DNAT went
# first; nftables and iptables-nft, whose removal is one nf_tables transaction: nothing changed),
# the state must stay so that `apply` can finish the job once libvirt has forgotten the guest.
scenario_remove_midway() {
	local rc n
	write_table
	vp_hook_ok guest1 started
	n=$(g1_rules)
	arm remove-midway
	hook guest1 stopped end
	rc=$?
	disarm
	vp_check_eq "removal fails midway: the fault was injected" "$(faults_fired)" 1
	vp_check_eq "removal fails midway: exit 0" "$rc" 0
	if [ "$VP_KIND" != legacy ]; then
		vp_check_eq "removal fails (one transaction): all $n rules of guest1 are still in" \
			"$(g1_rules)" "$n"
	else
		vp_check_eq "removal fails midway: 2222 does not forward any more (DNAT went first)" \
			"$(vp_tcp_get "$C" "$HA" 2222)" ""
		vp_check_eq "removal fails midway: no DNAT of guest1 is left" \
			"$(vp_rules_owned "$VP_G1_UUID" | grep -c -- '-j DNAT')" 0
	fi
	vp_check_eq "removal fails midway: the state of guest1 stays, for apply and flush" \
		"$(g1_state)" present
	vp_check_owned "removal fails midway"
	vp_check "removal fails midway, then apply (guest1 not running): exit 0" cli apply
	vp_check_eq "removal fails midway, then apply: no rule of guest1 is left" "$(g1_rules)" 0
	vp_check_eq "removal fails midway, then apply: no state of guest1 is left" "$(g1_state)" absent
	check_g2_only "removal fails midway, then apply"
	check_g2_untouched "removal fails midway, then apply"
}

# The install fails and so does its rollback: whatever is left is logged with the way out
# (`virt-portfwd flush`), the state stays, nothing forwards that is not in the old or new table,
# and `apply` converges to the new table.
scenario_rollback_fails() {
	local rc mark
	write_table
	vp_hook_ok guest1 started
	vp_write_status guest1
	write_table "guest1 tcp 2225 22"
	mark=$(stderr_mark)
	arm rollback
	hook guest1 reconnect
	rc=$?
	disarm
	vp_check_eq "rollback fails too: both faults were injected" "$(faults_fired)" 2
	vp_check_eq "rollback fails too: exit 0" "$rc" 0
	vp_check "rollback fails too: the log says rules may be left and names flush" \
		grep -q "rules may be left.*flush" <(stderr_since "$mark")
	vp_check_eq "rollback fails too: the state of guest1 stays" "$(g1_state)" present
	vp_check_owned "rollback fails too"
	vp_check_eq "rollback fails too: 2299 (never declared) does not reach a guest" \
		"$(vp_tcp_get "$C" "$HA" 2299)" ""
	vp_check "rollback fails too, then apply: exit 0" cli apply
	vp_check_eq "rollback fails too, then apply: 2225 reaches guest1" \
		"$(vp_tcp_get "$C" "$HA" 2225)" guest1
	vp_check_eq "rollback fails too, then apply: 2222 reaches guest1" \
		"$(vp_tcp_get "$C" "$HA" 2222)" guest1
	vp_check_owned "rollback fails too, then apply"
	rm -f "$VP_ROOT/run/libvirt/qemu/guest1.xml"
	vp_hook_ok guest1 stopped end
	write_table
	check_g2_only "rollback fails, apply, stopped"
}

# nft only: the tool itself misbehaving (SIGKILLed mid-batch, hanging, missing, unable to list).
scenario_tool_faults() {
	local rc mark pid
	write_table
	# A caller that leaves fds open (libvirt does not): the tools must not see them.
	: >"$CTL/iptables-nft-restore.fds"
	: >"$CTL/iptables-nft-restore.locks"
	hook guest1 started 7>"$VP_TMP/stray.7" 200</dev/null
	vp_check_eq "hook called with fds 7 and 200 open: the tools it runs do not inherit them" \
		"$(grep . "$CTL/iptables-nft-restore.fds")" ""
	vp_check_eq "iptables-nft-restore runs holding the hook's lock (it must not outlive it)" \
		"$(sort -u "$CTL/iptables-nft-restore.locks")" held
	vp_hook_ok guest1 stopped end
	echo "kill-block 2" >"$CTL/iptables-nft-restore.plan"
	hook guest1 started
	rc=$?
	vp_check_eq "restore SIGKILLed after its first block: exit 0" "$rc" 0
	vp_check "restore SIGKILLed after its first block: the fault was injected" \
		grep -q "^kill-block 2 fired" "$CTL/iptables-nft-restore.log"
	vp_check_eq "restore SIGKILLed: no rule of guest1 is left" "$(g1_rules)" 0
	check_g2_only "restore SIGKILLed"
	disarm

	mark=$(stderr_mark)
	echo hang >"$CTL/iptables-nft-restore.plan"
	vp_timed hook guest1 started
	rc=$?
	disarm
	vp_check_eq "restore hangs: exit 0" "$rc" 0
	vp_check "restore hangs: the hook gives up after the 30 s bound, plus at most 100 baselines (took ${VP_MS} ms, baseline $BASE_MS ms)" \
		test "$VP_MS" -le $((30000 + 100 * BASE_MS))
	vp_check "restore hangs: the log says the tool was killed" \
		grep -q "iptables-nft-restore.*did not finish in time" <(stderr_since "$mark")
	vp_check_eq "restore hangs: no rule of guest1 is left" "$(g1_rules)" 0
	pid=$(sed -n 's/^hang hung pid //p' "$CTL/iptables-nft-restore.log")
	vp_check "restore hangs: the stuck tool (pid $pid) was killed" \
		test -n "$pid" -a ! -e "/proc/$pid"
	check_g2_only "restore hangs"

	mark=$(stderr_mark)
	vp_hook_env guest1 started begin PATH=/nonexistent-$$
	rc=$?
	vp_check_eq "no iptables-nft-restore in PATH: exit 0" "$rc" 0
	vp_check "no iptables-nft-restore in PATH: a clear error" \
		grep -q "cannot run iptables-nft-save: No such file or directory" <(stderr_since "$mark")
	check_g2_only "no iptables tools in PATH"

	echo fail >"$CTL/iptables-nft-save.plan"
	hook guest1 started
	rc=$?
	disarm
	vp_check_eq "iptables-nft-save fails: exit 0" "$rc" 0
	vp_check_eq "iptables-nft-save fails: no rule of guest1 is left" "$(g1_rules)" 0
	check_g2_only "iptables-nft-save fails"
	check_recovers "tool faults"
}

# ---------------------------------------------------------------------------------------------
# Locks held by someone else past our bounded wait.

LOCK_HOLDER=
hold_lock() {  # FILE SECONDS: another process holds FILE's flock
	# shellcheck disable=SC2016 # expanded by the inner shell
	ip netns exec "$VP_HOST" bash -c 'exec 9<>"$1" && flock 9 && exec sleep "$2"' _ "$1" "$2" &
	LOCK_HOLDER=$!
	VP_PIDS+=("$LOCK_HOLDER")
	sleep 0.3
}

release_lock() {
	kill "$LOCK_HOLDER" 2>/dev/null
	wait "$LOCK_HOLDER" 2>/dev/null
}

# legacy: libiptc must hold the xtables lock; a holder that never lets go costs us 5 s at most.
scenario_xtables_lock() {
	local rc mark on
	for on in continue abort; do
		write_table "set on-error $on"
		mark=$(stderr_mark)
		hold_lock "$VP_LOCK" 30
		vp_timed hook guest1 started
		rc=$?
		release_lock
		vp_check_eq "xtables lock held (on-error $on): exit status $([ $on = abort ] && echo 1 || echo 0)" \
			"$rc" "$([ $on = abort ] && echo 1 || echo 0)"
		vp_check "xtables lock held: the hook gives up after the 5 s bound, plus at most 100 baselines (took ${VP_MS} ms, baseline $BASE_MS ms)" \
			test "$VP_MS" -ge 5000 -a "$VP_MS" -le $((5000 + 100 * BASE_MS))
		vp_check "xtables lock held: the log names the lock and the wait" \
			grep -q "xtables lock .* is still held by another process after 5000 ms" \
			<(stderr_since "$mark")
		check_g2_only "xtables lock held (on-error $on)"
	done
	write_table
	check_recovers "xtables lock released"
}

# Our own lock (serialising hooks) held by a stuck process: we wait 30 s at most.
scenario_own_lock() {
	local rc mark
	write_table
	mark=$(stderr_mark)
	hold_lock "$STATE/lock" 60
	vp_timed hook guest1 started
	rc=$?
	release_lock
	vp_check_eq "our lock held by a stuck process: exit 0" "$rc" 0
	vp_check "our lock held: the hook gives up after the 30 s bound, plus at most 100 baselines (took ${VP_MS} ms, baseline $BASE_MS ms)" \
		test "$VP_MS" -ge 30000 -a "$VP_MS" -le $((30000 + 100 * BASE_MS))
	vp_check "our lock held: the log says which lock" \
		grep -q "lock .* is still held by another process after 30000 ms" <(stderr_since "$mark")
	check_g2_only "our lock held"
	check_recovers "our lock released"
}

# ---------------------------------------------------------------------------------------------
# What the hook reads: the lease file and the network status.

LEASES=$VP_ROOT/var/lib/libvirt/dnsmasq/virbr0.status

good_leases() { vp_write_leases "$VP_G1_MAC=$VP_G1_IP" "$VP_G2_MAC=$VP_G2_IP"; }

bad_leases() {  # KIND
	rm -f "$LEASES"
	case "$1" in
	missing) ;;
	empty) : >"$LEASES" ;;
	truncated)
		good_leases
		head -c 120 "$LEASES" >"$LEASES.tmp" && mv -f "$LEASES.tmp" "$LEASES"
		;;
	not-json) printf 'garbage\001\377 { [ "ip-address": ' >"$LEASES" ;;
	100MiB)
		# 100 MiB whose end is a valid lease list: a reader without a bound would find it.
		truncate -s 100M "$LEASES"
		printf '\n[{"ip-address":"%s","mac-address":"%s","expiry-time":%s}]\n' \
			"$VP_G1_IP" "$VP_G1_MAC" $(($(date +%s) + 3600)) >>"$LEASES"
		;;
	fifo) mkfifo "$LEASES" ;;
	*) vp_die "bad_leases: $1" ;;
	esac
}

# shellcheck disable=SC2317 # called through vp_check
wait_g1() {  # SECONDS: poll until 2222 reaches guest1
	local i
	for ((i = 0; i < $1 * 10; i++)); do
		[ "$(vp_tcp_get "$C" "$HA" 2222)" = guest1 ] && return 0
		sleep 0.1
	done
	return 1
}

# A lease file that cannot give guest1's address: the hook returns at once, installs nothing,
# leaves one waiter; when a good lease appears the waiter installs the forwards.
scenario_leases() {
	local k rc
	write_table
	for k in missing empty truncated not-json 100MiB fifo; do
		bad_leases "$k"
		# A reader that blocks on the FIFO would hang: give up on the hook after 5 s.
		VP_HOOK_TIMEOUT=5 vp_timed hook guest1 started
		rc=$?
		vp_check_eq "lease file $k: exit 0" "$rc" 0
		vp_check_ratio "lease file $k: the hook returns at once, in ms" "$VP_MS" "$BASE_MS" 20
		vp_check_eq "lease file $k: no rule of guest1" "$(g1_rules)" 0
		vp_check_eq "lease file $k: one lease waiter runs" "$(vp_waiters "$VP_G1_UUID")" 1
		rm -f "$LEASES"
		good_leases
		vp_check "lease file $k, then a good lease: the waiter installs 2222" wait_g1 30
		vp_hook_ok guest1 stopped end
		vp_check_eq "lease file $k: no waiter after stopped" "$(vp_waiters "$VP_G1_UUID")" 0
		check_g2_only "lease file $k, stopped"
	done
}

# The lease file replaced (atomically and in place) over and over while hooks read it.
scenario_leases_churn() {
	local i rc bad=0 crashed=0 n=15 swapper
	write_table
	good_leases
	cp "$LEASES" "$VP_TMP/leases.good"
	head -c 100 "$LEASES" >"$VP_TMP/leases.cut"
	rm -f "$VP_TMP/churn.stop"
	# shellcheck disable=SC2016 # expanded by the inner shell
	bash -c 'while [ ! -e "$1/churn.stop" ]; do
			cp "$1/leases.good" "$2.tmp" && mv -f "$2.tmp" "$2"
			cat "$1/leases.cut" >"$2"
			cat "$1/leases.good" >"$2"
			cp "$1/leases.cut" "$2.tmp" && mv -f "$2.tmp" "$2"
			rm -f "$2"
		done' _ "$VP_TMP" "$LEASES" &
	swapper=$!
	VP_PIDS+=("$swapper")
	for ((i = 0; i < n; i++)); do
		hook guest1 started
		rc=$?
		[ "$rc" -ge 128 ] && crashed=$((crashed + 1))
		[ "$rc" -ne 0 ] && bad=$((bad + 1))
		hook guest1 stopped end
		rc=$?
		[ "$rc" -ge 128 ] && crashed=$((crashed + 1))
		[ "$rc" -ne 0 ] && bad=$((bad + 1))
	done
	touch "$VP_TMP/churn.stop"
	wait "$swapper"
	vp_check_eq "lease file replaced while read: $((2 * n)) hooks, none crashed" "$crashed" 0
	vp_check_eq "lease file replaced while read: every hook exited 0" "$bad" 0
	vp_check_eq "lease file replaced while read: no waiter left after the last stopped" \
		"$(vp_waiters "$VP_G1_UUID")" 0
	check_g2_only "lease file replaced while read"
	good_leases
	check_recovers "lease file replaced while read"
}

# The network's status file missing (network not running) or broken: nothing to do, no waiter
# (no lease will come); when the network starts, the network hook installs the forwards.
scenario_network_status() {
	local k rc mark net=$VP_ROOT/run/libvirt/network/default.xml
	write_table
	cp "$net" "$VP_TMP/network.good"
	for k in missing garbage; do
		mark=$(stderr_mark)
		rm -f "$net"
		[ "$k" = garbage ] && printf '<networkstatus><network><name>default</na' >"$net"
		vp_timed hook guest1 started
		rc=$?
		vp_check_eq "network status $k: exit 0" "$rc" 0
		vp_check_ratio "network status $k: the hook returns at once, in ms" "$VP_MS" "$BASE_MS" 20
		vp_check_eq "network status $k: no rule of guest1" "$(g1_rules)" 0
		vp_check_eq "network status $k: no lease waiter (no lease can come)" \
			"$(vp_waiters "$VP_G1_UUID")" 0
		vp_check "network status $k: the log asks whether the network runs" \
			grep -q "cannot read the status of network default.*is it running" \
			<(stderr_since "$mark")
		cp "$VP_TMP/network.good" "$net"
		vp_write_status guest1
		network_hook started
		vp_check_eq "network status $k, then the network started: 2222 reaches guest1" \
			"$(vp_tcp_get "$C" "$HA" 2222)" guest1
		rm -f "$VP_ROOT/run/libvirt/qemu/guest1.xml"
		vp_hook_ok guest1 stopped end
		check_g2_only "network status $k, stopped"
	done
}

# ---------------------------------------------------------------------------------------------
# SIGKILL at random points.

ms_to_s() { printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)); }

# kill_once OP DELAY_MS MODE: start the hook for guest1 in a session of its own, SIGKILL it
# (MODE hook) or its whole process group, firewall tools included (MODE group), after DELAY_MS;
# MODE none: no kill. Prints the hook's exit status (137: killed before it finished) and how
# many milliseconds it ran. What it had started is let finish before the next invocation: a
# real next hook comes seconds later.
kill_once() {
	# shellcheck disable=SC2016 # expanded by the inner shell
	ip netns exec "$VP_HOST" env VIRT_PORTFWD_ROOT="$VP_ROOT" XTABLES_LOCKFILE="$VP_LOCK" bash -c '
		t0=$(date +%s%N)
		setsid "$1" guest1 "$2" begin - <"$3" >>"$4" 2>>"$5" &
		pid=$!
		exec 2>/dev/null   # no "Killed" job notices
		if [ "$7" != none ]; then
			sleep "$6"
			if [ "$7" = group ]; then kill -9 -- "-$pid"; else kill -9 "$pid"; fi 2>/dev/null
		fi
		wait "$pid"
		rc=$?
		t1=$(date +%s%N)
		for _ in $(seq 200); do pgrep -s "$pid" >/dev/null || break; sleep 0.01; done
		echo "$rc $(((t1 - t0) / 1000000))"' _ "$VP_ROOT/hooks/qemu" "$1" "$VP_FIX/guest1.xml" \
		"$VP_TMP/hook.stdout" "$VP_TMP/hook.stderr" "$(ms_to_s "$2")" "$3"
}

# Converge to TARGET (running or stopped) the way libvirt or the administrator would: started
# or apply for a running guest, stopped or apply for a stopped one. Prints the hook's status.
converge() {  # TARGET METHOD
	local rc
	if [ "$1" = running ]; then
		vp_write_status guest1
	else
		rm -f "$VP_ROOT/run/libvirt/qemu/guest1.xml"
	fi
	case "$1:$2" in
	running:hook) vp_hook guest1 started ;;
	stopped:hook) vp_hook guest1 stopped end ;;
	*:apply) vp_cli_env -- apply >/dev/null ;;
	esac
	rc=$?
	echo "$rc"
}

scenario_sigkill() {
	local i op mode delay rc t_start t_stop killed=0 target method snap=$VP_TMP/snap.kill
	local s_run=$VP_TMP/snap.run running=0 conv_bad=() owned_bad=() half_bad=() rc_bad=()
	local path_bad=() sampled=0 p want n_full n seen_none=0 seen_part=0 seen_full=0 t
	write_table
	# How long each takes unkilled: the fastest of 3 runs, so that most kills land mid-run.
	t_start=999999 t_stop=999999
	for _ in 1 2 3; do
		read -r rc t < <(kill_once started 0 none)
		[ "$t" -lt "$t_start" ] && t_start=$t
		vp_snapshot "$s_run"
		n_full=$(g1_rules)
		read -r rc t < <(kill_once stopped 0 none)
		[ "$t" -lt "$t_stop" ] && t_stop=$t
	done
	echo "# measured: SIGKILL: an unkilled started takes ${t_start} ms, stopped ${t_stop} ms"
	for ((i = 1; i <= KILLS; i++)); do
		if [ "$running" = 1 ]; then op=stopped; else op=started; fi
		[ $((i % 5)) = 0 ] && op=reconnect
		# Anywhere from before the hook starts to about when it would have finished.
		if [ "$op" = stopped ]; then t=$t_stop; else t=$t_start; fi
		delay=$((RANDOM % (t + 1)))
		if [ $((i % 2)) = 0 ]; then mode=group; else mode=hook; fi
		read -r rc _ < <(kill_once "$op" "$delay" "$mode")
		[ "$rc" = 137 ] && killed=$((killed + 1))
		n=$(g1_rules)
		if [ "$n" = 0 ]; then seen_none=$((seen_none + 1))
		elif [ "$n" = "$n_full" ]; then seen_full=$((seen_full + 1))
		else seen_part=$((seen_part + 1)); fi
		p=$(vp_owned_problems)
		[ -z "$p" ] || owned_bad+=("after kill $i ($op at ${delay} ms, $mode): $p")
		# Never a DNAT of guest1 without its accept: that would be a forward half made.
		if [ "$VP_KIND" != nftables ] && [ "$(vp_rules_owned "$VP_G1_UUID" | grep -c -- '-j DNAT')" -gt 0 ] &&
			[ "$(vp_rules_owned "$VP_G1_UUID" | grep -c -- '-j ACCEPT')" -lt 3 ]; then
			half_bad+=("after kill $i ($op at ${delay} ms): DNAT without its accepts")
		fi
		if [ $((RANDOM % 2)) = 0 ]; then target=running; running=1; else target=stopped; running=0; fi
		if [ $((RANDOM % 2)) = 0 ]; then method=hook; else method=apply; fi
		rc=$(converge "$target" "$method")
		[ "$rc" = 0 ] || rc_bad+=("iteration $i: $target by $method exited $rc")
		vp_snapshot "$snap"
		if [ "$target" = running ]; then want=$s_run; else want=$S_G2; fi
		cmp -s "$want" "$snap" ||
			conv_bad+=("kill $i ($op at ${delay} ms, $mode), then $target by $method:"
				"$(diff -u "$want" "$snap" | tail -n +3)")
		p=$(vp_owned_problems)
		[ -z "$p" ] || owned_bad+=("after converging $i: $p")
		if [ $((i % 4)) = 0 ]; then
			sampled=$((sampled + 1))
			if [ "$target" = running ]; then want=guest1; else want=; fi
			[ "$(vp_tcp_get "$C" "$HA" 2222)" = "$want" ] ||
				path_bad+=("iteration $i: 2222 should give '$want' ($target)")
		fi
	done
	echo "# measured: SIGKILL: $killed of $KILLS hooks were killed before they finished"
	echo "# measured: SIGKILL: guest1 had no rule after $seen_none kills, all $n_full after $seen_full," \
		"some after $seen_part"
	vp_check "SIGKILL: at least a quarter of the $KILLS hooks were killed mid-run ($killed)" \
		test "$killed" -ge $((KILLS / 4))
	vp_check_eq "SIGKILL: no rule of ours untagged or twice, after any kill or convergence" \
		"${owned_bad[*]}" ""
	vp_check_eq "SIGKILL: never a DNAT of guest1 without its accepts" "${half_bad[*]}" ""
	vp_check_eq "SIGKILL: every started/stopped/apply after a kill exited 0" "${rc_bad[*]}" ""
	if [ ${#conv_bad[@]} -eq 0 ]; then
		vp_ok "SIGKILL: after each of $KILLS kills, the next started/stopped/apply converged exactly"
	else
		vp_not_ok "SIGKILL: after each of $KILLS kills, the next started/stopped/apply converged exactly" \
			"${conv_bad[@]}"
	fi
	vp_check_eq "SIGKILL: the data path matched in $sampled sampled iterations" "${path_bad[*]}" ""
	rm -f "$VP_ROOT/run/libvirt/qemu/guest1.xml"
	vp_hook_ok guest1 stopped end
	check_g2_only "SIGKILL: stopped at the end"
	vp_check_eq "SIGKILL: no state of guest1 left" "$(g1_state)" absent
}

# ---------------------------------------------------------------------------------------------

vp_world
vp_load_libvirt_rules_kind
vp_fixture_init
setup_shims
write_table
# shellcheck disable=SC2119 # no static hosts
vp_write_network_kind
good_leases
vp_write_domain guest1 "$VP_G1_UUID" "$VP_G1_MAC" vnet0
vp_write_domain guest2 "$VP_G2_UUID" "$VP_G2_MAC" vnet1
echo "# host kind $VP_KIND, hook $VP_BIN"

S0=$VP_TMP/snap.0
vp_snapshot "$S0"
# guest2 runs with its forward through every scenario: no fault of guest1 may touch it.
vp_hook_ok guest2 started
vp_write_status guest2
S_G2=$VP_TMP/snap.g2
vp_snapshot "$S_G2"
G2_RULES=$(vp_rules_owned "$VP_G2_UUID")
vp_check_eq "guest2 started: 2322 reaches guest2" "$(vp_tcp_get "$C" "$HA" 2322)" guest2
measure_baseline

scenario_install_midway continue
scenario_install_midway abort
scenario_reconnect_fails
scenario_remove_midway
scenario_rollback_fails
case "$VP_KIND" in
nft) scenario_tool_faults ;;
legacy) scenario_xtables_lock ;;
nftables) scenario_own_lock ;;
esac
scenario_leases
scenario_leases_churn
scenario_network_status
scenario_sigkill

if [ "$VP_KIND" = nft ]; then
	vp_check_eq "every iptables tool the hook ran inherited no fd besides stdin, stdout, stderr" \
		"$(sort -u "$CTL"/*.fds | grep .)" ""
	echo "# measured: the hook ran the iptables tools $(cat "$CTL"/*.fds | grep -c '') times"
fi
vp_hook_ok guest2 stopped end
vp_snapshot "$VP_TMP/snap.end"
vp_check_same_file "end: guest2 stopped, the ruleset is the one from before any start" "$S0" \
	"$VP_TMP/snap.end"
vp_check_eq "end: nothing on stdout from any hook" "$(stat -c %s "$VP_TMP/hook.stdout")" 0
vp_finish
