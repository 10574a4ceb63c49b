# SPDX-License-Identifier: GPL-2.0-or-later
# reconcile-guest-gone: guest2 stopped while nobody listened (libvirtd down, the hook not yet
# installed): gone from libvirt's status files, `apply` removes its rules and its state (the
# end's checks see that) and leaves guest1's.
# kinds: nft legacy nftables

# shellcheck source=../lib/lifecycle.sh
. "$VP_LIB/lifecycle.sh"

run() {
	vp_recon_start
	vp_recon_works "started"
	rm -f "$VP_ROOT/run/libvirt/qemu/guest2.xml"
	vp_check "guest2 gone from libvirt's status: apply exits 0" vp_quiet vp_cli apply
	vp_check_eq "guest2 gone from libvirt's status: apply closes 2322" \
		"$(vp_tcp_get "$VP_CLIENT" "$VP_HOST_ADDR" 2322)" ""
	vp_check_eq "guest2 gone: guest1 still forwarded" \
		"$(vp_tcp_get "$VP_CLIENT" "$VP_HOST_ADDR" 2222)" guest1
	vp_check_eq "guest2 gone: none of its rules is left" "$(vp_count_owned "$VP_G2_UUID")" 0
	vp_recon_stop guest1
}
