# SPDX-License-Identifier: GPL-2.0-or-later
# faults-lease-garbage: the lease file truncated mid-entry or not JSON at all: guest1's started
# returns at once, installs nothing and leaves one lease waiter, which installs the forwards when
# a good lease appears.
# kinds: nft legacy nftables

# shellcheck source=../lib/faults.sh
. "$VP_LIB/faults.sh"

run() {
	faults_start_g2
	faults_baseline
	faults_bad_lease truncated
	faults_bad_lease not-json
	faults_stop_g2
}
