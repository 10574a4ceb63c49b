# SPDX-License-Identifier: GPL-2.0-or-later
# reconcile-table-edit: the table edited while the guests run: `apply` adds the new forward and
# drops the removed one, and leaves the other guest as it was.
# kinds: nft legacy nftables

# shellcheck source=../lib/lifecycle.sh
. "$VP_LIB/lifecycle.sh"

run() {
	local C=$VP_CLIENT HA=$VP_HOST_ADDR
	vp_recon_start
	vp_recon_works "started"
	vp_write_table <<-'EOF2'
	guest1    tcp    2225        22
	guest2    tcp    2322        22
	EOF2
	vp_check "apply after an edit: exit 0" vp_quiet vp_cli apply
	vp_check_eq "edited table: new forward 2225 reaches guest1" \
		"$(vp_tcp_get "$C" "$HA" 2225)" guest1
	vp_check_eq "edited table: removed forward 2222 is closed" "$(vp_tcp_get "$C" "$HA" 2222)" ""
	vp_check_eq "edited table: guest2 unaffected" "$(vp_tcp_get "$C" "$HA" 2322)" guest2
	vp_recon_stop guest1 guest2
}
