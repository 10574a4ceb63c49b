# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The host namespace's ruleset: raw listings, the normalised snapshot that "unchanged" compares,
# and our own rules (by owner tag) and the invariants they keep.

# Everything the host namespace's firewall holds, raw; fails when a listing does.
vp_ruleset_raw() {
	local rc=0
	vp_h "$IPT_SAVE" || rc=1
	vp_h "$IP6T_SAVE" || rc=1
	[ "$VP_HOSTTYPE" = legacy ] || vp_h nft list ruleset || rc=1
	return $rc
}

# iptables-save text: drop comments and chain counters; drop built-in chains that have policy
# ACCEPT and no rule (iptables-nft makes them on first use and leaves them behind), and table
# blocks left empty by that.
vp_norm_save() {
	awk '
	/^#/ { next }
	/^\*/ { n = 0; tbl = $0; delete used; next }
	/^:/ { sub(/ \[[0-9]+:[0-9]+\]$/, " [0:0]"); line[++n] = $0; next }
	/^-A / { used[$2] = 1; line[++n] = $0; next }
	/^COMMIT$/ {
		out = ""
		for (i = 1; i <= n; i++) {
			split(line[i], f, " ")
			c = substr(f[1], 2)
			if (line[i] ~ /^:/ && f[2] == "ACCEPT" && c ~ /^(PREROUTING|INPUT|FORWARD|OUTPUT|POSTROUTING)$/ && !(c in used))
				continue
			out = out line[i] "\n"
		}
		if (out != "") printf "%s\n%sCOMMIT\n", tbl, out
		next
	}
	{ print }'
}

# nft list ruleset: drop counters' values and blank lines; drop base chains with policy accept
# and no rule (the same leftovers as above, seen from nft) and tables left empty; sort the chains
# of a table by name, as iptables-save does, and the tables by name (nft lists both in creation
# order, which changes when one is deleted and made again with the same content).
vp_norm_nft() {
	awk '
	function flush_table(   i, j, k, t) {
		for (i = 2; i <= nc; i++)           # insertion sort: the tables are small
			for (j = i; j > 1 && ckey[j - 1] > ckey[j]; j--) {
				t = ckey[j]; ckey[j] = ckey[j - 1]; ckey[j - 1] = t
				t = ctext[j]; ctext[j] = ctext[j - 1]; ctext[j - 1] = t
			}
		for (k = 1; k <= nc; k++) tbody = tbody ctext[k]
		if (tbody != "") { tkey[++nt] = thead; ttext[nt] = thead "\n" tbody "}\n" }
		thead = ""; tbody = ""; nc = 0
	}
	{ gsub(/counter packets [0-9]+ bytes [0-9]+/, "counter") }
	/^[[:space:]]*$/ { next }
	/^table / { thead = $0; tbody = ""; nc = 0; intable = 1; next }
	intable && /^}/ { intable = 0; flush_table(); next }
	intable && /^\tchain / { chead = $0; cbody = ""; nrules = 0; base_accept = 0; inchain = 1; next }
	inchain && /^\t}/ {
		inchain = 0
		if (!(base_accept && nrules == 0)) { ckey[++nc] = chead; ctext[nc] = chead "\n" cbody "\t}\n" }
		next
	}
	inchain {
		if ($0 ~ /^\t\ttype .* hook .*policy accept;$/) base_accept = 1
		else nrules++
		cbody = cbody $0 "\n"
		next
	}
	intable { tbody = tbody $0 "\n"; next }
	{ print }
	END {
		# The tables sorted by name too: nft lists them in creation order as well.
		for (i = 2; i <= nt; i++)
			for (j = i; j > 1 && tkey[j - 1] > tkey[j]; j--) {
				t = tkey[j]; tkey[j] = tkey[j - 1]; tkey[j - 1] = t
				t = ttext[j]; ttext[j] = ttext[j - 1]; ttext[j - 1] = t
			}
		for (k = 1; k <= nt; k++) printf "%s", ttext[k]
	}'
}

