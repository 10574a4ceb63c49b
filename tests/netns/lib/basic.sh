# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Helpers of the basic data-path cases (the old test-iptables.sh and test-nftables.sh): what
# several of them check, and the few things that differ per host kind (someone else's rules,
# where ours go). Sourced by those cases after lib.sh: . "$VP_LIB/basic.sh"

# The owner tag of guest1's rules.
VP_BASIC_OWNER=virt-portfwd:$VP_G1_UUID

# vp_basic_closed WHEN: the forward 2222 -> guest1:22 is closed to the client.
vp_basic_closed() {
	vp_check_eq "$1: client -> $VP_HOST_ADDR:2222 does not reach guest1" \
		"$(vp_tcp_get "$VP_CLIENT" "$VP_HOST_ADDR" 2222)" ""
}

# vp_basic_open DESCRIPTION: the forward 2222 -> guest1:22 is open to the client.
vp_basic_open() {
	vp_check_eq "$1" "$(vp_tcp_get "$VP_CLIENT" "$VP_HOST_ADDR" 2222)" guest1
}

# vp_basic_same WHEN [SNAPSHOT]: the ruleset equals SNAPSHOT (default: the starting dump).
vp_basic_same() {
	local snap=$VP_TMP/snap.same
	vp_snapshot "$snap"
	vp_check_same_file "$1" "${2:-$VP_S0}" "$snap"
}

# ---------------------------------------------------------------------------------------------
# Someone else's rules, which must survive our start and stop untouched: at the top and at the
# tail of the chain our accepts go to, and in a NAT chain of their own.

# vp_basic_foreign_rules: the 3 foreign rules (foreign-top, foreign-tail, foreign-nat) added.
vp_basic_foreign_rules() {
	if [ "$VP_KIND" = nftables ]; then
		vp_h nft insert rule ip libvirt_network forward ip saddr 203.0.113.250 tcp dport 9 \
			counter accept comment '"foreign-top"' &&
			vp_h nft add rule ip libvirt_network forward ip saddr 203.0.113.251 counter drop \
				comment '"foreign-tail"' &&
			vp_basic_foreign_table
		return
	fi
	vp_h "$IPT" -w -I FORWARD 1 -s 203.0.113.250/32 -p tcp --dport 9 \
		-m comment --comment foreign-top -j ACCEPT &&
		vp_h "$IPT" -w -A FORWARD -s 203.0.113.251/32 -m comment --comment foreign-tail -j DROP &&
		vp_h "$IPT" -w -t nat -A POSTROUTING -s 203.0.113.252/32 \
			-m comment --comment foreign-nat -j RETURN
}

# A table of someone else's on libvirt's nftables backend, holding the rule foreign-nat.
vp_basic_foreign_table() {
	vp_h nft -f - <<-'EOF'
	table ip vp_foreign {
		chain post {
			type nat hook postrouting priority srcnat; policy accept;
			ip saddr 203.0.113.252 counter return comment "foreign-nat"
		}
	}
	EOF
}

# The foreign rules present, sorted, counters left out.
vp_basic_foreign_list() {
	if [ "$VP_KIND" = nftables ]; then
		vp_h nft -s list ruleset | grep -F 'foreign-' | sort
	else
		vp_rules_tagged foreign- | sort
	fi
}

# ---------------------------------------------------------------------------------------------
# Where our rules are on libvirt's nftables backend.

# vp_basic_accepts_on_top WHEN N [FAMILY]: the first N rules of FAMILY's libvirt_network forward
# chain are guest1's accepts, and guest1 has no other rule there.
vp_basic_accepts_on_top() {
	local rules top n=$2 f=${3:-ip} bad
	rules=$(vp_nft_rules list chain "$f" libvirt_network forward)
	top=$(printf '%s\n' "$rules" | head -n "$n")
	bad=$(printf '%s\n' "$top" | grep -vc "accept comment \"$VP_BASIC_OWNER\"$")
	if [ "$bad" -eq 0 ] && [ "$(grep -c "$VP_BASIC_OWNER" <<<"$rules")" -eq "$n" ]; then
		vp_ok "$1: our $n accept(s) are the first rules of $f libvirt_network forward"
	else
		vp_not_ok "$1: our $n accept(s) are the first rules of $f libvirt_network forward" \
			"$rules"
	fi
}

# vp_basic_drop_libvirt_nft: libvirt's tables (ip and ip6 libvirt_network) deleted, as when its
# network goes away; vp_libvirt_rules makes them anew.
vp_basic_drop_libvirt_nft() {
	# shellcheck disable=SC2015 # vp_die exits
	vp_h nft delete table ip libvirt_network && vp_h nft delete table ip6 libvirt_network ||
		vp_die "cannot delete libvirt's tables"
}

# ---------------------------------------------------------------------------------------------
# What a hook call reads: whether it parses XML (libxml2 is linked, so the test library of
# shims/faultinj.c sees each parse), and which on-demand libraries it loads (libnftables,
# libiptc: lib/dl.h).

# vp_basic_hook_reads DOMAIN OP: the hook called as libvirt does, under strace; "xml parsed" if
# it parsed a document, and the on-demand libraries it opened, one per line.
vp_basic_hook_reads() {
	local trace=$VP_TMP/libs.trace xmllog=$VP_TMP/xml.log e tracee_env=()
	vp_faultinj
	for e in "${VP_FAULTINJ_ENV[@]}" "VP_FAULT_XMLLOG=$xmllog"; do
		tracee_env+=(-E "$e")   # the hook's, not strace's: faultinj clears LD_PRELOAD
	done
	rm -f "$xmllog"
	echo "--- $1 $2 end (strace)" >>"$VP_TMP/hook.stderr"
	ip netns exec "$VP_HOST" env VIRT_PORTFWD_ROOT="$VP_ROOT" XTABLES_LOCKFILE="$VP_LOCK" \
		strace -f -qq -e trace=openat -o "$trace" "${tracee_env[@]}" "$VP_ROOT/hooks/qemu" \
		"$1" "$2" end - <"$VP_FIX/$1.xml" >>"$VP_TMP/hook.stdout" 2>>"$VP_TMP/hook.stderr"
	{
		cat "$xmllog" 2>/dev/null
		grep -o -E 'lib(nftables|ip4tc|ip6tc)\.so[.0-9]*' "$trace"
	} | sort -u
}
