#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# bench-libvirt.sh [--runs N] [SETUP ...]: the hook next to the floor with a real libvirtd
# running (root). bench.sh measures in a world whose libvirt parts are written by the test (its
# network status, its rules); here libvirtd itself starts the network default, so the hook reads
# the network status libvirt wrote and its rules sit among libvirt's own, as on a user's host.
#
# For each SETUP (nft: libvirt's iptables backend on iptables-nft; legacy; nftables: libvirt's
# own backend; default: all three), in the private namespaces of the real-libvirt suite
# (tests/libvirt/lib.sh: nothing of the machine is read or written), hyperfine measures side by
# side, in one run:
#   - the hook's `started` and `stopped` for a guest with 10 forwards, its address from the
#     network's static DHCP host (what libvirtd wrote), as libvirt runs the hook (XML on stdin);
#   - the floor: the same change made by one batch of the distribution's tool (floor.sh);
#   - the hook for a guest without forwards, next to `/bin/true` and to an empty program linked
#     as the hook is (tests/bench/linked.c, built beside VP_BIN: VP_LINKED).
# Prints a markdown table of medians (ms) and the ratio (started + stopped) / (add + del), and
# the bound: the ratio of a hook that did nothing but start (the empty linked program) and, on
# iptables-nft, run the floor's add batch (the one program its `started` runs).
# `stopped` is measured twice: with no flow tracked in the namespace, and with one (a TCP
# connection from the outside to the host held open), because ending a removed forward's flows
# walks the whole conntrack hash table when anything is tracked (lib/conntrack.c); `started` is
# measured twice too: right after a `stopped`, and once its detached child has let go of our lock.
# The guest is not booted: libvirt runs no hook here, the script does (what is measured is the
# hook, not QEMU). Environment: VP_BIN (default build/virt-portfwd), VP_SRCDIR; VP_BIN_OLD:
# another build measured in the same hyperfine runs, one more row (before and after a change).
set -uo pipefail

HERE=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
export VP_SRCDIR=${VP_SRCDIR:-$(cd "$HERE/../.." && pwd)}
export VP_BIN=${VP_BIN:-$VP_SRCDIR/build/virt-portfwd}
export VP_LINKED=${VP_LINKED:-$(dirname "$VP_BIN")/tests/bench/bench-linked}
RUNS=25
while [ $# -gt 0 ]; do
	case "$1" in
	--runs) RUNS=$2; shift 2 ;;
	--one) ONE=$2; shift 2 ;;
	*) break ;;
	esac
done
export RUNS

