# SPDX-License-Identifier: GPL-2.0-or-later
# missing-libs: libnftables is loaded when first used, and when it cannot be loaded that is an
# error in the log, never a crash or a half-applied change. libnftables broken: libvirt's
# iptables backend runs all the same; on its nftables backend guest1's started installs nothing
# and writes no state, and a later stopped with the library back cleans up. A broken copy (an
# empty file) comes first in LD_LIBRARY_PATH. (libxml2 and json-c are linked: the dynamic loader
# and the package manager see to them.)
# kinds: nft legacy nftables

. "$VP_LIB/basic.sh"

# The hook's log since line MARK of hook.stderr says it cannot load LIB.
logged_cannot_load() {  # MARK LIB
	grep -q "cannot load $2" <(tail -n +"$(($1 + 1))" "$VP_TMP/hook.stderr")
}

# The hook's log since line MARK of hook.stderr does not contain TEXT.
not_logged() {  # MARK TEXT
	! grep -q -F "$2" <(tail -n +"$(($1 + 1))" "$VP_TMP/hook.stderr")
}

# libnftables broken: the iptables backend (kinds nft and legacy) does not need it.
libnftables_iptables() {  # BROKEN-DIR
	vp_hook_env guest1 started begin "LD_LIBRARY_PATH=$1"
	vp_check_eq "libnftables broken: 2222 reaches guest1 all the same" \
		"$(vp_tcp_get "$VP_CLIENT" "$VP_HOST_ADDR" 2222)" guest1
	vp_hook_env guest1 stopped end "LD_LIBRARY_PATH=$1"
	vp_basic_same "libnftables broken, stopped: ruleset identical to before started"
}

# libnftables broken on libvirt's nftables backend: an error in the log, nothing installed; the
# stopped of a hook that can load it then leaves nothing behind (the end of the case checks).
libnftables_nftables() {  # BROKEN-DIR
	local mark
	mark=$(wc -l <"$VP_TMP/hook.stderr")
	vp_hook_env guest1 started begin "LD_LIBRARY_PATH=$1"
	vp_check_eq "libnftables broken, started: exit status 0" "$?" 0
	vp_check "libnftables broken, started: the log says it cannot be loaded" \
		logged_cannot_load "$mark" libnftables.so.1
	vp_check "libnftables broken, started: the log does not blame memory" \
		not_logged "$mark" "Cannot allocate memory"
	vp_check "libnftables broken, started: no state file claims rules for guest1" \
		test ! -e "$VP_ROOT/run/virt-portfwd/$VP_G1_UUID"
	vp_basic_same "libnftables broken, started: nothing installed"
	vp_basic_closed "libnftables broken, started"
	vp_hook_ok guest1 stopped end
	vp_basic_same "libnftables back, stopped: ruleset identical to before started"
}

run() {
	local broken=$VP_TMP/broken-libs
	vp_full_table | vp_write_table
	mkdir -p "$broken"
	: >"$broken/libnftables.so.1"
	if [ "$VP_KIND" = nftables ]; then
		libnftables_nftables "$broken"
	else
		libnftables_iptables "$broken"
	fi
}
