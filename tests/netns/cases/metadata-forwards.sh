# SPDX-License-Identifier: GPL-2.0-or-later
# metadata-forwards: with the table empty, guest1's forwards come from its own domain XML's
# <metadata> (forwards.conf(5)): started opens them to the client (TCP, UDP, from=), stopped
# closes them exactly. A table line on the same port wins over the metadata, the log says so
# with both places, and `check --domain` reports the same clash before anything starts.
# kinds: nft legacy nftables

setup() {
	vp_world_outsider
}

# meta_domain ELEMENT...: guest1's live XML carrying these <portfwd:forward> elements.
meta_domain() {
	local f=$VP_FIX/guest1.xml
	vp_write_domain guest1 "$VP_G1_UUID" "$VP_G1_MAC" vnet0
	{
		sed -n '1,/<\/uuid>/p' "$f"
		echo "  <metadata>"
		echo "    <portfwd:forwards xmlns:portfwd=\"https://virt-portfwd.example/xmlns/1\">"
		printf '      %s\n' "$@"
		echo "    </portfwd:forwards>"
		echo "  </metadata>"
		sed '1,/<\/uuid>/d' "$f"
	} >"$f.tmp" && mv -f "$f.tmp" "$f"
}

run() {
	local C=$VP_CLIENT HA=$VP_HOST_ADDR mark out
	meta_domain '<portfwd:forward proto="tcp" host="2222" guest="22"/>' \
		'<portfwd:forward proto="udp" host="27015" guest="27015"/>' \
		'<portfwd:forward proto="tcp" host="2223" guest="22" from="203.0.113.0/24"/>'
	vp_check_eq "the table is empty" "$(grep -c . "$VP_ROOT/etc/virt-portfwd/forwards.conf")" 0
	vp_hook_ok guest1 started
	vp_check_eq "metadata: tcp 2222 -> guest1:22 from the client" \
		"$(vp_tcp_get "$C" "$HA" 2222)" guest1
	vp_check_eq "metadata: udp 27015 -> guest1:27015" "$(vp_udp_get "$C" "$HA" 27015)" guest1
	vp_check_eq "metadata: from= refuses 2223 to $VP_CLIENT_ADDR" "$(vp_tcp_get "$C" "$HA" 2223)" ""
	vp_check_eq "metadata: from= opens 2223 to $VP_OUTSIDER" \
		"$(vp_tcp_get "$C" "$HA" 2223 "$VP_OUTSIDER")" guest1
	vp_hook_ok guest1 stopped end
	vp_check_eq "stopped: 2222 closed" "$(vp_tcp_get "$C" "$HA" 2222)" ""
	vp_snapshot "$VP_TMP/snap.stopped"
	vp_check_same_file "stopped: ruleset identical to before started" "$VP_S0" "$VP_TMP/snap.stopped"
	vp_hook_ok guest1 release end

	# A table line for guest2 on 2222: the table wins, guest1 keeps its other forwards.
	printf 'guest2 tcp 2222 22\n' | vp_write_table
	out=$(vp_cli check --domain "$VP_FIX/guest1.xml")
	vp_check_eq "check --domain: exit 1 on the clash" "$?" 1
	vp_check_eq "check --domain: the clash with both places" \
		"$(grep -c "domain guest1 metadata forward 1: host port 2222/tcp is already forwarded at $VP_ROOT/etc/virt-portfwd/forwards.conf:1:12 (guest2)" "$VP_TMP/hook.stderr")" 1
	vp_check_eq "check --domain: the table's line on stdout" "$out" "1 forwards for 1 guests, no errors"
	mark=$(vp_log_mark)
	vp_hook_ok guest1 started
	vp_hook_ok guest2 started
	vp_check_eq "clash: 2222 reaches guest2, whose table line wins" \
		"$(vp_tcp_get "$C" "$HA" 2222)" guest2
	vp_check_eq "clash: guest1 keeps udp 27015" "$(vp_udp_get "$C" "$HA" 27015)" guest1
	vp_check_eq "clash: the hook logs it with both places" \
		"$(vp_log_since "$mark" | grep -c "domain guest1 metadata forward 1: host port 2222/tcp is already forwarded at .*forwards.conf:1:12 (guest2): this forward is not installed")" 1
	vp_hook_ok guest1 stopped end
	vp_hook_ok guest2 stopped end
	vp_snapshot "$VP_TMP/snap.clash"
	vp_check_same_file "clash, both stopped: ruleset identical to before" "$VP_S0" "$VP_TMP/snap.clash"

	# A bad value: none of the metadata's forwards, the table's message.
	: | vp_write_table
	meta_domain '<portfwd:forward proto="tcp" host="2222" guest="22"/>' \
		'<portfwd:forward proto="tcp" host="2224" guest="22" masquerade="maybe"/>'
	mark=$(vp_log_mark)
	vp_hook_ok guest1 started
	vp_check_eq "bad value: 2222 is not installed either" "$(vp_tcp_get "$C" "$HA" 2222)" ""
	vp_check_eq "bad value: the table's message, located" \
		"$(vp_log_since "$mark" | grep -c "domain guest1 metadata forward 2: invalid value 'maybe' for option 'masquerade' (expected yes or no)")" 1
	vp_hook_ok guest1 stopped end
	vp_snapshot "$VP_TMP/snap.bad"
	vp_check_same_file "bad value: ruleset identical to before" "$VP_S0" "$VP_TMP/snap.bad"
}
