# SPDX-License-Identifier: GPL-2.0-or-later
# hostile-table-not-file: a table that is a symlink, a directory or a FIFO is refused at started
# (quickly, saying so), while stopped still removes everything.
# kinds: nft legacy nftables

# shellcheck source=../lib/hostile.sh
. "$VP_LIB/hostile.sh"

run() {
	local k
	hostile_baseline hook
	for k in symlink directory fifo; do
		hostile_check_bad_table "$k"
	done
	hostile_check_unchanged "untrusted tables (not a file)"
}
