# SPDX-License-Identifier: GPL-2.0-or-later
# reconcile-full-flush: every table flushed under the running guests (firewalld < 2.0 reloading,
# `iptables -F`), libvirt's rules made again: `apply` restores every running guest's forwards
# from libvirt's status files, and a second apply changes nothing.
# kinds: nft legacy nftables

# shellcheck source=../lib/lifecycle.sh
. "$VP_LIB/lifecycle.sh"

# What firewalld < 2.0's reload does: every table flushed, then libvirt adds its rules again
# (and, with its nftables backend, saves their new handles in the network's status).
full_flush() {
	local t
	if [ "$VP_KIND" = nftables ]; then
		vp_h nft flush ruleset || vp_die "nft flush ruleset failed"
	else
		for t in filter nat mangle; do
			# shellcheck disable=SC2015 # vp_die exits
			vp_h "$IPT" -w -t "$t" -F && vp_h "$IPT" -w -t "$t" -X &&
				vp_h "$IP6T" -w -t "$t" -F && vp_h "$IP6T" -w -t "$t" -X ||
				vp_die "cannot flush table $t"
		done
	fi
	vp_libvirt_rules
	vp_write_network
}

run() {
	local s1=$VP_TMP/snap.apply1 s2=$VP_TMP/snap.apply2
	vp_recon_start
	vp_recon_works "started"
	full_flush
	vp_check_eq "full flush: 2222 refused" "$(vp_tcp_get "$VP_CLIENT" "$VP_HOST_ADDR" 2222)" ""
	vp_check "apply after a full flush: exit 0" vp_quiet vp_cli apply
	vp_recon_works "after apply"
	vp_snapshot "$s1"
	vp_check "apply again: exit 0" vp_quiet vp_cli apply
	vp_snapshot "$s2"
	vp_check_same_file "apply twice: nothing changes" "$s1" "$s2"
	vp_recon_stop guest1 guest2
}
