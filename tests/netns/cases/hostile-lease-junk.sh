# SPDX-License-Identifier: GPL-2.0-or-later
# hostile-lease-junk: a lease file full of junk entries (wrong types, bad addresses, a NUL in a
# MAC) and of hostnames with control characters, escape sequences or 100 000 bytes: each guest's
# one good lease is used, and nothing of a hostname reaches the log.
# kinds: nft legacy nftables

# shellcheck source=../lib/hostile.sh
. "$VP_LIB/hostile.sh"

lease_junk_write() {
	local exp long
	exp=$(($(date +%s) + 3600))
	long=$(head -c 100000 /dev/zero | tr '\0' h)
	cat >"$VP_ROOT/var/lib/libvirt/dnsmasq/virbr0.status" <<-EOF
	[
	  {"ip-address": "not an address", "mac-address": "$VP_G1_MAC",
	   "expiry-time": $((exp + 99))},
	  {"ip-address": "192.168.122.77", "mac-address": "$VP_G1_MAC\u0000x",
	   "expiry-time": $((exp + 99))},
	  {"ip-address": 12, "mac-address": ["x"], "hostname": {"a": [1, 2]}, "expiry-time": "soon"},
	  "a string", 42, null, [],
	  {"ip-address": "$VP_G1_IP", "mac-address": "$VP_G1_MAC",
	   "hostname": "\u001b]0;owned\u0007\u001b[2J\u001b[31m\r\nvirt-portfwd: FORGED \u0000",
	   "client-id": "\u0000\u0001\u00ff\ud800", "expiry-time": $exp},
	  {"ip-address": "$VP_G2_IP", "mac-address": "$VP_G2_MAC", "hostname": "$long",
	   "expiry-time": $exp}
	]
	EOF
}

run() {
	local mark C=$VP_CLIENT HA=$VP_HOST_ADDR
	lease_junk_write
	hostile_table "guest1 tcp 2222 22" "guest2 tcp 2322 22"
	mark=$(vp_log_mark)
	vp_hook_ok guest1 started
	vp_hook_ok guest2 started
	vp_check_eq "lease junk: guest1's forward uses its one good lease" \
		"$(vp_tcp_get "$C" "$HA" 2222)" guest1
	vp_check_eq "lease junk: guest2's lease with a 100 000-byte hostname works" \
		"$(vp_tcp_get "$C" "$HA" 2322)" guest2
	vp_check_eq "lease junk: no control character of a hostname reaches the log" \
		"$(vp_log_since "$mark" | tr -d '\n\t' | LC_ALL=C grep -c '[[:cntrl:]]')" 0
	vp_check_eq "lease junk: no hostname text reaches the log" \
		"$(vp_log_since "$mark" | grep -c -e FORGED -e owned -e hhhhhhhh)" 0
	vp_hook_ok guest1 stopped end
	vp_hook_ok guest2 stopped end
	hostile_check_unchanged "lease junk, stopped"
}
