# SPDX-License-Identifier: GPL-2.0-or-later
# faults-lease-churn: the lease file replaced (atomically and in place), cut short and removed
# over and over while hooks read it: no hook crashes or fails, no waiter is left, guest2 stays.
# kinds: nft legacy nftables

# shellcheck source=../lib/faults.sh
. "$VP_LIB/faults.sh"

# churn_start: in the background, until churn_stop, the lease file replaced by a good or a cut
# copy, atomically or in place, and removed.
churn_start() {
	cp "$FAULTS_LEASES" "$VP_TMP/leases.good"
	head -c 100 "$FAULTS_LEASES" >"$VP_TMP/leases.cut"
	rm -f "$VP_TMP/churn.stop"
	# shellcheck disable=SC2016 # expanded by the inner shell
	bash -c 'while [ ! -e "$1/churn.stop" ]; do
			cp "$1/leases.good" "$2.tmp" && mv -f "$2.tmp" "$2"
			cat "$1/leases.cut" >"$2"
			cat "$1/leases.good" >"$2"
			cp "$1/leases.cut" "$2.tmp" && mv -f "$2.tmp" "$2"
			rm -f "$2"
		done' _ "$VP_TMP" "$FAULTS_LEASES" &
	CHURN_PID=$!
	VP_PIDS+=("$CHURN_PID")
}

churn_stop() {
	touch "$VP_TMP/churn.stop"
	wait "$CHURN_PID"
}

CHURN_BAD=0
CHURN_CRASHED=0
churn_note() {  # RC: a hook's exit status
	[ "$1" -lt 128 ] || CHURN_CRASHED=$((CHURN_CRASHED + 1))
	[ "$1" -eq 0 ] || CHURN_BAD=$((CHURN_BAD + 1))
}

run() {
	local i n=15 w="lease file replaced while read"
	faults_start_g2
	churn_start
	for ((i = 0; i < n; i++)); do
		faults_hook guest1 started
		churn_note $?
		faults_hook guest1 stopped end
		churn_note $?
	done
	churn_stop
	vp_check_eq "$w: $((2 * n)) hooks, none crashed" "$CHURN_CRASHED" 0
	vp_check_eq "$w: every hook exited 0" "$CHURN_BAD" 0
	vp_check_eq "$w: no waiter left after the last stopped" "$(vp_waiters "$VP_G1_UUID")" 0
	faults_check_g2_only "$w"
	faults_good_leases
	faults_check_recovers "$w"
	faults_stop_g2
}
