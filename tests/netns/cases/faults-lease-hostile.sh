# SPDX-License-Identifier: GPL-2.0-or-later
# faults-lease-hostile: the lease file 100 MiB long (a valid lease at its end) or a FIFO nobody
# writes: guest1's started neither reads it all nor blocks, returns at once, installs nothing
# and leaves one lease waiter, which installs the forwards when a good lease appears.
# kinds: nft legacy nftables

# shellcheck source=../lib/faults.sh
. "$VP_LIB/faults.sh"

run() {
	faults_start_g2
	faults_baseline
	faults_bad_lease 100MiB
	faults_bad_lease fifo
	faults_stop_g2
}
