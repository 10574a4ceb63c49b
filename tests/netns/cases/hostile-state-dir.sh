# SPDX-License-Identifier: GPL-2.0-or-later
# hostile-state-dir: the hook makes its state directory 0700 and root's, its files 0600; a state
# directory that is a symlink, open to others or not root's is refused (nothing installed, the
# log names it), and nothing is written where such a symlink points.
# kinds: nft legacy nftables

# shellcheck source=../lib/hostile.sh
. "$VP_LIB/hostile.sh"

# state_dir_spoil HOW ATTACKER: the state directory made untrustworthy in way HOW.
state_dir_spoil() {
	local s=$HOSTILE_STATE
	case $1 in
	symlink) mv "$s" "$s.real" && ln -s "$2" "$s" ;;
	mode-755) chmod 0755 "$s" ;;
	not-root) chown 65534 "$s" ;;
	esac
}

state_dir_restore() {  # HOW
	local s=$HOSTILE_STATE
	case $1 in
	symlink) rm "$s" && mv "$s.real" "$s" ;;
	mode-755) chmod 0700 "$s" ;;
	not-root) chown 0 "$s" ;;
	esac
}

run() {
	local rc mark attacker=$VP_TMP/attacker k S=$HOSTILE_STATE
	hostile_table "guest1 tcp 2222 22"
	vp_hook_ok guest1 started
	vp_check_eq "state directory: mode 700, owner root" "$(stat -c '%a %U' "$S")" "700 root"
	vp_check_eq "state file and lock: mode 600" \
		"$(stat -c '%a' "$S/$VP_G1_UUID" "$S/lock" | sort -u)" 600
	vp_hook_ok guest1 stopped end
	mkdir -m 0700 "$attacker"
	for k in symlink mode-755 not-root; do
		mark=$(vp_log_mark)
		state_dir_spoil "$k" "$attacker" || vp_die "cannot make the state directory $k"
		vp_hook guest1 started
		rc=$?
		vp_check_eq "state directory $k: exit 0" "$rc" 0
		vp_check_eq "state directory $k: refused, nothing installed" "$(vp_g1_rules)" 0
		vp_check "state directory $k: the log names it" \
			grep -q "state directory" <(vp_log_since "$mark")
		vp_hook guest1 stopped end
		state_dir_restore "$k" || vp_die "cannot restore the state directory after $k"
	done
	vp_check_eq "state directory symlink: nothing was written where it pointed" \
		"$(ls -A "$attacker")" ""
	hostile_check_unchanged "state directory"
}
