# SPDX-License-Identifier: GPL-2.0-or-later
# lease-reconnect: a second 'started' (libvirtd reconnecting to the running guest) while guest1
# waits for its lease replaces the waiter: never two.
# kinds: nft legacy nftables

# shellcheck source=../lib/lifecycle.sh
. "$VP_LIB/lifecycle.sh"

run() {
	vp_lease_table
	vp_lease_none_yet
	vp_hook_ok guest1 started
	vp_hook_ok guest1 reconnect
	vp_check_eq "reconnect while waiting: still exactly one waiter" "$(vp_lease_waiters)" 1
	vp_hook_ok guest1 stopped end
	vp_check_eq "stopped: no waiter left" "$(vp_lease_waiters)" 0
}
