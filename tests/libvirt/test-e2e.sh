#!/bin/bash
# test-e2e.sh SETUP: virt-portfwd under a real libvirtd with real qemu guests (root).
#
# SETUP is the host's firewall stack: nft (libvirt's iptables backend via iptables-nft) or
# legacy (via iptables-legacy); nftables (libvirt's own backend) is prepared but not run by CI yet.
# Everything runs in private PID, mount and network namespaces (see lib.sh); nothing is left on
# the machine and no packet leaves the namespaces. Output is TAP; exit 77 only when not root.
#
# Environment: VP_BIN (the built virt-portfwd), VP_BUILDDIR (guest image cache: guest-image/),
# VP_SRCDIR; VP_KEEP=1 keeps the environment running at the end for debugging; VP_APPLY=hook
# applies the edited table with the hook's reconnect instead of `virt-portfwd apply`.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SETUP=${1:-}
case "$SETUP" in
nft | legacy | nftables) ;;
*) echo "usage: test-e2e.sh nft|legacy|nftables" >&2; exit 2 ;;
esac
if [ "$(id -u)" -ne 0 ]; then
	echo "1..0 # SKIP needs root (real libvirtd, namespaces)"
	exit 77
fi

export VP_SRCDIR=${VP_SRCDIR:-$(cd "$HERE/../.." && pwd)}
export VP_BUILDDIR=${VP_BUILDDIR:-$VP_SRCDIR/build}
export VP_BIN=${VP_BIN:-$VP_BUILDDIR/virt-portfwd}
export VP_IMAGE=$VP_BUILDDIR/guest-image
VP_SETUP=$SETUP
. "$HERE/lib.sh"

HOST=$VP_HOST_ADDR
TABLE=/etc/virt-portfwd/forwards.conf

# Outside the namespaces: check the tools, build (or reuse) the guest image in the build dir.
preflight() {
	local c missing=""
	for c in libvirtd virtlogd virsh qemu-system-x86_64 dnsmasq socat unshare ip nft \
		iptables-nft-save iptables-legacy-save xtables-nft-multi xtables-legacy-multi; do
		command -v "$c" >/dev/null || missing+=" $c"
	done
	[ -z "$missing" ] || vp_die "missing:$missing (run tests/libvirt/install-deps.sh)"
	[ -x "$VP_BIN" ] || vp_die "no executable at VP_BIN=$VP_BIN (build first)"
	local t0
	t0=$(vp_ms)
	"$HERE/build-image.sh" "$VP_IMAGE" 2>&1 | sed 's/^/# /'
	if [ ! -s "$VP_IMAGE/vmlinuz" ] || [ ! -s "$VP_IMAGE/initrd.gz" ]; then
		vp_die "no guest image in $VP_IMAGE"
	fi
	vp_note "timing: guest image ready in $(($(vp_ms) - t0)) ms"
}

write_table() {
	cat >"$TABLE" <<-'EOF'
	# virt-portfwd end-to-end table. g8 is deliberately absent (a guest without forwards).
	g1  tcp  2222   22
	g1  udp  27015  27015
	g2  tcp  2322   22
	g3  tcp  2233   22
	g4  tcp  2234   22
	g5  tcp  2235   22
	g6  tcp  2236   22
	g7  tcp  2237   22
	EOF
	chown root:root "$TABLE" && chmod 0644 "$TABLE"
}

setup_environment() {
	local t0 loc expect
	vp_mount_private
	vp_netns_setup
	vp_fw_setup
	vp_libvirt_config
	vp_install_hook || vp_die "cannot install the hook from $VP_BIN"
	write_table
	t0=$(vp_ms)
	vp_start_daemons || { vp_diag "daemon start"; vp_die "libvirtd did not start"; }
	vp_note "timing: virtlogd + libvirtd up in $(($(vp_ms) - t0)) ms"
	t0=$(vp_ms)
	vp_define_network || { vp_diag "network start"; vp_die "network default did not start"; }
	vp_note "timing: network default started in $(($(vp_ms) - t0)) ms"
	vp_ok 0 "environment: libvirt $(vp_virsh version | awk '/libvirt/ {print $NF; exit}'), network default active ($SETUP)"
	expect=$SETUP
	loc=$(vp_libvirt_fw_location)
	[ "$loc" = "$expect" ]
	vp_ok $? "libvirt's own rules are where the $SETUP setup puts them (found: $loc)"
	S0=$(vp_ruleset)
}

ruleset_is_initial() {
	local now
	now=$(vp_ruleset)
	[ "$now" = "$S0" ] && return 0
	vp_note "ruleset differs from the one before any guest started:"
	diff -u <(printf '%s\n' "$S0") <(printf '%s\n' "$now") | sed 's/^/#   /'
	return 1
}

# (no grep -q after a pipe: with pipefail, its early exit fails the writer with SIGPIPE)
hook_was_called() { vp_hook_log | grep "hooks/qemu $1 $2 " >/dev/null; }

