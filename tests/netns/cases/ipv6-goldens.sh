# SPDX-License-Identifier: GPL-2.0-or-later
# ipv6-goldens: the unit tests' golden files of this host kind's backend (tests/unit/fixtures/
# plan, IPv4 and IPv6) are exactly what the kernel's tools list back: each is loaded into a
# namespace of its own and compared rule by rule.
# kinds: nft legacy nftables

run() {
	local dir=${VP_SRCDIR:-}/tests/unit/fixtures/plan ns=$VP_TAG-golden f n=0 bad=
	[ -d "$dir" ] || vp_die "VP_SRCDIR (${VP_SRCDIR:-unset}) does not hold the source tree"
	for f in "$dir"/*.rules "$dir"/*.nft; do
		case "$VP_KIND:$f" in nftables:*.rules | nft:*.nft | legacy:*.nft) continue ;; esac
		vp_netns_add "$ns" || vp_die "cannot create $ns"
		golden_round_trip "$ns" "$f" || bad="$bad ${f##*/}"
		ip netns del "$ns"
		n=$((n + 1))
	done
	vp_check_eq "the $n golden files of this backend list back unchanged" "${bad:-none}" none
}

golden_round_trip() {  # NS FILE: 0 when every rule of FILE lists back as written
	local ns=$1 f=$2 c fam=ip ipt=$IPT save=$IPT_SAVE
	case "$f" in *6.rules | *6.nft) fam=ip6 ipt=$IP6T save=$IP6T_SAVE ;; esac
	if [ "${f##*.}" = nft ]; then
		{
			echo "add table $fam libvirt_network"
			echo "add chain $fam libvirt_network forward { type filter hook forward priority 0; }"
			cat "$f"
		} | ip netns exec "$ns" nft -f - || return 1
		[ "$(ip netns exec "$ns" nft -s list ruleset | sed -n 's/^\t\t//p' | grep -v '^type ' |
			sort)" = \
			"$(sed -E -n 's/^(add|insert) rule [a-z0-9]+ [a-z_]+ [a-z]+ //p' "$f" | sort)" ]
		return
	fi
	{
		printf '*nat\n:VIRT_PORTFWD_PRE - [0:0]\n:VIRT_PORTFWD_OUT - [0:0]\n'
		printf ':VIRT_PORTFWD_POST - [0:0]\n'
		grep -E '^-A VIRT_PORTFWD_(PRE|OUT|POST) ' "$f"
		printf 'COMMIT\n*filter\n:VIRT_PORTFWD_FWD - [0:0]\n'
		grep '^-A VIRT_PORTFWD_FWD ' "$f"
		printf 'COMMIT\n'
	} | ip netns exec "$ns" "$ipt-restore" || return 1
	for c in PRE OUT POST FWD; do
		[ "$(ip netns exec "$ns" "$save" | grep "^-A VIRT_PORTFWD_$c ")" = \
			"$(grep "^-A VIRT_PORTFWD_$c " "$f")" ] || return 1
	done
}
