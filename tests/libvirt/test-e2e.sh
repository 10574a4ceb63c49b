#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# test-e2e.sh SETUP [CASE ...]: virt-portfwd under a real libvirtd with real qemu guests (root).
#
# SETUP is the host's firewall stack: nft (libvirt's iptables backend via iptables-nft),
# legacy (via iptables-legacy) or nftables (libvirt's own backend); firewalld is nft with a real
# firewalld running in HOST on a private system bus (lib.sh), libvirt registered with it, and
# firewalld-nftables is nftables with the same firewalld.
# Everything runs in private PID, mount and network namespaces (see lib.sh); nothing is left on
# the machine and no packet leaves the namespaces. Output is TAP; exit 77 only when not root.
#
# One environment is set up (libvirtd, the dual-stack network default, the table, the hook), its
# ruleset taken, then each CASE runs in it (cases/CASE.sh; default: every case, in file order).
# A case file defines run(); it starts the guests it needs and takes them away at its end, so it
# runs alone as well as after any other. After every case, whatever it did, the invariants:
#   - no guest is left, running or defined;
#   - the ruleset, every family and both iptables flavours, equals the initial one;
#   - no lease waiter and no state file of ours (/run/virt-portfwd) is left;
#   - the forward table is back to its initial content.
# A case that breaks one is a bug; the environment is then reset (guests removed, `virt-portfwd
# flush`, the table put back, libvirt's rules made anew) so that the next case is judged alone.
#
# meson runs every case of one setup as one test (see meson.build); one case alone, or a few:
#   tests/libvirt/test-e2e.sh nft hairpin        tests/libvirt/test-e2e.sh legacy flush doctor
#
# Environment: VP_BIN (the built virt-portfwd), VP_BUILDDIR (guest image cache: guest-image/),
# VP_SRCDIR; VP_KEEP=1 keeps the environment running at the end for debugging; VP_APPLY=hook
# applies the edited table with the hook's reconnect instead of `virt-portfwd apply` (case edit).
# VP_LIBVIRT=9.0 runs libvirt 9.0, Debian 12's own, instead of the installed one (11.3): its
# packages are fetched into VP_BUILDDIR/libvirt-9.0/ (fetch-libvirt.sh) and laid over /usr in the
# private mount namespace. Setups nft and legacy only (9.0 has no nftables backend); every case
# runs on both.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SETUP=${1:-}
case "$SETUP" in
nft | legacy | nftables) shift ;;
firewalld) shift; SETUP=nft; export VP_FIREWALLD=1 ;;
firewalld-nftables) shift; SETUP=nftables; export VP_FIREWALLD=1 ;;
*) echo "usage: test-e2e.sh nft|legacy|nftables|firewalld|firewalld-nftables [CASE ...]" >&2; exit 2 ;;
esac
VP_LIBVIRT=${VP_LIBVIRT:-}
case "$VP_LIBVIRT/$SETUP" in
/* | 9.0/nft | 9.0/legacy) ;;
9.0/*) echo "test-e2e.sh: libvirt 9.0 has no $SETUP firewall backend (it came with 10.4)" >&2; exit 2 ;;
*) echo "test-e2e.sh: VP_LIBVIRT is empty (the installed libvirt) or 9.0" >&2; exit 2 ;;
esac
CASES=("$@")
if [ ${#CASES[@]} -eq 0 ]; then
	# Every case; `firewalld` needs a firewalld, which only the firewalld setups have.
	for f in "$HERE"/cases/*.sh; do
		c=$(basename "$f" .sh)
		[ "$c" != firewalld ] || [ -n "${VP_FIREWALLD:-}" ] && CASES+=("$c")
	done
fi
for c in "${CASES[@]}"; do
	[ -r "$HERE/cases/$c.sh" ] || { echo "test-e2e.sh: no case $HERE/cases/$c.sh" >&2; exit 2; }
	if [ "$c" = firewalld ] && [ -z "${VP_FIREWALLD:-}" ]; then
		echo "test-e2e.sh: case firewalld needs a firewalld setup (test-e2e.sh firewalld)" >&2
		exit 2
	fi
done
if [ "$(id -u)" -ne 0 ]; then
	echo "1..0 # SKIP needs root (real libvirtd, namespaces)"
	exit 77
fi

export VP_SRCDIR=${VP_SRCDIR:-$(cd "$HERE/../.." && pwd)}
export VP_BUILDDIR=${VP_BUILDDIR:-$VP_SRCDIR/build}
export VP_BIN=${VP_BIN:-$VP_BUILDDIR/virt-portfwd}
export VP_IMAGE=$VP_BUILDDIR/guest-image
export VP_LIBVIRT VP_LIBVIRT_TREE=$VP_BUILDDIR/libvirt-$VP_LIBVIRT
VP_SETUP=$SETUP
. "$HERE/lib.sh"
. "$HERE/lib-case.sh"
# Full diagnostics for this many failures of each case (lib.sh's vp_diag).
DIAG_PER_CASE=$VP_DIAG_LEFT

# Outside the namespaces: check the tools, build (or reuse) the guest image in the build dir.
preflight() {
	local c missing=""
	for c in libvirtd virtlogd virsh qemu-system-x86_64 dnsmasq socat unshare ip nft \
		iptables-nft-save iptables-legacy-save xtables-nft-multi xtables-legacy-multi jq ssh \
		ssh-keygen; do
		command -v "$c" >/dev/null || missing+=" $c"
	done
	if [ -n "${VP_FIREWALLD:-}" ]; then
		for c in firewalld firewall-cmd dbus-daemon; do
			command -v "$c" >/dev/null || missing+=" $c"
		done
	fi
	[ -z "$missing" ] || vp_die "missing:$missing (run tests/libvirt/install-deps.sh)"
	[ -x "$VP_BIN" ] || vp_die "no executable at VP_BIN=$VP_BIN (build first)"
	local t0
	t0=$(vp_ms)
	"$HERE/build-image.sh" "$VP_IMAGE" 2>&1 | sed 's/^/# /'
	if [ ! -s "$VP_IMAGE/vmlinuz" ] || [ ! -s "$VP_IMAGE/initrd.gz" ]; then
		vp_die "no guest image in $VP_IMAGE"
	fi
	vp_note "timing: guest image ready in $(($(vp_ms) - t0)) ms"
	[ -n "$VP_LIBVIRT" ] || return 0
	t0=$(vp_ms)
	"$HERE/fetch-libvirt.sh" "$VP_LIBVIRT" "$VP_LIBVIRT_TREE" 2>&1 | sed 's/^/# /'
	[ -x "$VP_LIBVIRT_TREE/usr/sbin/libvirtd" ] || vp_die "no libvirt $VP_LIBVIRT in $VP_LIBVIRT_TREE"
	vp_note "timing: libvirt $VP_LIBVIRT ready in $(($(vp_ms) - t0)) ms"
}

write_table() {
	cat >"$TABLE" <<-EOF
	# virt-portfwd end-to-end table. g8 is deliberately absent (a guest without forwards).
	# g6, g7, g-late and g-early have no static DHCP host: their address is a dynamic lease.
	# IPv6: g1's address is given with ip=, g2's comes from its DHCPv6 reservation (DUID).
	g1  tcp  2222   22
	g1  udp  27015  27015
	g1  tcp  [::]:2222   22     ip=$(vp_gip6 1)
	g1  udp  [::]:27015  27015  ip=$(vp_gip6 1)
	g2  tcp  2322   22
	g2  tcp  [::]:2322   22
	g3  tcp  2233   22
	g4  tcp  2234   22
	g5  tcp  2235   22
	g6  tcp  2236   22
	g7  tcp  2237   22
	g-late   tcp  2241  22
	g-early  tcp  2242  22
	$VP_IP_GUEST     tcp  2250  22  ip=$VP_IP_GUEST_ADDR
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
	table_keep
	if [ -n "${VP_FIREWALLD:-}" ]; then
		t0=$(vp_ms)
		vp_firewalld_start || { vp_diag "firewalld start"; vp_die "firewalld did not start"; }
		vp_note "timing: dbus-daemon + firewalld $(vp_in_host firewall-cmd --version) up in" \
			"$(($(vp_ms) - t0)) ms"
	fi
	t0=$(vp_ms)
	vp_start_daemons || { vp_diag "daemon start"; vp_die "libvirtd did not start"; }
	vp_note "timing: virtlogd + libvirtd up in $(($(vp_ms) - t0)) ms"
	t0=$(vp_ms)
	vp_define_network || { vp_diag "network start"; vp_die "network default did not start"; }
	vp_note "timing: network default started in $(($(vp_ms) - t0)) ms"
	vp_ok 0 "environment: libvirt $(vp_virsh version | awk '/libvirt/ {print $NF; exit}')," \
		"network default active ($SETUP)"
	libvirt_is_asked
	expect=$SETUP
	loc=$(vp_libvirt_fw_location)
	[ "$loc" = "$expect" ]
	vp_ok $? "libvirt's own rules are where the $SETUP setup puts them (found: $loc)"
	S0=$(vp_ruleset)
	vp_fw_save || vp_die "cannot save the initial ruleset"
}

# The libvirt running is the one asked for (VP_LIBVIRT, or the installed one): daemon, virsh and
# the library virsh loaded.
libvirt_is_asked() {
	local daemon lib ask=${VP_LIBVIRT:-$(dpkg-query -W -f='${Version}' libvirt-daemon | cut -d. -f1,2)}
	daemon=$(vp_virsh version --daemon | awk '/daemon/ { print $NF }')
	lib=$(vp_virsh version | awk '/Using library/ { print $NF }')
	[[ "$daemon." == "$ask".* && "$lib." == "$ask".* ]] &&
		[[ "$(libvirtd --version)" == *" $ask".* ]]
	vp_ok $? "libvirt is $ask${VP_LIBVIRT:+ (VP_LIBVIRT)}: daemon $daemon, virsh's library $lib," \
		"$(libvirtd --version)"
}

# State files of ours (the lock file is created once and stays, like libvirt's own).
state_left() {
	local f out=""
	for f in /run/virt-portfwd/* /run/virt-portfwd/.[!.]*; do
		[ -e "$f" ] && [ "${f##*/}" != lock ] && out+="${out:+ }${f##*/}"
	done
	printf '%s' "$out"
}

