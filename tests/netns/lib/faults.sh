# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# What the faults-* cases share. Each injects a fault into the real qemu hook and asserts its
# outcome: no half-working forward, the exit status `set on-error` asks for, guest2 untouched,
# and the next `started` or `apply` converging to exactly the right ruleset, every rule tagged,
# none twice. A case sources this file after run-case.sh has made its world.
#
# nft: the iptables tools are replaced by shims/xt-tool, first in the hook's PATH. legacy and
# nftables: the backends work in process (libiptc, libnftables); the test-only library
# shims/faultinj.c, LD_PRELOADed into the hook, fails a table commit or an nf_tables batch
# (a case that sets FAULTS_SHIMS=1 before sourcing this file has the shims on nftables too, for
# the iptables-nft tools the nftables backend runs next to Docker's or ufw's rules).
#
# guest2 runs with its own forward through each case (faults_start_g2 ... faults_stop_g2): no
# fault of guest1 may touch it.

FAULTS_STATE=$VP_ROOT/run/virt-portfwd
FAULTS_CTL=$VP_TMP/shimctl          # plans and logs of the tool shims
FAULTS_SHIMBIN=$VP_TMP/shimbin      # the shims, under the tools' names
FAULTS_LOG=$VP_TMP/faults.log       # what faultinj injected
FAULTS_LEASES=$VP_ROOT/var/lib/libvirt/dnsmasq/virbr0.status
# No hook may hang a case.
# shellcheck disable=SC2034 # read by vp_hook_env
VP_HOOK_TIMEOUT=60

# The environment of every faults_hook and faults_cli: the fault library (vp_faultinj), and on
# nft the shims first in PATH. (run-case.sh leaves only stdio open, as libvirt does: on nft the
# shims check that the tools the hook runs inherit nothing else.)
vp_faultinj
FAULTS_BASE_ENV=("${VP_FAULTINJ_ENV[@]}" "VP_FAULT_LOG=$FAULTS_LOG")
FAULTS_ENV=()   # what faults_arm asks for the next hook call

faults_setup_shims() {
	local t shims
	shims=$(readlink -f "$VP_LIB/../shims")
	mkdir -p "$FAULTS_CTL" "$FAULTS_SHIMBIN" || return 1
	[ "$VP_KIND" = nft ] || [ -n "${FAULTS_SHIMS:-}" ] || return 0
	for t in iptables-nft-restore ip6tables-nft-restore iptables-nft-save ip6tables-nft-save; do
		ln -s "$shims/xt-tool" "$FAULTS_SHIMBIN/$t" || return 1
	done
	FAULTS_BASE_ENV+=("VIRT_PORTFWD_TOOL_DIRS=$FAULTS_SHIMBIN:/usr/sbin:/usr/bin:/sbin:/bin"
		"VP_SHIM_CTL=$FAULTS_CTL")
}
faults_setup_shims || vp_die "cannot set up the tool shims"

faults_hook() {  # DOMAIN OP [SUBOP]: the hook, with the fault armed if any
	vp_hook_env "$1" "$2" "${3:-begin}" "${FAULTS_BASE_ENV[@]}" "${FAULTS_ENV[@]}"
}

faults_cli() {  # ARGS...
	vp_cli_env "${FAULTS_BASE_ENV[@]}" -- "$@"
}

