#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# run-case.sh CASE KIND: one data-path scenario (tests/netns/cases/CASE.sh) on one host kind (nft,
# legacy or nftables), in a world of its own, then the invariants every case keeps. Output is
# TAP; exit 0 when every check passed, 77 when it cannot run here (not root, no namespaces).
#
# The world, made before the case runs: the namespaces of world.sh with their listeners,
# libvirt's own rules for KIND, the fixture tree with network default's status (KIND's flavour),
# leases for guest1 and guest2, and their domain XML; the table is empty. A case may define
# setup() to add to that world before the starting dump is taken (vp_world6, other rules of
# libvirt), and must define run(). It compares with "$VP_S0", the starting dump.
#
# After run(), whatever the case did:
#   - nothing of ours is left in the ruleset: no rule, chain or table (unless the case called
#     vp_case_leaves_ours, saying why);
#   - the ruleset lists cleanly and equals the starting dump (vp_case_rebase takes a new one
#     when the case changes libvirt's rules on purpose, as a reload would);
#   - no lease waiter and no state file is left, and no hook wrote to stdout.
#
# A case file says which kinds it runs on in a line "# kinds: nft legacy nftables" (default:
# all three); list-cases.sh reads it for meson, which runs each (case, kind) as its own test:
#   meson test -C build --suite netns        every case on every kind
#   meson test -C build forwards-nft          one case on one kind
# Environment: VP_BIN (the built virt-portfwd; meson sets it), VP_BUILDDIR, VP_SRCDIR.
set -u

HERE=$(dirname "$(readlink -f "$0")")
CASE=${1:-}
KIND=${2:-}
[ -n "$CASE" ] && [ -n "$KIND" ] || { echo "usage: $0 CASE|CASE-FILE KIND" >&2; exit 2; }
case "$CASE" in
*/*) CASE_FILE=$CASE ;;
*) CASE_FILE=$HERE/cases/$CASE.sh ;;
esac
[ -r "$CASE_FILE" ] || { echo "Bail out! no case $CASE_FILE"; exit 1; }
CASE=$(basename "$CASE_FILE" .sh)

# shellcheck source=lib.sh
. "$HERE/lib.sh"

VP_CASE_LEAVES=
# vp_case_leaves_ours REASON: this case leaves rules of ours behind on purpose.
vp_case_leaves_ours() { VP_CASE_LEAVES=$1; }
# vp_case_rebase: the ruleset now is the one the case must end with (libvirt's rules changed).
vp_case_rebase() { vp_snapshot "$VP_S0"; }

# The invariants, checked after every case.
vp_case_end() {
	local ours raw err=$VP_TMP/end.err left
	# nft warns on stderr about the tables iptables-nft manages: that is not an error. Nor is
	# what the listing said at the start already (nft cannot show every target iptables-nft
	# writes, e.g. libvirt's ip6 MASQUERADE --to-ports: "XT target MASQUERADE not found").
	raw=$(vp_ruleset_raw 2>"$err") &&
		! grep -v '^# Warning: table .* is managed by iptables-nft' "$err" |
		grep -v -x -F -f "$VP_TMP/start.err"
	vp_check "end of $CASE: the ruleset lists cleanly" test $? -eq 0
	ours=$(grep -i -e virt-portfwd -e virt_portfwd <<<"$raw")
	if [ -n "$VP_CASE_LEAVES" ]; then
		echo "# end of $CASE: rules of ours left on purpose: $VP_CASE_LEAVES"
	else
		vp_check_eq "end of $CASE: no rule, chain or table of ours is left" "$ours" ""
		vp_snapshot "$VP_TMP/snap.end"
		vp_check_same_file "end of $CASE: the ruleset equals the starting dump" "$VP_S0" \
			"$VP_TMP/snap.end"
		left=$(ls -A "$VP_ROOT/run/virt-portfwd" 2>/dev/null | grep -vx lock | tr '\n' ' ')
		vp_check_eq "end of $CASE: no state file is left" "$left" ""
	fi
	vp_check_eq "end of $CASE: no lease waiter is left" "$(vp_waiters "")" 0
	vp_check_eq "end of $CASE: no hook wrote to stdout" \
		"$(stat -c %s "$VP_TMP/hook.stdout" 2>/dev/null || echo 0)" 0
}

vp_init_kind "$KIND"
vp_world
vp_libvirt_rules
vp_fixture_init
: >"$VP_TMP/hook.stdout"
: | vp_write_table
vp_write_network
vp_write_leases "$VP_G1_MAC=$VP_G1_IP" "$VP_G2_MAC=$VP_G2_IP"
vp_write_domain guest1 "$VP_G1_UUID" "$VP_G1_MAC" vnet0
vp_write_domain guest2 "$VP_G2_UUID" "$VP_G2_MAC" vnet1

# libvirt runs its hooks with only stdio open: so does every case (and what the hook runs
# inherits nothing else).
vp_close_stray_fds
# shellcheck source=/dev/null
. "$CASE_FILE"
declare -F run >/dev/null || vp_die "$CASE_FILE defines no run()"
echo "# case $CASE, host kind $VP_KIND, hook $VP_BIN"
if declare -F setup >/dev/null; then
	setup || vp_die "setup of $CASE failed"
fi
VP_S0=$VP_TMP/snap.start
vp_snapshot "$VP_S0"
vp_ruleset_raw >/dev/null 2>"$VP_TMP/start.err"
run
vp_case_end
vp_finish
