# SPDX-License-Identifier: GPL-2.0-or-later
# hostile-stop-isolation: one guest's stopped removes its own rules and nothing of another's:
# guest1 stopped leaves guest2's rules exactly as they were, and guest2 stopped guest1's.
# kinds: nft legacy nftables

# shellcheck source=../lib/hostile.sh
. "$VP_LIB/hostile.sh"

run() {
	local C=$VP_CLIENT HA=$VP_HOST_ADDR saved
	hostile_doors_table
	vp_hook_ok guest1 started
	vp_hook_ok guest2 started
	saved=$(vp_rules_owned "$VP_G2_UUID")
	vp_hook_ok guest1 stopped end
	vp_check_eq "guest1 stopped: guest2's rules are exactly as before" \
		"$(vp_rules_owned "$VP_G2_UUID")" "$saved"
	vp_check_eq "guest1 stopped: 2322 still reaches guest2" "$(vp_tcp_get "$C" "$HA" 2322)" guest2
	vp_check_eq "guest1 stopped: 2222 closed" "$(vp_tcp_get "$C" "$HA" 2222)" ""
	vp_hook_ok guest1 started
	saved=$(vp_rules_owned "$VP_G1_UUID")
	vp_hook_ok guest2 stopped end
	vp_check_eq "guest2 stopped: guest1's rules are exactly as before" \
		"$(vp_rules_owned "$VP_G1_UUID")" "$saved"
	vp_check_eq "guest2 stopped: 2222 still reaches guest1" "$(vp_tcp_get "$C" "$HA" 2222)" guest1
	vp_hook_ok guest1 stopped end
	hostile_check_unchanged "stop isolation, both stopped"
}
