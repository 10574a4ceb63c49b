# SPDX-License-Identifier: GPL-2.0-or-later
# hostile-table-writable: a table others could write (world- or group-writable, not root's, with
# a drop-in others can write, or in a directory others can write: /etc/virt-portfwd or
# forwards.d) is refused at started (quickly, saying so), while stopped still removes everything.
# kinds: nft legacy nftables

# shellcheck source=../lib/hostile.sh
. "$VP_LIB/hostile.sh"

run() {
	local k
	hostile_baseline hook
	for k in world-writable group-writable not-root dropin-writable dir-writable \
		dropin-dir-writable; do
		hostile_check_bad_table "$k"
	done
	hostile_check_unchanged "untrusted tables (writable by others)"
}
