# SPDX-License-Identifier: GPL-2.0-or-later
# reconcile-network-hook: a libvirt network reload re-inserts libvirt's jumps above ours, and its
# reject then refuses the forwards; the network hook ('started' of network default) puts ours
# back on top, reading the running guests from libvirt's status files.
# kinds: nft legacy nftables

# shellcheck source=../lib/lifecycle.sh
. "$VP_LIB/lifecycle.sh"

# What a libvirt network reload does: its jumps re-inserted at the top of FORWARD (iptables) or of
# libvirt_network's forward chain (nftables), above ours.
libvirt_reload() {
	local c
	if [ "$VP_KIND" = nftables ]; then
		vp_libvirt_nft_rejump ip
		return
	fi
	for c in LIBVIRT_FWO LIBVIRT_FWI LIBVIRT_FWX; do
		# shellcheck disable=SC2015 # vp_die exits
		vp_h "$IPT" -w -D FORWARD -j "$c" &&
			vp_h "$IPT" -w -I FORWARD 1 -j "$c" || vp_die "cannot move libvirt's jump to $c"
	done
}

# The first rule of the chain libvirt's reject hangs off must be ours.
check_ours_first() {
	local first
	if [ "$VP_KIND" = nftables ]; then
		first=$(vp_nft_rules list chain ip libvirt_network forward | head -n 1)
		vp_check "after the network hook: libvirt_network forward's rule 1 is our accept" \
			grep -q 'ct status dnat .* comment "virt-portfwd:' <<<"$first"
	else
		vp_check_eq "after the network hook: FORWARD rule 1 is ours" \
			"$(vp_h "$IPT" -w -S FORWARD | sed -n 2p)" \
			"-A FORWARD -m comment --comment virt-portfwd -j VIRT_PORTFWD_FWD"
	fi
}

run() {
	vp_recon_start
	vp_recon_works "started"
	libvirt_reload
	vp_check_eq "libvirt reload: our accept is below its reject, 2222 refused" \
		"$(vp_tcp_get "$VP_CLIENT" "$VP_HOST_ADDR" 2222)" ""
	vp_network_hook started
	vp_check_eq "network hook 'started': exit 0, nothing on stdout" \
		"$?:$(cat "$VP_TMP/hook.stdout")" "0:"
	vp_recon_works "after the network hook"
	check_ours_first
	vp_recon_stop guest1 guest2
}
