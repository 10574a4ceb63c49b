# SPDX-License-Identifier: GPL-2.0-or-later
# hostile-big-xml: domain XML on stdin of 50 MiB is read and applied within a 1 GiB address
# space; of 120 MiB (over the 64 MiB bound) and of 10 million elements (over the element bound)
# it is refused quickly and nothing is installed. Each time against a baseline of this run.
# kinds: nft legacy nftables

# shellcheck source=../lib/hostile.sh
. "$VP_LIB/hostile.sh"

# big_xml_write FILE BODY-CMD...: FILE is guest1's domain XML whose <description> is replaced by
# what BODY-CMD prints.
big_xml_write() {
	local f=$1 tpl=$VP_TMP/big.tpl
	shift
	hostile_domain_xml guest1 "$VP_G1_UUID" "" "<description>PAD</description>" >"$tpl"
	{
		sed -n '/PAD/q;p' "$tpl"
		"$@"
		sed -n '/PAD/,$p' "$tpl" | sed 1d
	} >"$f"
}

# 50 MiB inside one <description>.
big_description() {
	echo "  <description>"
	head -c $((50 << 20)) /dev/zero | tr '\0' x
	echo "</description>"
}

# 50 MiB of empty elements inside <metadata>.
big_elements() {
	echo "  <metadata>"
	yes '<x/>' | head -c $((50 << 20))
	echo "</metadata>"
}

run() {
	local f=$VP_TMP/big.xml rc mark C=$VP_CLIENT HA=$VP_HOST_ADDR base
	hostile_baseline big
	base=$HOSTILE_BASE_MS
	big_xml_write "$f" big_description
	hostile_hook_big "$f" started
	rc=$?
	echo "# measured: 50 MiB domain XML: ${VP_MS} ms, max RSS $(hostile_rss) KiB," \
		"$(stat -c %s "$f") bytes"
	vp_check_eq "domain XML of 50 MiB: exit 0" "$rc" 0
	vp_check_ratio "domain XML of 50 MiB: done in ms, under 1 GiB of address space" "$VP_MS" \
		"$base" 200
	vp_check_eq "domain XML of 50 MiB: guest1's forward is installed exactly (4 rules)" \
		"$(vp_g1_rules)" 4
	vp_check_eq "domain XML of 50 MiB: 2222 reaches guest1" "$(vp_tcp_get "$C" "$HA" 2222)" guest1
	vp_hook_ok guest1 stopped end
	# 70 MiB more: over the 64 MiB bound on stdin.
	head -c $((70 << 20)) /dev/zero | tr '\0' ' ' >>"$f"
	mark=$(vp_log_mark)
	hostile_hook_big "$f" started
	rc=$?
	echo "# measured: 120 MiB domain XML: ${VP_MS} ms, max RSS $(hostile_rss) KiB"
	vp_check_eq "domain XML of 120 MiB: exit 0" "$rc" 0
	vp_check_ratio "domain XML of 120 MiB: refused in ms" "$VP_MS" "$base" 80
	vp_check "domain XML of 120 MiB: the log says it is too large" \
		grep -q "cannot read the domain XML on stdin: File too large" \
		<(vp_log_since "$mark")
	hostile_check_unchanged "domain XML of 120 MiB"
	# The element bound stops the parser early.
	big_xml_write "$f" big_elements
	hostile_hook_big "$f" started
	rc=$?
	echo "# measured: 50 MiB of elements: ${VP_MS} ms, max RSS $(hostile_rss) KiB"
	vp_check_eq "domain XML of 10 million elements: exit 0" "$rc" 0
	vp_check_ratio "domain XML of 10 million elements: done in ms" "$VP_MS" "$base" 200
	hostile_check_unchanged "domain XML of 10 million elements (refused)"
	# What libvirt does next to a start it refused; a forward left behind would show here.
	vp_hook_ok guest1 stopped end
	rm -f "$f" "$VP_TMP/big.tpl"
}