# faults_table [EXTRA LINES...]: the table; guest1 and guest2's forwards, then the extra lines.
faults_table() {
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
# The firewall failing midway

# faults_arm FAULT: the next faults_hook call meets FAULT, one of
#   install-midway  the second half of an install fails after the first half went in
#   remove-midway   the second half of a removal fails after the first half went in
#   rollback        install-midway, and the rollback that follows fails too
faults_arm() {
	FAULTS_ENV=()
	: >"$FAULTS_LOG"
	rm -f "$FAULTS_CTL"/*.plan "$FAULTS_CTL"/*.log
	# shellcheck disable=SC2054 # the commas are the fault library's syntax
	case "$VP_KIND:$1" in
	# iptables-nft-restore: one batch, the filter block then the nat block on install, the
	# other way round on removal; each block commits on its own.
	nft:install-midway) echo "fail-block 2" >"$FAULTS_CTL/iptables-nft-restore.plan" ;;
	# A removal deletes the recorded rules by handle, in process, in one nf_tables transaction.
	nft:remove-midway) FAULTS_ENV=(VP_FAULT_NFT=1) ;;
	nft:rollback) printf 'fail-block 2\nfail\n' >"$FAULTS_CTL/iptables-nft-restore.plan" ;;
	# libiptc: one commit per table, filter then nat on install, nat then filter on removal.
	legacy:install-midway) FAULTS_ENV=(VP_FAULT_IPTC=nat:1) ;;
	legacy:remove-midway) FAULTS_ENV=(VP_FAULT_IPTC=filter:1) ;;
	legacy:rollback) FAULTS_ENV=(VP_FAULT_IPTC=nat:1,filter:2) ;;
	# libnftables: one transaction for everything; the kernel refuses it whole.
	nftables:install-midway | nftables:remove-midway) FAULTS_ENV=(VP_FAULT_NFT=1) ;;
	nftables:rollback) FAULTS_ENV=(VP_FAULT_NFT=1,2) ;;
	*) vp_die "faults_arm: unknown fault $1" ;;
	esac
}

faults_disarm() {
	FAULTS_ENV=()
	rm -f "$FAULTS_CTL"/*.plan
}

faults_fired() {  # how many injected failures happened since faults_arm
	local lib tool
	lib=$(grep -c . "$FAULTS_LOG" 2>/dev/null)
	tool=$(grep -c -e ' fired ' -e '^fail failed$' "$FAULTS_CTL/iptables-nft-restore.log" \
		2>/dev/null)
	echo $((${lib:-0} + ${tool:-0}))
}

# ---------------------------------------------------------------------------------------------
# guest1, guest2 and the hook's log

faults_g1_state() {
	if [ -e "$FAULTS_STATE/$VP_G1_UUID" ]; then echo present; else echo absent; fi
}

# The hook's log since a mark: mark=$(vp_log_mark); ...; vp_log_since "$mark".

# faults_start_g2: the table, and guest2 started with its forward (and running for `apply`).
# FAULTS_S_G2 is the ruleset with guest2 alone installed, FAULTS_G2_RULES its rules.
faults_start_g2() {
	faults_table
	vp_hook_ok guest2 started
	vp_write_status guest2
	FAULTS_S_G2=$VP_TMP/snap.g2
	vp_snapshot "$FAULTS_S_G2"
	FAULTS_G2_RULES=$(vp_rules_owned "$VP_G2_UUID")
	vp_check_eq "guest2 started: 2322 reaches guest2" \
		"$(vp_tcp_get "$VP_CLIENT" "$VP_HOST_ADDR" 2322)" guest2
}

# faults_stop_g2: guest2 stopped; on nft, no tool the hook ran inherited an fd it should not
# have. run-case.sh then checks that the ruleset is the starting one and stdout stayed empty.
faults_stop_g2() {
	if [ "$VP_KIND" = nft ]; then
		vp_check_eq "every iptables tool the hook ran inherited no fd besides stdin, stdout,\
 stderr" "$(sort -u "$FAULTS_CTL"/*.fds 2>/dev/null | grep .)" ""
		echo "# measured: the hook ran the iptables tools" \
			"$(cat "$FAULTS_CTL"/*.fds 2>/dev/null | grep -c '') times"
	fi
	rm -f "$VP_ROOT/run/libvirt/qemu/guest2.xml"
	vp_hook_ok guest2 stopped end
}

# The ruleset with guest2 alone installed, as it was before guest1's scenario.
faults_check_g2_only() {  # WHEN
	local snap=$VP_TMP/snap.now
	vp_snapshot "$snap"
	vp_check_same_file "$1: the ruleset holds guest2's forwards only, as before" \
		"$FAULTS_S_G2" "$snap"
}

faults_check_g2_untouched() {  # WHEN
	vp_check_eq "$1: guest2's rules are untouched" "$(vp_rules_owned "$VP_G2_UUID")" \
		"$FAULTS_G2_RULES"
	vp_check_eq "$1: 2322 still reaches guest2" \
		"$(vp_tcp_get "$VP_CLIENT" "$VP_HOST_ADDR" 2322)" guest2
}

# guest1 started normally, checked, stopped normally: the forward works again after a fault.
faults_check_recovers() {  # WHEN
	vp_hook_ok guest1 started
	vp_check_eq "$1, then started: 2222 reaches guest1" \
		"$(vp_tcp_get "$VP_CLIENT" "$VP_HOST_ADDR" 2222)" guest1
	vp_hook_ok guest1 stopped end
	faults_check_g2_only "$1, started and stopped again"
}

# shellcheck disable=SC2317 # called through vp_check
faults_wait_g1() {  # SECONDS: poll until 2222 reaches guest1
	local i
	for ((i = 0; i < $1 * 10; i++)); do
		[ "$(vp_tcp_get "$VP_CLIENT" "$VP_HOST_ADDR" 2222)" = guest1 ] && return 0
		sleep 0.1
	done
	return 1
}

# FAULTS_BASE_MS: the baseline of every time a case checks: guest1's started with no fault,
# through the same harness (best of 3; each followed by its stopped).
faults_baseline() {
	local _
	FAULTS_BASE_MS=999999
	for _ in 1 2 3; do
		vp_timed faults_hook guest1 started || vp_die "baseline: guest1 started failed"
		[ "$VP_MS" -lt "$FAULTS_BASE_MS" ] && FAULTS_BASE_MS=$VP_MS
		faults_hook guest1 stopped end || vp_die "baseline: guest1 stopped failed"
	done
	echo "# measured: baseline, guest1 started without a fault: $FAULTS_BASE_MS ms (best of 3)"
}

# ---------------------------------------------------------------------------------------------
# The firewall failing midway on install (a case per on-error)

# faults_install_midway ON-ERROR: a start whose second half fails: nothing of guest1 may stay
# (the rollback removes the first half), the hook exits 0 with `on-error continue` and 1 with
# `on-error abort`.
faults_install_midway() {
	local rc mark want=0 w="install fails midway (on-error $1)"
	[ "$1" = abort ] && want=1
	faults_table "set on-error $1"
	mark=$(vp_log_mark)
	faults_arm install-midway
	faults_hook guest1 started
	rc=$?
	faults_disarm
	vp_check_eq "$w: the fault was injected" "$(faults_fired)" 1
	vp_check_eq "$w: exit status $want" "$rc" "$want"
	vp_check_eq "$w: no rule of guest1 is left" "$(vp_g1_rules)" 0
	vp_check "$w: the failure is logged" \
		grep -q "applying the forwards of guest1 failed" <(vp_log_since "$mark")
	faults_check_g2_only "$w"
	faults_check_g2_untouched "$w"
	faults_table
	faults_check_recovers "$w"
}

# ---------------------------------------------------------------------------------------------
# Locks held by someone else past our bounded wait

FAULTS_LOCK_HOLDER=
faults_hold_lock() {  # FILE SECONDS: another process holds FILE's flock
	mkdir -p "$(dirname "$1")"
	# shellcheck disable=SC2016 # expanded by the inner shell
	ip netns exec "$VP_HOST" bash -c 'exec 9<>"$1" && flock 9 && exec sleep "$2"' _ "$1" "$2" &
	FAULTS_LOCK_HOLDER=$!
	VP_PIDS+=("$FAULTS_LOCK_HOLDER")
	sleep 0.3
}

faults_release_lock() {
	kill "$FAULTS_LOCK_HOLDER" 2>/dev/null
	wait "$FAULTS_LOCK_HOLDER" 2>/dev/null
}

# ---------------------------------------------------------------------------------------------
# The lease file

faults_good_leases() { vp_write_leases "$VP_G1_MAC=$VP_G1_IP" "$VP_G2_MAC=$VP_G2_IP"; }

faults_bad_leases() {  # KIND: a lease file that cannot give guest1's address
	rm -f "$FAULTS_LEASES"
	case "$1" in
	missing) ;;
	empty) : >"$FAULTS_LEASES" ;;
	truncated)
		faults_good_leases
		head -c 120 "$FAULTS_LEASES" >"$FAULTS_LEASES.tmp" &&
			mv -f "$FAULTS_LEASES.tmp" "$FAULTS_LEASES"
		;;
	not-json) printf 'garbage\001\377 { [ "ip-address": ' >"$FAULTS_LEASES" ;;
	100MiB)
		# 100 MiB whose end is a valid lease list: a reader without a bound would find it.
		truncate -s 100M "$FAULTS_LEASES"
		printf '\n[{"ip-address":"%s","mac-address":"%s","expiry-time":%s}]\n' \
			"$VP_G1_IP" "$VP_G1_MAC" $(($(date +%s) + 3600)) >>"$FAULTS_LEASES"
		;;
	fifo) mkfifo "$FAULTS_LEASES" ;;
	*) vp_die "faults_bad_leases: $1" ;;
	esac
}

# faults_bad_lease KIND: guest1 started while the lease file is KIND (faults_bad_leases): the
# hook returns at once, installs nothing, leaves one waiter; when a good lease appears the waiter
# installs the forwards; stopped ends it. Needs faults_baseline.
faults_bad_lease() {
	local k=$1 rc
	faults_bad_leases "$k"
	# A reader that blocks on the FIFO would hang: give up on the hook after 5 s.
	VP_HOOK_TIMEOUT=5 vp_timed faults_hook guest1 started
	rc=$?
	vp_check_eq "lease file $k: exit 0" "$rc" 0
	vp_check_ratio "lease file $k: the hook returns at once, in ms" "$VP_MS" "$FAULTS_BASE_MS" 20
	vp_check_eq "lease file $k: no rule of guest1" "$(vp_g1_rules)" 0
	vp_check_eq "lease file $k: one lease waiter runs" "$(vp_waiters "$VP_G1_UUID")" 1
	rm -f "$FAULTS_LEASES"
	faults_good_leases
	vp_check "lease file $k, then a good lease: the waiter installs 2222" faults_wait_g1 30
	vp_hook_ok guest1 stopped end
	vp_check_eq "lease file $k: no waiter after stopped" "$(vp_waiters "$VP_G1_UUID")" 0
	faults_check_g2_only "lease file $k, stopped"
}