# Before a case: its own part of libvirtd's log, of the manual hook runs' stderr, of consoles.
case_begin() {
	VP_LOG_FROM=$(stat -c %s "$VP_LOG" 2>/dev/null || echo 0)
	: >"$VP_RUN/hook-manual.log"
	rm -f "$VP_RUN"/console-*.log
	VP_DIAG_LEFT=$DIAG_PER_CASE
	unset -f run
}

# inv_ok STATUS DESCRIPTION: one invariant of the case that just ended, counted in BROKEN.
inv_ok() {
	[ "$1" -eq 0 ] || BROKEN=$((BROKEN + 1))
	vp_ok "$1" "end of $CASE: $2"
}

# The invariants after case CASE; BROKEN counts those it broke.
case_end() {
	local left
	BROKEN=0
	left=$(vp_virsh list --all --name 2>&1 | tr '\n' ' ' | sed 's/ $//')
	[ -z "$left" ]
	inv_ok $? "no guest is left, running or defined${left:+ (left: $left)}"
	ruleset_is_initial
	inv_ok $? "the ruleset equals the initial one"
	vp_no_waiter "" 2
	left=$(vp_waiters)
	[ -z "$left" ]
	inv_ok $? "no lease waiter is left${left:+ (pids: $left)}"
	left=$(state_left)
	[ -z "$left" ]
	inv_ok $? "no state file of ours is left in /run/virt-portfwd${left:+ ($left)}"
	cmp -s "$TABLE" "$TABLE_INITIAL"
	inv_ok $? "the forward table is back to its initial content"
}

