# SPDX-License-Identifier: GPL-2.0-or-later
# lease-race-stopped: guest1's lease comes and guest1 stops at once, 12 times, the stop a little
# later each time (0 to 55 ms after the lease): its waiter wakes for the lease and races the
# stopped, sometimes before it resolves, sometimes while it installs. Whoever wins, nothing of
# guest1 is left: no rule, no state file, no waiter (the waiter re-checks under our lock that it
# is still the guest's before it installs; a removal after an install takes it all).
# kinds: nft legacy nftables

# shellcheck source=../lib/lifecycle.sh
. "$VP_LIB/lifecycle.sh"

ROUNDS=12

state_files() {  # the files in our state directory but its lock
	local f
	for f in "$VP_ROOT"/run/virt-portfwd/* "$VP_ROOT"/run/virt-portfwd/.[!.]*; do
		[ -e "$f" ] && [ "${f##*/}" != lock ] && printf '%s ' "${f##*/}"
	done
}

# One round: the lease, then stopped DELAY seconds later; what is left once a waiter that
# outlived it had the time to install. Prints "" when nothing is left, else what is.
round() {  # DELAY
	local left=""
	vp_lease_none_yet
	vp_hook guest1 started || left="started failed; "
	[ "$(vp_lease_waiters)" = 1 ] || left="$left no waiter after started; "
	vp_lease_came
	sleep "$1"
	vp_hook guest1 stopped end || left="$left stopped failed; "
	sleep 0.5
	vp_snapshot "$VP_TMP/snap.round"
	cmp -s "$VP_S0" "$VP_TMP/snap.round" || left="$left rules: $(vp_g1_rules); "
	[ -z "$(state_files)" ] || left="$left state: $(state_files); "
	[ "$(vp_lease_waiters_gone 3)" = 0 ] || left="$left a waiter; "
	echo "$left"
}

run() {
	local i left bad=""
	vp_lease_table
	for ((i = 0; i < ROUNDS; i++)); do
		left=$(round "0.0$((i * 5 / 10))$((i * 5 % 10))")
		[ -z "$left" ] || bad="$bad round $i: $left"
	done
	echo "# measured: $ROUNDS rounds, stopped 0-55 ms after the lease"
	vp_check_eq "stopped racing the waiter, $ROUNDS rounds: nothing of guest1 left in any" \
		"$bad" ""
}