# vp_snapshot FILE: the normalised ruleset of the host namespace, what "unchanged" compares.
vp_snapshot() {
	local err=$VP_TMP/snapshot.err
	{
		echo "== $IPT_SAVE"
		vp_h "$IPT_SAVE" 2>"$err" | vp_norm_save
		cat "$err"
		echo "== $IP6T_SAVE"
		vp_h "$IP6T_SAVE" 2>"$err" | vp_norm_save
		cat "$err"
		if [ "$VP_HOSTTYPE" = nft ]; then
			echo "== nft list ruleset"
			vp_h nft list ruleset 2>"$err" | vp_norm_nft
			# nft warns of iptables-nft's tables in their creation order: sorted, as they are
			sort "$err"
		fi
	} >"$1"
}

# Lines of iptables-save (every IPv4 table) containing this text.
vp_rules_tagged() {
	vp_h "$IPT_SAVE" 2>/dev/null | grep -F -- "$1"
}

# Rule lines of an nft listing (two tabs deep, not a chain's type line), tabs stripped.
vp_nft_rules() {  # nft list ... ARGS
	vp_h nft "$@" | sed -n 's/^\t\t//p' | grep -v '^type .* hook '
}

# Our rules that break an invariant, one per line (nothing when all is well): a rule in our
# chains or table without an owner tag virt-portfwd:<uuid>, a jump to our chains without our
# tag, a rule of ours present twice, a built-in chain with more than one jump to a chain of ours.
vp_owned_problems() {
	local save fam t
	if [ "$VP_KIND" = nftables ]; then
		for fam in ip ip6; do
			vp_h nft list table "$fam" virt_portfwd 2>/dev/null | sed -n 's/^\t\t//p' |
				grep -v '^type .* hook ' | grep -v 'comment "virt-portfwd:[0-9a-f-]\{36\}"$' |
				sed "s/^/untagged in $fam virt_portfwd: /"
			t=$(vp_h nft list chain "$fam" libvirt_network forward 2>/dev/null | sed -n 's/^\t\t//p')
			grep 'ct status dnat' <<<"$t" | grep -v 'comment "virt-portfwd:' |
				sed "s/^/untagged in $fam libvirt_network forward: /"
			grep 'virt-portfwd' <<<"$t" | sort | uniq -d | sed "s/^/twice in $fam forward: /"
			vp_h nft list table "$fam" virt_portfwd 2>/dev/null | sed -n 's/^\t\t//p' |
				grep virt-portfwd | sort | uniq -d | sed "s/^/twice in $fam virt_portfwd: /"
		done
		return 0
	fi
	for t in "$IPT_SAVE" "$IP6T_SAVE"; do
		save=$(vp_h "$t" 2>/dev/null)
		grep '^-A VIRT_PORTFWD_' <<<"$save" |
			grep -v -- '-m comment --comment "virt-portfwd:[0-9a-f-]\{36\}"' |
			sed "s/^/untagged ($t): /"
		grep -- '-j VIRT_PORTFWD_' <<<"$save" | grep -v -- '--comment virt-portfwd -j' |
			sed "s/^/untagged jump ($t): /"
		grep -- 'virt-portfwd' <<<"$save" | sort | uniq -d | sed "s/^/twice ($t): /"
	done
}

vp_check_owned() {  # WHEN
	local p
	p=$(vp_owned_problems)
	if [ -z "$p" ]; then
		vp_ok "$1: every rule of ours carries its owner tag, none is there twice"
	else
		vp_not_ok "$1: every rule of ours carries its owner tag, none is there twice" "$p"
	fi
}

# Number of rules owned by UUID, in every table of this host kind.
vp_count_owned() {
	if [ "$VP_KIND" = nftables ]; then
		vp_h nft list ruleset | grep -c "comment \"virt-portfwd:$1\""
	else
		{ vp_h "$IPT_SAVE"; vp_h "$IP6T_SAVE"; } | grep -c "virt-portfwd:$1"
	fi
}

# Number of rules owned by guest1.
vp_g1_rules() { vp_count_owned "$VP_G1_UUID"; }

# The rules owned by UUID, as text, in listing order, counters left out (to compare one guest's
# rules over time).
vp_rules_owned() {
	if [ "$VP_KIND" = nftables ]; then
		vp_h nft -s list ruleset | grep "comment \"virt-portfwd:$1\""
	else
		{ vp_h "$IPT_SAVE"; vp_h "$IP6T_SAVE"; } | grep "virt-portfwd:$1"
	fi
}