# After a case that broke an invariant: put the environment back as it was before the case.
case_reset() {
	local pid
	vp_note "resetting the environment after $1"
	vp_virsh version >/dev/null 2>&1 || vp_start_daemons || vp_die "libvirtd cannot start again"
	# shellcheck disable=SC2046 # one name per word
	guests_gone $(vp_virsh list --all --name 2>/dev/null)
	for pid in $(vp_waiters); do
		kill "$pid" 2>/dev/null
	done
	table_restore
	vp_in_host /usr/local/sbin/virt-portfwd flush >/dev/null 2>&1
	rm -rf /run/virt-portfwd
	libvirt_rules_anew || vp_die "libvirtd cannot start again"
}

# run_case NAME: cases/NAME.sh in this environment, then the invariants.
run_case() {
	local t0
	CASE=$1
	case_begin
	# shellcheck source=/dev/null
	. "$HERE/cases/$1.sh"
	declare -F run >/dev/null || vp_die "cases/$1.sh defines no run()"
	vp_note "---- case $1"
	t0=$(vp_ms)
	run
	vp_note "timing: case $1 ran in $(($(vp_ms) - t0)) ms"
	case_end
	[ "$BROKEN" -eq 0 ] || case_reset "$1"
}

main() {
	local t0 c
	if [ -z "${VP_E2E_INNER:-}" ]; then
		preflight
		vp_enter_private "$SETUP" "$@"
	fi
	t0=$(vp_ms)
	trap vp_cleanup EXIT
	trap 'exit 1' TERM INT
	vp_note "setup $SETUP${VP_FIREWALLD:+ with firewalld}, hook $VP_BIN, image $VP_IMAGE, cases: ${CASES[*]}"
	setup_environment
	for c in "${CASES[@]}"; do
		run_case "$c"
	done
	vp_note "timing: whole run $(($(vp_ms) - t0)) ms"
	vp_done
	[ "$VP_TAP_FAILED" -eq 0 ]
}

main "$@"
