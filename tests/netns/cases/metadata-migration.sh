# SPDX-License-Identifier: GPL-2.0-or-later
# metadata-migration: a guest that carries its forwards in its <metadata> takes them along when
# it migrates. No libvirt here: the hook calls libvirt makes on each side are replayed, with the
# XML it passes, between two host namespaces, each with its own fixture tree and an empty table.
# The destination runs migrate, prepare, start (nothing installed yet) and started (the forwards
# of the metadata, to the guest's copy there); the source runs stopped and release (its rules
# gone, its ruleset as before). The destination's stopped and release then leave it as before.
#
#   client lan0 (198.51.100.2) == uplink0 source host (198.51.100.1) virbr0 -- guest1
#          lan1 (192.0.2.2)    == uplink0 destination host (192.0.2.1) virbr0 -- guest1's copy
# kinds: nft legacy nftables

DST_ADDR=192.0.2.1
DST_CLIENT_ADDR=192.0.2.2

# on_dst / on_src: point the world's helpers (the hook, the fixture tree, snapshots) at the
# destination host or back at the source.
on_dst() {
	SRC_HOST=$VP_HOST SRC_ROOT=$VP_ROOT SRC_LOCK=$VP_LOCK
	VP_HOST=$VP_TAG-dst VP_ROOT=$VP_TMP/root-dst VP_LOCK=$VP_TMP/root-dst/xtables.lock
}
on_src() {
	VP_HOST=$SRC_HOST VP_ROOT=$SRC_ROOT VP_LOCK=$SRC_LOCK
}

# The destination: a host namespace like the source's, its uplink to the client's lan1, a copy
# of guest1 (same address and MAC, answering "guest1 on dst"), libvirt's rules, its own tree.
make_destination() {
	on_dst
	mkdir -p "$VP_ROOT" || return 1
	vp_make_host || return 1
	ip -n "$VP_HOST" link add uplink0 type veth peer name lan1 netns "$VP_CLIENT" || return 1
	ip -n "$VP_HOST" addr add "$DST_ADDR/24" dev uplink0 || return 1
	ip -n "$VP_HOST" link set uplink0 up || return 1
	ip -n "$VP_CLIENT" addr add "$DST_CLIENT_ADDR/24" dev lan1 || return 1
	ip -n "$VP_CLIENT" link set lan1 up || return 1
	vp_make_guest "$VP_TAG-guest1d" "$VP_G1_IP" vnet0 || return 1
	vp_listen "$VP_TAG-guest1d" "guest1 on dst"
	vp_wait_tcp "$VP_HOST" "$VP_G1_IP" 22 "guest1 on dst" || return 1
	vp_libvirt_rules
	vp_fixture_init
	: | vp_write_table
	vp_write_network
	vp_write_leases "$VP_G1_MAC=$VP_G1_IP"
	DST_S0=$VP_TMP/snap.dst-start
	vp_snapshot "$DST_S0"
	on_src
}

setup() {
	make_destination
}

# guest1's XML with two forwards in its metadata (the XML libvirt passes on both sides).
meta_domain() {
	local f=$VP_FIX/guest1.xml
	{
		sed -n '1,/<\/uuid>/p' "$f"
		cat <<-'XML'
		  <metadata>
		    <portfwd:forwards xmlns:portfwd="https://virt-portfwd.example/xmlns/1">
		      <portfwd:forward proto="tcp" host="2222" guest="22"/>
		      <portfwd:forward proto="udp" host="27015" guest="27015"/>
		    </portfwd:forwards>
		  </metadata>
		XML
		sed '1,/<\/uuid>/d' "$f"
	} >"$f.tmp" && mv -f "$f.tmp" "$f"
}

run() {
	local C=$VP_CLIENT HA=$VP_HOST_ADDR op snap=$VP_TMP/snap.now
	meta_domain
	vp_hook_ok guest1 started
	vp_check_eq "source: 2222 reaches guest1" "$(vp_tcp_get "$C" "$HA" 2222)" guest1

	on_dst
	for op in migrate prepare start; do
		vp_hook_ok guest1 "$op" begin
		vp_snapshot "$snap"
		vp_check_same_file "destination $op: nothing installed yet" "$DST_S0" "$snap"
	done
	vp_hook_ok guest1 started begin
	on_src
	vp_check_eq "destination started: 2222 reaches the copy" \
		"$(vp_tcp_get "$C" "$DST_ADDR" 2222)" "guest1 on dst"
	vp_check_eq "destination started: udp 27015 reaches the copy" \
		"$(vp_udp_get "$C" "$DST_ADDR" 27015)" "guest1 on dst"

	vp_hook_ok guest1 stopped end
	vp_hook_ok guest1 release end
	vp_check_eq "source stopped: 2222 closed there" "$(vp_tcp_get "$C" "$HA" 2222)" ""
	vp_snapshot "$snap"
	vp_check_same_file "source stopped and released: ruleset as before" "$VP_S0" "$snap"
	vp_check_eq "the copy still answers after the source stopped" \
		"$(vp_tcp_get "$C" "$DST_ADDR" 2222)" "guest1 on dst"

	on_dst
	vp_hook_ok guest1 stopped end
	vp_hook_ok guest1 release end
	vp_snapshot "$snap"
	vp_check_same_file "destination stopped and released: ruleset as before" "$DST_S0" "$snap"
	on_src
}