# [8] A guest with no forwards: no rule, the hook returns at once. This guest also carries the
# self-check, which proves the environment before the hook is judged.
scenario_no_forwards() {
	local ms t0 out rc
	vp_define_guest 8
	ms=$(vp_start_guest g8)
	vp_ok $? "[8] virsh start g8 (a guest without forwards) succeeds"
	[ "$ms" -lt 2000 ]
	vp_ok $? "[8] virsh start g8 returns in under 2 s ($ms ms)"
	hook_was_called g8 started
	vp_ok $? "[8] libvirtd ran the installed hook for g8 (started)"
	ms=$(vp_hook_ms g8 started)
	[ -n "$ms" ] && [ "$ms" -lt 500 ]
	vp_ok $? "[8] the hook returned at once for g8 (${ms:-?} ms in libvirtd's log, < 500)"
	ruleset_is_initial
	vp_ok $? "[8] no rule added for g8"
	t0=$(vp_ms)
	out=$(vp_run_hook g8 started)
	rc=$?
	ms=$(($(vp_ms) - t0))
	[ $rc -eq 0 ] && [ -z "$out" ] && [ $ms -lt 500 ]
	vp_ok $? "[8] hook 'g8 started' by hand: exit $rc, ${#out} bytes on stdout, $ms ms (< 500)"
	ruleset_is_initial
	vp_ok $? "[8] still no rule after the manual run"

	t0=$(vp_ms)
	vp_wait_ready g8 60
	vp_ok $? "[env] g8 booted and has its lease ($(($(vp_ms) - t0)) ms after virsh start returned)"
	vp_selfcheck g8 "$(vp_gip 8)"
	vp_ok $? "[env] self-check: DNAT alone is refused, hand-made DNAT + FORWARD accept reaches g8"
	ruleset_is_initial
	vp_ok $? "[env] self-check rules removed"
	vp_virsh destroy g8 >/dev/null
}

# [1] [2] Start g1: TCP and UDP forwards from the client within 60 s.
scenario_start() {
	local ms t0 udp=""
	vp_define_guest 1
	vp_define_guest 2
	t0=$(vp_ms)
	ms=$(vp_start_guest g1)
	vp_ok $? "[2] virsh start g1 ($ms ms)"
	hook_was_called g1 started
	vp_ok $? "[1] libvirtd ran the installed hook for g1 (started)"
	vp_wait_http "$VP_CNS" "$HOST" 2222 g1 60
	vp_ok $? "[2] client -> host:2222 reaches g1:22 ($(($(vp_ms) - t0)) ms after virsh start)"
	vp_note "timing: g1 console says ready: $(grep -m1 '^VP-READY' "$VP_RUN/console-g1.log" | tr -d '\r')"
	for _ in 1 2 3; do
		udp=$(vp_udp "$VP_CNS" "$HOST" 27015 ping)
		[ "$udp" = "g1 ping" ] && break
	done
	[ "$udp" = "g1 ping" ]
	vp_ok $? "[2] client -> host:27015/udp reaches g1's UDP listener (answer: '$udp')"
	vp_tcp_closed "$VP_CNS" "$HOST" 2223
	vp_ok $? "[2] a port without a forward (2223) stays closed"
}

# [3] g2 reaches g1 through the host's address (hairpin); the host reaches g1 too.
scenario_hairpin() {
	local r
	vp_start_guest g2 >/dev/null
	vp_wait_ready g2 60
	vp_ok $? "[3] g2 booted and has its lease"
	r=$(vp_http "$VP_HNS" "$(vp_gip 2)" 22 "/cgi-bin/probe?$HOST:2222")
	[ "$r" = "probe-result g1" ]
	vp_ok $? "[3] g2 -> host:2222 reaches g1 (hairpin; g2 says '$r')"
	r=$(vp_http "$VP_HNS" "$HOST" 2222)
	[ "$r" = g1 ]
	vp_ok $? "[3] the host itself -> $HOST:2222 reaches g1 ('$r')"
	r=$(vp_http "$VP_CNS" "$HOST" 2322)
	[ "$r" = g2 ]
	vp_ok $? "[3] client -> host:2322 reaches g2 ('$r')"
}

