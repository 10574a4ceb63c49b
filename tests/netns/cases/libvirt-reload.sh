# SPDX-License-Identifier: GPL-2.0-or-later
# libvirt-reload: libvirt making its jumps in its forward chain anew (a flush and a reload) puts
# them above our accepts: guest1's forward is broken until the hook puts them back on top
# (reconnect, as on a libvirtd restart); its stopped then removes everything.
# kinds: nftables

. "$VP_LIB/basic.sh"

run() {
	local sr=$VP_TMP/snap.rejumped
	vp_full_table | vp_write_table
	vp_libvirt_nft_rejump ip || vp_die "cannot re-make libvirt's jumps"
	vp_snapshot "$sr"
	vp_hook_ok guest1 started
	vp_basic_open "before the reload: 2222 reaches guest1"
	vp_libvirt_nft_rejump ip || vp_die "cannot re-make libvirt's jumps"
	vp_check_eq "libvirt's jumps above our accept: 2222 does not reach guest1" \
		"$(vp_tcp_get "$VP_CLIENT" "$VP_HOST_ADDR" 2222)" ""
	vp_hook_ok guest1 reconnect
	vp_basic_open "reconnect after the reload: 2222 reaches guest1 again"
	vp_basic_accepts_on_top "reconnect after the reload" 4
	vp_hook_ok guest1 stopped end
	vp_basic_same "reload, then stopped: ruleset identical to before started" "$sr"
}
