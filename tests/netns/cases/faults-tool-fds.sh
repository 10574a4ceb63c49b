# SPDX-License-Identifier: GPL-2.0-or-later
# faults-tool-fds: a caller that leaves fds open (libvirt does not) does not hand them to the
# iptables tools the hook runs, while iptables-nft-restore does run holding the hook's lock (so
# that it cannot outlive a killed hook unnoticed).
# kinds: nft

# shellcheck source=../lib/faults.sh
. "$VP_LIB/faults.sh"

run() {
	faults_start_g2
	: >"$FAULTS_CTL/iptables-nft-restore.fds"
	: >"$FAULTS_CTL/iptables-nft-restore.locks"
	faults_hook guest1 started 7>"$VP_TMP/stray.7" 200</dev/null
	vp_check_eq "hook called with fds 7 and 200 open: the tools it runs do not inherit them" \
		"$(grep . "$FAULTS_CTL/iptables-nft-restore.fds")" ""
	vp_check_eq "iptables-nft-restore runs holding the hook's lock (it must not outlive it)" \
		"$(sort -u "$FAULTS_CTL/iptables-nft-restore.locks")" held
	vp_hook_ok guest1 stopped end
	faults_check_g2_only "fds left open, stopped"
	faults_stop_g2
}
