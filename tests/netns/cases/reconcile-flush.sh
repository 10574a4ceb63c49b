# SPDX-License-Identifier: GPL-2.0-or-later
# reconcile-flush: `virt-portfwd flush` removes every rule of every running guest: the ruleset
# is the one from before any guest started; the guests' stops afterwards find nothing to do.
# kinds: nft legacy nftables

# shellcheck source=../lib/lifecycle.sh
. "$VP_LIB/lifecycle.sh"

run() {
	vp_recon_start
	vp_recon_works "started"
	vp_check "flush: exit 0" vp_quiet vp_cli flush
	vp_check_eq "flush: 2222 closed" "$(vp_tcp_get "$VP_CLIENT" "$VP_HOST_ADDR" 2222)" ""
	vp_check_eq "flush: 2322 closed" "$(vp_tcp_get "$VP_CLIENT" "$VP_HOST_ADDR" 2322)" ""
	vp_snapshot "$VP_TMP/snap.flushed"
	vp_check_same_file "flush: ruleset identical to before any guest started" "$VP_S0" \
		"$VP_TMP/snap.flushed"
	vp_recon_stop guest1 guest2
}
