# SPDX-License-Identifier: GPL-2.0-or-later
# not-in-table: a guest the table does not name changes nothing on started and stopped, and its
# started costs about what the hook doing nothing (prepare) does.
# kinds: nft legacy nftables

run() {
	vp_full_table | vp_write_table
	vp_check_not_in_table "$VP_S0"
}
