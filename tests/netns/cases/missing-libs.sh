# SPDX-License-Identifier: GPL-2.0-or-later
# missing-libs: libraries are loaded when first used, and one that cannot be loaded is an error
# in the log, never a crash or a half-applied change. libnftables broken: libvirt's iptables
# backend runs all the same; on its nftables backend guest1's started installs nothing, and a
# later stopped with the library back cleans up. libxml2 broken: started installs nothing.
# Broken copies (empty files) come first in LD_LIBRARY_PATH.
# kinds: nft legacy nftables

. "$VP_LIB/basic.sh"

# The hook's log since line MARK of hook.stderr says it cannot load LIB.
logged_cannot_load() {  # MARK LIB
	grep -q "cannot load $2" <(tail -n +"$(($1 + 1))" "$VP_TMP/hook.stderr")
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
	vp_basic_same "libnftables broken, started: nothing installed"
	vp_basic_closed "libnftables broken, started"
	vp_hook_ok guest1 stopped end
	vp_basic_same "libnftables back, stopped: ruleset identical to before started"
}

run() {
	local broken=$VP_TMP/broken-libs mark
	vp_full_table | vp_write_table
	mkdir -p "$broken"
	: >"$broken/libnftables.so.1"
	if [ "$VP_KIND" = nftables ]; then
		libnftables_nftables "$broken"
	else
		libnftables_iptables "$broken"
	fi
	: >"$broken/libxml2.so.2"
	mark=$(wc -l <"$VP_TMP/hook.stderr")
	vp_hook_env guest1 started begin "LD_LIBRARY_PATH=$broken"
	vp_check_eq "libxml2 broken, started: exit status 0" "$?" 0
	vp_check "libxml2 broken, started: the log says it cannot be loaded" \
		logged_cannot_load "$mark" libxml2.so.2
	vp_basic_same "libxml2 broken, started: nothing installed"
	vp_hook_ok guest1 stopped end
}
