# SPDX-License-Identifier: GPL-2.0-or-later
# hostile-big-table: a table of 10 000 lines is checked and applied quickly, for a guest in it and
# for one not in it; a table of 100 001 lines (over the bound) is refused and the log says why.
# kinds: nft legacy nftables

# shellcheck source=../lib/hostile.sh
. "$VP_LIB/hostile.sh"

# 9 999 forwards of other guests, then guest1's.
big_table_10k() {
	local i
	for i in $(seq 1 9999); do printf 'g%04d tcp %d 22\n' "$i" $((10000 + i)); done
	echo "guest1 tcp 2222 22"
}

# guest1's forward, then 100 000 comment lines.
big_table_100k() {
	echo "guest1 tcp 2222 22"
	seq -f '# comment line %g' 1 100000
}

run() {
	local mark rc C=$VP_CLIENT HA=$VP_HOST_ADDR
	hostile_baseline hook
	big_table_10k | vp_write_table
	vp_timed vp_cli_env -- check >/dev/null
	rc=$?
	vp_check_eq "table of 10 000 lines: check exits 0" "$rc" 0
	echo "# measured: table of 10 000 lines: check ${VP_MS} ms"
	vp_timed vp_hook guest1 started
	echo "# measured: table of 10 000 lines: started ${VP_MS} ms (ip netns exec included)"
	vp_check_ratio "table of 10 000 lines: started in ms" "$VP_MS" "$HOSTILE_BASE_MS" 40
	vp_check_eq "table of 10 000 lines: guest1's forward, 4 rules" "$(vp_g1_rules)" 4
	vp_check_eq "table of 10 000 lines: 2222 reaches guest1" "$(vp_tcp_get "$C" "$HA" 2222)" guest1
	vp_timed vp_hook guest2 started
	vp_check_ratio "table of 10 000 lines: a guest not in it returns in ms" "$VP_MS" \
		"$HOSTILE_BASE_MS" 20
	vp_hook_ok guest1 stopped end
	vp_hook guest2 stopped end
	hostile_check_unchanged "table of 10 000 lines, stopped"
	big_table_100k | vp_write_table
	mark=$(vp_log_mark)
	vp_hook guest1 started
	rc=$?
	vp_check_eq "table of 100 001 lines (over the bound): exit 0" "$rc" 0
	vp_check_eq "table of 100 001 lines: nothing applied" "$(vp_g1_rules)" 0
	vp_check "table of 100 001 lines: the log says why" \
		grep -q "forwards.conf.*lines\|too many lines" <(vp_log_since "$mark")
	vp_hook_ok guest1 stopped end
	hostile_check_unchanged "table of 100 001 lines, stopped"
}
