# SPDX-License-Identifier: GPL-2.0-or-later
# reconcile-backend-switch: `set backend` switched to iptables-legacy while guest1 runs on an
# iptables-nft host: `apply` moves its rules to the legacy tables, nothing stays in nf_tables;
# switched back to auto, `apply` moves them back and nothing stays in the legacy tables.
# kinds: nft

# shellcheck source=../lib/lifecycle.sh
. "$VP_LIB/lifecycle.sh"

setup() {
	# The switch makes iptables-legacy tables, which a namespace cannot drop again, and about
	# which iptables-nft-save warns from then on: one made here puts that warning in the
	# starting dump and listing too.
	vp_h iptables-legacy -w -t filter -S >/dev/null || vp_die "cannot make a legacy table"
}

legacy_save() {
	vp_h iptables-legacy-save 2>/dev/null
}

run() {
	vp_write_table <<-'EOF2'
	guest1    tcp    2225        22
	EOF2
	vp_hook_ok guest1 started
	vp_write_status guest1
	vp_check_eq "auto: 2225 reaches guest1" \
		"$(vp_tcp_get "$VP_CLIENT" "$VP_HOST_ADDR" 2225)" guest1
	vp_write_table <<-'EOF2'
	set backend iptables-legacy
	guest1    tcp    2225        22
	EOF2
	vp_check "backend switched to iptables-legacy: apply exits 0" vp_quiet vp_cli apply
	vp_check_eq "backend switched to iptables-legacy: nothing of guest1 left in nf_tables" \
		"$(vp_count_owned "$VP_G1_UUID" 2>/dev/null)" 0
	vp_check "backend switched to iptables-legacy: guest1's rules are in the legacy tables" \
		test "$(legacy_save | grep -c "virt-portfwd:$VP_G1_UUID")" -gt 0
	vp_write_table <<-'EOF2'
	guest1    tcp    2225        22
	EOF2
	vp_check "backend back to auto: apply exits 0" vp_quiet vp_cli apply
	vp_check_eq "backend back to auto: nothing of guest1 left in the legacy tables" \
		"$(legacy_save | grep -c "virt-portfwd:$VP_G1_UUID")" 0
	vp_check_eq "backend back to auto: no chain or jump of ours left in the legacy tables" \
		"$(legacy_save | grep -ci 'virt.portfwd')" 0
	vp_check_eq "backend back to auto: 2225 reaches guest1 again" \
		"$(vp_tcp_get "$VP_CLIENT" "$VP_HOST_ADDR" 2225)" guest1
	vp_recon_stop guest1
}
