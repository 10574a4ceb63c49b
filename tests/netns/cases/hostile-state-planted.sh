# SPDX-License-Identifier: GPL-2.0-or-later
# hostile-state-planted: symlinks planted in the state directory, as the state file, its
# temporary file or the lock, are written over or refused, never written through: the file they
# point to stays untouched.
# kinds: nft legacy nftables

# shellcheck source=../lib/hostile.sh
. "$VP_LIB/hostile.sh"

run() {
	local victim=$VP_TMP/victim k left S=$HOSTILE_STATE
	hostile_table "guest1 tcp 2222 22"
	# The hook makes its state directory.
	vp_hook_ok guest1 started
	vp_hook_ok guest1 stopped end
	echo precious >"$victim"
	ln -s "$victim" "$S/$VP_G1_UUID"
	vp_hook_ok guest1 started
	vp_check_eq "planted symlink as the state file: 2222 reaches guest1" \
		"$(vp_tcp_get "$VP_CLIENT" "$VP_HOST_ADDR" 2222)" guest1
	vp_check "planted symlink as the state file: replaced by a regular file" \
		test -f "$S/$VP_G1_UUID" -a ! -L "$S/$VP_G1_UUID"
	vp_hook_ok guest1 stopped end
	for k in ".$VP_G1_UUID.tmp" lock; do
		rm -f "$S/$k"
		ln -s "$victim" "$S/$k"
		vp_hook guest1 started
		vp_check_eq "planted symlink $k: nothing installed through it" "$(vp_g1_rules)" 0
		vp_hook guest1 stopped end
		rm -f "$S/$k"
		left=$(ls -A "$S" | grep -vx lock | tr '\n' ' ')
		vp_check_eq "planted symlink $k: after stopped, no file of guest1 is left behind" \
			"$left" ""
		# Said once, here: the end of the case would say it again.
		# shellcheck disable=SC2086 # a word a file name
		[ -z "$left" ] || (cd "$S" && rm -f -- $left)
	done
	vp_check_eq "planted symlinks: the file they point to is untouched" "$(cat "$victim")" precious
	hostile_check_unchanged "state directory, planted symlinks"
}
