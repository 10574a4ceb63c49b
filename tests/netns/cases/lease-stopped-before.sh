# SPDX-License-Identifier: GPL-2.0-or-later
# lease-stopped-before: guest1 stopped before its lease came: its waiter goes with the stop, and
# no rule and no state appear even when the lease comes later.
# kinds: nft legacy nftables

# shellcheck source=../lib/lifecycle.sh
. "$VP_LIB/lifecycle.sh"

state_left() {  # the files in our state directory but its lock, space separated
	local f
	for f in "$VP_ROOT"/run/virt-portfwd/* "$VP_ROOT"/run/virt-portfwd/.[!.]*; do
		[ -e "$f" ] && [ "${f##*/}" != lock ] && printf '%s ' "${f##*/}"
	done
}

run() {
	vp_lease_table
	vp_lease_none_yet
	vp_hook_ok guest1 started
	vp_check_eq "started, no lease: one waiter runs" "$(vp_lease_waiters)" 1
	vp_hook_ok guest1 stopped end
	vp_check_eq "stopped before the lease: no waiter left" "$(vp_lease_waiters)" 0
	vp_lease_came
	# Long enough for a waiter left behind to see the lease and install.
	sleep 1.5
	vp_snapshot "$VP_TMP/snap.late"
	vp_check_same_file "stopped before the lease: no rule, even after the lease came" \
		"$VP_S0" "$VP_TMP/snap.late"
	vp_check_eq "stopped before the lease: no state left" "$(state_left)" ""
}
