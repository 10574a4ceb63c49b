# SPDX-License-Identifier: GPL-2.0-or-later
# faults-install-midway: a start whose second half fails, with on-error continue, leaves no rule
# of guest1 (the rollback removes the first half), exits 0 and logs the failure; guest2 is
# untouched, and the next started works.
# kinds: nft legacy nftables

# shellcheck source=../lib/faults.sh
. "$VP_LIB/faults.sh"

run() {
	faults_start_g2
	faults_install_midway continue
	faults_stop_g2
}
