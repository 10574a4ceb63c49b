# SPDX-License-Identifier: GPL-2.0-or-later
# hostile-nics: a domain of 300 NICs is handled quickly and nic= picks the right one; one of
# 2000 NICs (over the bound of 1024) is refused quickly and installs nothing.
# kinds: nft legacy nftables

# shellcheck source=../lib/hostile.sh
. "$VP_LIB/hostile.sh"

# nics_xml FIRST LAST BYTE: NICs vnFIRST..vnLAST with MACs 52:54:00:BYTE:xx:xx.
nics_xml() {
	local i
	for i in $(seq "$1" "$2"); do
		hostile_nic_xml "$(printf '52:54:00:%s:%02x:%02x' "$3" $((i / 256)) $((i % 256)))" "vn$i"
	done
}

run() {
	local nics rc f=$VP_TMP/nics.xml C=$VP_CLIENT HA=$VP_HOST_ADDR
	hostile_baseline big
	# guest1's own NIC comes last, after 299 others.
	nics="$(nics_xml 1 299 01)
$(hostile_nic_xml "$VP_G1_MAC" vnet0)"
	hostile_domain_xml guest1 "$VP_G1_UUID" "$nics" >"$f"
	hostile_table "guest1 tcp 2222 22 nic=$VP_G1_MAC"
	hostile_hook_big "$f" started
	rc=$?
	vp_check_eq "300 NICs: exit 0" "$rc" 0
	vp_check_ratio "300 NICs: done in ms" "$VP_MS" "$HOSTILE_BASE_MS" 40
	vp_check_eq "300 NICs: nic= picks the 300th, 2222 reaches guest1" \
		"$(vp_tcp_get "$C" "$HA" 2222)" guest1
	vp_check_eq "300 NICs: exactly guest1's 4 rules" "$(vp_g1_rules)" 4
	hostile_hook_big "$f" stopped
	nics="$nics
$(nics_xml 300 1999 02)"
	hostile_domain_xml guest1 "$VP_G1_UUID" "$nics" >"$f"
	hostile_hook_big "$f" started
	rc=$?
	vp_check_eq "2000 NICs (over the bound of 1024): exit 0" "$rc" 0
	vp_check_ratio "2000 NICs: done in ms" "$VP_MS" "$HOSTILE_BASE_MS" 40
	hostile_check_unchanged "2000 NICs (refused)"
	hostile_hook_big "$f" stopped
}
