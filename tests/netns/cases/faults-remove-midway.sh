# SPDX-License-Identifier: GPL-2.0-or-later
# faults-remove-midway: a stop whose second half fails leaves no half-working forward (with
# iptables-legacy the DNAT went first, so nothing forwards; with nftables and iptables-nft the
# removal is one nf_tables transaction, so nothing changed) and keeps the state, so that `apply`
# finishes the job once libvirt has forgotten the guest; guest2 is untouched throughout.
# kinds: nft legacy nftables

# shellcheck source=../lib/faults.sh
. "$VP_LIB/faults.sh"

run() {
	local rc n C=$VP_CLIENT HA=$VP_HOST_ADDR w="removal fails midway"
	faults_start_g2
	vp_hook_ok guest1 started
	n=$(vp_g1_rules)
	faults_arm remove-midway
	faults_hook guest1 stopped end
	rc=$?
	faults_disarm
	vp_check_eq "$w: the fault was injected" "$(faults_fired)" 1
	vp_check_eq "$w: exit 0" "$rc" 0
	if [ "$VP_KIND" != legacy ]; then
		vp_check_eq "removal fails (one transaction): all $n rules of guest1 are still in" \
			"$(vp_g1_rules)" "$n"
	else
		vp_check_eq "$w: 2222 does not forward any more (DNAT went first)" \
			"$(vp_tcp_get "$C" "$HA" 2222)" ""
		vp_check_eq "$w: no DNAT of guest1 is left" \
			"$(vp_rules_owned "$VP_G1_UUID" | grep -c -- '-j DNAT')" 0
	fi
	vp_check_eq "$w: the state of guest1 stays, for apply and flush" "$(faults_g1_state)" present
	vp_check_owned "$w"
	vp_check "$w, then apply (guest1 not running): exit 0" faults_cli apply
	vp_check_eq "$w, then apply: no rule of guest1 is left" "$(vp_g1_rules)" 0
	vp_check_eq "$w, then apply: no state of guest1 is left" "$(faults_g1_state)" absent
	faults_check_g2_only "$w, then apply"
	faults_check_g2_untouched "$w, then apply"
	faults_stop_g2
}
