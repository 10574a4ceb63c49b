# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# TAP output for the data-path tests, and how they check our own speed. Sourced by lib.sh.

VP_FAILED=0
VP_TESTNUM=0

vp_skip() {
	echo "1..0 # SKIP $*"
	exit 77
}

vp_die() {
	echo "Bail out! $*"
	exit 1
}

vp_ok() {  # DESCRIPTION: record a pass
	VP_TESTNUM=$((VP_TESTNUM + 1))
	echo "ok $VP_TESTNUM - $1"
}

vp_not_ok() {  # DESCRIPTION [DETAIL...]: record a failure; details become TAP comments
	VP_TESTNUM=$((VP_TESTNUM + 1))
	VP_FAILED=$((VP_FAILED + 1))
	echo "not ok $VP_TESTNUM - $1"
	shift
	local line
	for line in "$@"; do
		printf '%s\n' "$line" | sed 's/^/#   /'
	done
}

vp_check() {  # DESCRIPTION CMD...: ok when CMD succeeds
	local desc=$1
	shift
	if "$@"; then vp_ok "$desc"; else vp_not_ok "$desc" "command failed: $*"; fi
}

vp_quiet() {  # CMD...: run CMD, its stdout discarded
	"$@" >/dev/null
}

vp_check_eq() {  # DESCRIPTION GOT EXPECTED
	if [ "$2" = "$3" ]; then
		vp_ok "$1"
	else
		vp_not_ok "$1" "got:      '$2'" "expected: '$3'"
	fi
}

vp_check_same_file() {  # DESCRIPTION FILE-EXPECTED FILE-GOT
	if cmp -s "$2" "$3"; then
		vp_ok "$1"
	else
		vp_not_ok "$1" "$(diff -u "$2" "$3")"
	fi
}

# Print the plan; on failure the whole ruleset and the hook's stderr, for the log. Exit status.
vp_finish() {
	echo "1..$VP_TESTNUM"
	if [ "$VP_FAILED" -ne 0 ]; then
		echo "# $VP_FAILED of $VP_TESTNUM failed; ruleset of the host namespace now:"
		vp_ruleset_raw 2>&1 | sed 's/^/#   /'
		echo "# hook stderr:"
		sed 's/^/#   /' "$VP_TMP/hook.stderr" 2>/dev/null
		exit 1
	fi
	exit 0
}

# ---------------------------------------------------------------------------------------------
# Our own speed. No check bounds a wall-clock time: that would time the machine, which may be
# slow, shared or running a sanitizer build. A time of ours is compared with a baseline taken in
# the same run through the same harness (the same binary doing less), and the bound is loose
# enough for the ASan + UBSan build. Speed targets themselves live in tests/bench.

# vp_timed CMD...: run CMD; VP_MS is how many milliseconds it took. Returns CMD's status.
vp_timed() {
	local t0 rc
	t0=${EPOCHREALTIME//[!0-9]/}   # microseconds, without a process as date(1) would be
	"$@"
	rc=$?
	VP_MS=$(((${EPOCHREALTIME//[!0-9]/} - t0) / 1000))
	return $rc
}

# vp_check_ratio DESCRIPTION TIME BASE RATIO [SLACK]: ok when TIME <= RATIO x BASE + SLACK (all in
# one unit; SLACK, default 0, absorbs the period of a poll). BASE counts as at least 1.
vp_check_ratio() {
	local base=$3 slack=${5:-0}
	[ "$base" -ge 1 ] || base=1
	vp_check "$1 ($2 against a baseline of $3 in this run: at most ${4}x${5:+ + $5})" \
		test "$2" -le $(($4 * base + slack))
}
