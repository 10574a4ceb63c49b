# SPDX-License-Identifier: GPL-2.0-or-later
# lease-wait-expires: `set lease-wait 2` bounds the wait: with no lease, guest1's waiter gives up
# after 2 s (not before), and its stop gives back the ruleset from before.
# kinds: nft legacy nftables

# shellcheck source=../lib/lifecycle.sh
. "$VP_LIB/lifecycle.sh"

run() {
	local t0
	vp_write_table <<-'EOF'
	set lease-wait 2
	guest1    tcp    2222        22
	EOF
	vp_lease_none_yet
	vp_hook_ok guest1 started
	t0=${EPOCHREALTIME//[!0-9]/}
	vp_check_eq "lease-wait 2: one waiter runs" "$(vp_lease_waiters)" 1
	sleep 1
	vp_check_eq "lease-wait 2: still waiting after 1 s" "$(vp_lease_waiters)" 1
	# It gives up 2 s after it started; a busy machine can only make that later: poll up to 10 s.
	vp_check_eq "lease-wait 2: the waiter gave up after 2 s" "$(vp_lease_waiters_gone 10)" 0
	echo "# the waiter was gone $(((${EPOCHREALTIME//[!0-9]/} - t0) / 1000)) ms after started returned"
	vp_hook_ok guest1 stopped end
	vp_snapshot "$VP_TMP/snap.stopped"
	vp_check_same_file "lease-wait expired, stopped: ruleset identical to before" "$VP_S0" \
		"$VP_TMP/snap.stopped"
}