# Wait until the restarted libvirtd has reconnected NAME (the hook ran and returned).
wait_reconnect() {
	local _
	for _ in $(seq 1 100); do
		vp_hook_ms "$1" reconnect >/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# [4] libvirtd restarts under running guests: forwards keep working, no rule is duplicated.
scenario_restart() {
	local before after jumps t0
	before=$(vp_our_rules)
	[ -n "$before" ]
	vp_ok $? "[4] our rules are installed before the restart ($(printf '%s' "$before" | grep -c .) lines)"
	t0=$(vp_ms)
	vp_stop_libvirtd
	vp_in_host libvirtd -d && vp_wait_libvirtd
	vp_ok $? "[4] libvirtd restarted with g1 and g2 running ($(($(vp_ms) - t0)) ms)"
	wait_reconnect g1 && wait_reconnect g2
	vp_ok $? "[4] libvirtd ran the hook's reconnect for g1 and g2"
	[ "$(vp_http "$VP_CNS" "$HOST" 2222)" = g1 ] && [ "$(vp_http "$VP_CNS" "$HOST" 2322)" = g2 ] &&
		[ "$(vp_udp "$VP_CNS" "$HOST" 27015 again)" = "g1 again" ]
	vp_ok $? "[4] forwards still work after the restart (2222, 2322, 27015/udp)"
	after=$(vp_our_rules)
	[ "$before" = "$after" ]
	vp_ok $? "[4] our rules are unchanged, none duplicated"
	[ "$before" = "$after" ] || diff -u <(printf '%s\n' "$before") <(printf '%s\n' "$after") | sed 's/^/#   /'
	jumps=$(vp_forward_head)
	vp_forward_ours_first
	vp_ok $? "[4] our forward accept/jump is present once and first (first rule: ${jumps:-none})"
}

# [5] The table changes while g1 runs, then `virt-portfwd apply` (VP_APPLY=hook: the hook's
# reconnect by hand instead).
scenario_edit() {
	local out rc how
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
	vp_wait_http "$VP_CNS" "$HOST" 2224 g1 10
	vp_ok $? "[5] the new forward host:2224 reaches g1"
	vp_tcp_closed "$VP_CNS" "$HOST" 2222
	vp_ok $? "[5] the removed forward host:2222 is closed"
	[ "$(vp_udp "$VP_CNS" "$HOST" 27015 still)" = "g1 still" ]
	vp_ok $? "[5] the unchanged UDP forward still works"
}

# [6] virsh destroy: ports closed, ruleset byte-identical to before any guest started.
scenario_destroy() {
	vp_virsh destroy g1 >/dev/null && vp_virsh destroy g2 >/dev/null
	vp_ok $? "[6] virsh destroy g1 g2"
	hook_was_called g1 stopped && hook_was_called g1 release
	vp_ok $? "[6] libvirtd ran the hook for g1 (stopped, release)"
	vp_tcp_closed "$VP_CNS" "$HOST" 2224 && vp_tcp_closed "$VP_CNS" "$HOST" 2322 &&
		[ -z "$(vp_udp "$VP_CNS" "$HOST" 27015 gone)" ]
	vp_ok $? "[6] host:2224, host:2322 and host:27015/udp are closed"
	ruleset_is_initial
	vp_ok $? "[6] the ruleset is byte-identical to the one before the guests started"
}

# [7] Five guests at once: every start returns in under 2 s, every forward works.
scenario_five() {
	local n t0 max=0 hmax=0 bad="" line rc ms miss=""
	for n in 3 4 5 6 7; do vp_define_guest "$n"; done
	t0=$(vp_ms)
	for n in 3 4 5 6 7; do
		(ms=$(vp_start_guest "g$n"); echo "$? $ms" >"$VP_RUN/start-g$n") &
	done
	wait
	for n in 3 4 5 6 7; do
		line=$(cat "$VP_RUN/start-g$n" 2>/dev/null)
		rc=${line%% *}
		ms=${line##* }
		[ "${rc:-1}" = 0 ] && [ "${ms:-99999}" -lt 2000 ] || bad+=" g$n(rc=${rc:-?},${ms:-?}ms)"
		[ "${ms:-0}" -gt "$max" ] && max=$ms
	done
	# The hook's own share of each start, from libvirtd's log: tells a slow machine from a slow hook.
	for n in 3 4 5 6 7; do
		ms=$(vp_hook_ms "g$n" started) && [ "$ms" -gt "$hmax" ] && hmax=$ms
	done
	[ -z "$bad" ]
	vp_ok $? "[7] five concurrent virsh start all succeed in under 2 s (slowest $max ms, hook 'started' at most $hmax ms)${bad:+; failed:$bad}"
	for n in 3 4 5 6 7; do
		vp_wait_http "$VP_CNS" "$HOST" "223$n" "g$n" $((60 - ($(vp_ms) - t0) / 1000)) || miss+=" g$n"
	done
	[ -z "$miss" ]
	vp_ok $? "[7] all five reachable through their forwards ($(($(vp_ms) - t0)) ms)${miss:+; unreachable:$miss}"
	vp_destroy_all
	ruleset_is_initial
	vp_ok $? "[7] after destroying the five, the ruleset is the initial one again"
}

main() {
	local t0
	if [ -z "${VP_E2E_INNER:-}" ]; then
		preflight
		vp_enter_private "$@"
	fi
	t0=$(vp_ms)
	trap vp_cleanup EXIT
	trap 'exit 1' TERM INT
	vp_note "setup $SETUP, hook $VP_BIN, image $VP_IMAGE"
	setup_environment
	scenario_no_forwards
	scenario_start
	scenario_hairpin
	scenario_restart
	scenario_edit
	scenario_destroy
	scenario_five
	vp_note "timing: whole run $(($(vp_ms) - t0)) ms"
	vp_done
	[ "$VP_TAP_FAILED" -eq 0 ]
}

main "$@"