# The outer run: one private environment per setup, one table row each.
if [ -z "${ONE:-}" ]; then
	[ "$(id -u)" -eq 0 ] || { echo "bench-libvirt.sh: needs root" >&2; exit 77; }
	for t in hyperfine jq libvirtd virsh; do
		command -v "$t" >/dev/null ||
			{ echo "bench-libvirt.sh: $t missing (tests/run installs it)" >&2; exit 77; }
	done
	[ -x "$VP_BIN" ] || { echo "bench-libvirt.sh: no executable VP_BIN=$VP_BIN" >&2; exit 1; }
	setups=("$@")
	[ ${#setups[@]} -gt 0 ] || setups=(nft legacy nftables)
	[ -x "$VP_LINKED" ] || { echo "bench-libvirt.sh: no executable VP_LINKED=$VP_LINKED" >&2; exit 1; }
	echo "| backend | build | rules present | started | started, lock free | stopped | stopped, a flow tracked | floor add | floor del | ratio | ratio, a flow tracked | no forwards | linked as the hook | \`/bin/true\` | bound |"
	echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	for s in "${setups[@]}"; do
		env -u VP_E2E_INNER bash "$0" --runs "$RUNS" --one "$s" || exit 1
	done
	echo
	echo "ratio: (started + stopped) / (floor add + floor del), medians in ms; load at the end:" \
		"$(cut -d' ' -f1-3 /proc/loadavg); $RUNS runs per command; $("$VP_BIN" --version | head -n 1)"
	exit 0
fi

# The inner run, for setup ONE, inside the private namespaces.
VP_SETUP=$ONE
VP_IMAGE=/nonexistent # no guest boots
. "$VP_SRCDIR/tests/libvirt/lib.sh"
. "$VP_SRCDIR/tests/netns/lib/ruleset.sh"
. "$HERE/floor.sh"
vp_enter_private --runs "$RUNS" --one "$ONE"
trap vp_cleanup EXIT

VP_KIND=$ONE
IPT_SAVE=iptables-save # vp_in_host's PATH has the setup's flavour first (lib-fw.sh)
GUEST=b10

vp_h() { vp_in_host "$@"; }
vp_hook() {
	vp_in_host /etc/libvirt/hooks/qemu "$1" "$2" begin - <"$VP_RUN/$1.xml" 2>>"$VP_TMP/hook.stderr"
}

# The guest's XML as libvirt passes it at start: its NIC on the network default with the MAC of
# the network's first static host (vp_define_network), so its address is what libvirtd wrote.
write_domain() {  # NAME NUMBER MAC
	cat >"$VP_RUN/$1.xml" <<-EOF
	<domain type='qemu' id='7'>
	  <name>$1</name>
	  <uuid>$(uuid_of "$2")</uuid>
	  <memory unit='KiB'>131072</memory>
	  <os><type arch='x86_64' machine='pc'>hvm</type></os>
	  <devices>
	    <interface type='network'>
	      <mac address='$3'/>
	      <source network='default' bridge='virbr0'/>
	      <target dev='vnet$2'/>
	      <model type='virtio'/>
	    </interface>
	  </devices>
	</domain>
	EOF
}

setup() {
	local i
	vp_mount_private
	VP_TMP=$VP_RUN/bench
	mkdir -p "$VP_TMP"
	vp_netns_setup
	vp_fw_setup
	vp_libvirt_config
	vp_install_hook >/dev/null || vp_die "cannot install the hook from $VP_BIN"
	for ((i = 0; i < 10; i++)); do
		echo "$GUEST tcp $((20000 + i)) $((1000 + i))"
	done >/etc/virt-portfwd/forwards.conf
	vp_start_daemons || vp_die "libvirtd did not start"
	vp_define_network || vp_die "network default did not start"
	write_domain "$GUEST" 10 "$(vp_mac 1)"
	write_domain nofwd 999 "$(vp_mac 2)"
}

rules_present() {
	if [ "$VP_KIND" = nftables ]; then
		vp_h nft -a list ruleset | grep -c "^$(printf '\t\t').* # handle "
	else
		{ vp_h iptables-save; vp_h ip6tables-save; } | grep -c '^-A '
	fi
}

median() {  # JSON NAME: the median of command NAME, in ms
	jq -r --arg n "$2" '.results[] | select(.command == $n) | .median * 1000' "$1"
}

# A flow the host tracks: a TCP connection from the outside to a listener of the host, held open.
flow_open() {
	vp_in_host socat TCP-LISTEN:9,bind="$VP_HOST_ADDR",fork,reuseaddr SYSTEM:"sleep 3600" &
	sleep 0.2
	vp_in_client socat -u TCP:"$VP_HOST_ADDR":9,connect-timeout=3 SYSTEM:"sleep 3600" &
	sleep 0.2
	[ "$(vp_in_host cat /proc/sys/net/netfilter/nf_conntrack_count)" -gt 0 ] ||
		vp_die "no flow tracked in the host namespace"
}

# hyperfine of started / stopped for the hook at $1 (a path named qemu), under the names
# PREFIX-started, PREFIX-stopped, into JSON; the floor too when WITH_FLOOR.
hook_runs() {  # JSON PREFIX HOOK WITH_FLOOR
	local x=$VP_RUN cmds args=()
	local st="$3 $GUEST started begin - <$x/$GUEST.xml" sp="$3 $GUEST stopped begin - <$x/$GUEST.xml"
	# lock free: the previous `stopped`'s child has ended its flows (flock waits for our lock)
	args=(-n "$2-started" --prepare "$sp" "$st"
		-n "$2-started-free" --prepare "$sp; flock /run/virt-portfwd/lock true" "$st"
		-n "$2-stopped" --prepare "$st" "$sp")
	if [ "$4" = 1 ]; then
		mapfile -t cmds <"$VP_TMP/floor-10/cmds"
		args+=(-n floor-add --prepare "${cmds[1]}" "${cmds[0]}"
			-n floor-del --prepare "${cmds[3]}" "${cmds[2]}")
	fi
	vp_in_host hyperfine --style none --warmup 2 --runs "$RUNS" --export-json "$1" "${args[@]}" \
		>/dev/null 2>"$VP_TMP/hf.err" || vp_die "hyperfine failed: $(cat "$VP_TMP/hf.err")"
	vp_hook "$GUEST" stopped
}

measure() {
	floor_prepare 10
	# Idle first (every build), then with the flow (every build): one namespace, one state.
	local builds=(new) hooks=(/etc/libvirt/hooks/qemu) i
	if [ -n "${VP_BIN_OLD:-}" ]; then
		mkdir -p "$VP_RUN/old"
		ln -sf "$VP_BIN_OLD" "$VP_RUN/old/qemu"
		builds+=(old) hooks+=("$VP_RUN/old/qemu")
	fi
	for i in "${!builds[@]}"; do
		hook_runs "$VP_TMP/${builds[i]}-idle.json" h "${hooks[i]}" 1
	done
	flow_open
	for i in "${!builds[@]}"; do
		hook_runs "$VP_TMP/${builds[i]}-flow.json" h "${hooks[i]}" 0
		vp_in_host hyperfine -N --style none --warmup 5 --runs $((RUNS * 5)) \
			--export-json "$VP_TMP/${builds[i]}-nofwd.json" \
			-n nofwd "${hooks[i]} nofwd started begin -" -n linked "$VP_LINKED" -n true /bin/true \
			>/dev/null 2>"$VP_TMP/hf.err" || vp_die "hyperfine failed: $(cat "$VP_TMP/hf.err")"
	done
	for i in "${!builds[@]}"; do
		report "${builds[i]}"
	done
}

report() {  # BUILD
	local j=$VP_TMP/$1 s sf p pf a d n l t
	s=$(median "$j-idle.json" h-started) sf=$(median "$j-idle.json" h-started-free)
	p=$(median "$j-idle.json" h-stopped)
	a=$(median "$j-idle.json" floor-add) d=$(median "$j-idle.json" floor-del)
	pf=$(median "$j-flow.json" h-stopped)
	n=$(median "$j-nofwd.json" nofwd) l=$(median "$j-nofwd.json" linked)
	t=$(median "$j-nofwd.json" true)
	awk -v k="$VP_KIND" -v b="$1" -v r="$(rules_present)" -v s="$s" -v sf="$sf" -v p="$p" \
		-v pf="$pf" -v a="$a" -v d="$d" -v n="$n" -v l="$l" -v t="$t" 'BEGIN {
		fmt = "| %s | %s | %d | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f |\n"
		printf fmt, k, b, r, s, sf, p, pf, a, d, (s + p) / (a + d), (s + pf) / (a + d), n, l, t,
			(2 * l + (k == "nft" ? a : 0)) / (a + d) }'
}

# VP_BENCH_TRACE=DIR: also one `started` and one `stopped` under strace -f -r -T, and their page
# faults (perf stat, the hook alone, no child) next to the empty linked program's and
# /bin/true's, into DIR.
trace() {
	local op
	vp_hook "$GUEST" stopped
	for op in started stopped; do
		vp_in_host strace -f -r -T -o "$VP_BENCH_TRACE/$VP_KIND-$op.strace" \
			/etc/libvirt/hooks/qemu "$GUEST" "$op" begin - <"$VP_RUN/$GUEST.xml"
	done
	command -v perf >/dev/null || return 0
	for op in started stopped; do
		vp_in_host flock /run/virt-portfwd/lock true
		vp_in_host perf stat -x, -i -e page-faults -o "$VP_BENCH_TRACE/$VP_KIND-$op.faults" \
			/etc/libvirt/hooks/qemu "$GUEST" "$op" begin - <"$VP_RUN/$GUEST.xml"
	done
	vp_in_host perf stat -x, -e page-faults -o "$VP_BENCH_TRACE/$VP_KIND-linked.faults" "$VP_LINKED"
	vp_in_host perf stat -x, -e page-faults -o "$VP_BENCH_TRACE/$VP_KIND-true.faults" /bin/true
}

setup >&2
measure
[ -z "${VP_BENCH_TRACE:-}" ] || trace
