# SPDX-License-Identifier: GPL-2.0-or-later
# hostile-from-every-path: from= holds on every path into a forward: from the client, from
# another guest through the host's address (hairpin), from the host itself; for TCP, a port range
# and UDP. Only an address inside from= gets through.
# kinds: nft legacy nftables

# shellcheck source=../lib/hostile.sh
. "$VP_LIB/hostile.sh"

setup() {
	vp_world_outsider
}

udp_get_from() {  # NS ADDR PORT SRC: vp_udp_get from source address SRC
	local reply _
	for _ in 1 2 3; do
		reply=$(echo ping | ip netns exec "$1" timeout 4 socat -T 2 - "UDP:$2:$3,bind=$4" \
			2>/dev/null | head -n 1)
		[ -n "$reply" ] && break
	done
	printf '%s\n' "$reply"
}

run() {
	local C=$VP_CLIENT HA=$VP_HOST_ADDR O=$VP_OUTSIDER
	hostile_doors_table
	vp_hook_ok guest1 started
	vp_hook_ok guest2 started
	vp_check_eq "from=: 2223 refused to the client $VP_CLIENT_ADDR" \
		"$(vp_tcp_get "$C" "$HA" 2223)" ""
	vp_check_eq "from=: 2223 open to $O" "$(vp_tcp_get "$C" "$HA" 2223 "$O")" guest1
	vp_check_eq "from=: 2223 refused to guest2 through the host address (hairpin)" \
		"$(vp_tcp_get "$VP_GUEST2" "$HA" 2223)" ""
	vp_check_eq "from=: 2223 refused to the host itself" "$(vp_tcp_get "$VP_HOST" "$HA" 2223)" ""
	vp_check_eq "from=: range 8083 refused to the client" "$(vp_tcp_get "$C" "$HA" 8083)" ""
	vp_check_eq "from=: range 8083 -> guest1:83 open to $O" \
		"$(vp_tcp_get "$C" "$HA" 8083 "$O")" "guest1 port 83"
	vp_check_eq "from=: udp 27016 gets no answer for the client" \
		"$(vp_udp_get "$C" "$HA" 27016)" ""
	vp_check_eq "from=: udp 27016 answers $O" "$(udp_get_from "$C" "$HA" 27016 "$O")" guest1
	vp_hook_ok guest1 stopped end
	vp_hook_ok guest2 stopped end
	hostile_check_unchanged "from=, both stopped"
}
