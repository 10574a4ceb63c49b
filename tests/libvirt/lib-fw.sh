# Firewall helpers of the real-libvirt suite (sourced by lib.sh): the setups' iptables/nft
# binaries, listings of HOST's ruleset and of our rules, where our forward accept stands against
# libvirt's jumps (IPv4 and IPv6), the resets a host's firewall goes through, and the self-check.
# Every command runs in HOST (vp_in_host or ip netns exec); the machine's own firewall is never
# read or written.

# --- firewall setup ------------------------------------------------------------------------------

# SETUP nft: libvirt's iptables backend through iptables-nft (Debian 12, RHEL 9, Ubuntu);
# SETUP legacy: the same through iptables-legacy; SETUP nftables: libvirt's own nftables backend.
# A PATH directory maps the generic iptables names for libvirtd (and so for the hook it runs).
vp_fw_setup() {
	local variant p
	VP_FWBIN=$VP_RUN/fwbin
	mkdir -p "$VP_FWBIN"
	case "$VP_SETUP" in
	nft | nftables) variant=nft ;;
	legacy) variant=legacy ;;
	*) vp_die "unknown setup '$VP_SETUP' (nft, legacy or nftables)" ;;
	esac
	for p in iptables ip6tables iptables-save ip6tables-save iptables-restore ip6tables-restore; do
		ln -sf "/usr/sbin/xtables-$variant-multi" "$VP_FWBIN/$p"
		# libvirt 9.0 runs /usr/sbin/iptables and ip6tables by the path it was built with, not
		# through PATH: in the private /etc, Debian's alternatives name the setup's flavour, as
		# `update-alternatives --set iptables /usr/sbin/iptables-legacy` does on a real host.
		[ -z "${VP_LIBVIRT:-}" ] || ln -sfn "/usr/sbin/${p/tables/tables-$variant}" "/etc/alternatives/$p"
	done
	if [ "$VP_SETUP" = nftables ]; then
		# libvirt's nftables backend adds a `tc ... action csum` filter; this kernel may lack
		# act_csum. Test environment only: accept that one filter, pass the rest to tc.
		cat >"$VP_FWBIN/tc" <<-'EOF'
		#!/bin/sh
		case "$*" in *"action csum"*) exit 0 ;; esac
		exec /sbin/tc "$@"
		EOF
		chmod 0755 "$VP_FWBIN/tc"
	fi
	# shellcheck disable=SC2034 # vp_in_host (lib.sh) runs every command with it
	VP_PATH=$VP_FWBIN:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
}

# Whole ruleset of HOST, every family and both iptables flavours, without counters or the
# save tools' timestamp comments: two dumps are equal exactly when the rules are.
vp_ruleset() {
	echo "## nft"
	ip netns exec "$VP_HNS" nft -s list ruleset 2>&1 | vp_nft_canonical
	# shellcheck disable=SC2016 # expanded by the inner shell
	ip netns exec "$VP_HNS" sh -c '
		for t in iptables-nft-save ip6tables-nft-save iptables-legacy-save ip6tables-legacy-save; do
			echo "## $t"; $t 2>&1
		done' | sed -E -e '/^#[^#]/d' -e '/^$/d' -e 's/\[[0-9]+:[0-9]+\]$/[0:0]/'
}

# An nft listing in canonical order. `nft list` prints tables, and the chains and sets of each,
# in the order they were created, which says nothing about what they do: after a flush libvirt
# re-creates the same rules in another order. So objects are sorted (tables by name, chains and
# sets within their table); rules keep their order inside each chain, which is what matters.
# Two more things that filter nothing are left out: iptables-nft creates a table's built-in
# base chain on first use and never deletes it (a hand-made `iptables -I` + `-D` leaves an empty
# `chain PREROUTING` with policy accept behind), and `iptables -F; iptables -X` leaves empty
# tables behind.
vp_nft_canonical() {
	awk '
	/^table / { table = $0; next }
	/^\}$/ { table = ""; next }
	/^\t[a-z]+ .*\{$/ && !inobj { inobj = 1; obj = $0; n = 0; only = ""; next }
	inobj && /^\t\}$/ {
		inobj = 0
		if (obj ~ /^\tchain / && n == 1 && only ~ /hook .*policy accept;$/) next
		print table "\034" obj "\035" $0
		next
	}
	inobj { n++; only = $0; obj = obj "\035" $0; next }
	NF { print table "\034\001" $0 }' | LC_ALL=C sort | awk '
	BEGIN { FS = "\034" }
	$1 != cur { if (cur != "") print "}"; cur = $1; print cur }
	{ s = $2; sub(/^\001/, "", s); gsub(/\035/, "\n", s); print s }
	END { if (cur != "") print "}" }'
}

# Our rules only (owner-tagged), as the setup's iptables-save (or nft) prints them. IPv6 lines
# of the iptables setups are marked "v6 ": a rule of ours can read the same in both families.
vp_our_rules() {
	if [ "$VP_SETUP" = nftables ]; then
		# Our own NAT tables whole (ip and ip6), plus our tagged rules in libvirt's tables.
		ip netns exec "$VP_HNS" nft -s list ruleset 2>/dev/null | awk '
		/^table / { ours = ($3 ~ /portfwd/) }
		ours || /virt-portfwd/ { print }'
		return
	fi
	{
		vp_in_host iptables-save 2>/dev/null | grep -E 'virt-portfwd|VIRT_PORTFWD'
		vp_in_host ip6tables-save 2>/dev/null | grep -E 'virt-portfwd|VIRT_PORTFWD' | sed 's/^/v6 /'
	} | sed -E 's/\[[0-9]+:[0-9]+\]$//'
}

# The setup's iptables (iptables or ip6tables) and nft family (ip or ip6) of FAM, 4 or 6.
vp_ipt() { if [ "${1:-4}" = 6 ]; then echo ip6tables; else echo iptables; fi; }
vp_nft_family() { if [ "${1:-4}" = 6 ]; then echo ip6; else echo ip; fi; }

# The rules of libvirt_network's forward chain of FAM (nftables setup), without counters.
vp_nft_forward_rules() {
	ip netns exec "$VP_HNS" nft list chain "$(vp_nft_family "$1")" libvirt_network forward 2>/dev/null |
		awk '/hook forward/ { go = 1; next } go && NF > 1' | sed 's/counter packets [0-9]* bytes [0-9]* /counter /'
}

# vp_forward_head [FAM]: the first rule where forwarded packets of FAM (4, the default, or 6)
# meet libvirt's REJECT first: FORWARD (iptables) or libvirt_network's forward chain (nftables).
vp_forward_head() {
	if [ "$VP_SETUP" = nftables ]; then
		vp_nft_forward_rules "${1:-4}" | head -n 1
	else
		vp_in_host "$(vp_ipt "${1:-4}")-save" -t filter 2>/dev/null | grep -m1 '^-A FORWARD'
	fi
}

vp_forward_ours_count() {
	if [ "$VP_SETUP" = nftables ]; then
		vp_nft_forward_rules "${1:-4}" | grep -c 'virt-portfwd'
	else
		vp_in_host "$(vp_ipt "${1:-4}")-save" -t filter 2>/dev/null | grep -c '^-A FORWARD .*virt-portfwd'
	fi
}

# vp_forward_ours_first [FAM]: our forward accept(s) of FAM sit above libvirt's, each exactly
# once: on iptables one jump, rule 1 of FORWARD; on nftables one accept per forward, all above
# libvirt's jumps, none duplicated.
vp_forward_ours_first() {
	local rules
	if [ "$VP_SETUP" != nftables ]; then
		[ "$(vp_forward_ours_count "${1:-4}")" = 1 ] && [[ "$(vp_forward_head "${1:-4}")" == *virt-portfwd* ]]
		return
	fi
	rules=$(vp_nft_forward_rules "${1:-4}")
	[ -z "$(grep virt-portfwd <<<"$rules" | sort | uniq -d)" ] &&
		awk '/virt-portfwd/ { last = NR } /jump guest_/ && !first { first = NR }
			END { exit !(last && first && last < first) }' <<<"$rules"
}

# vp_libvirt_rejump FAM: what a libvirt network reload does to the order: libvirt's jumps in
# FORWARD (LIBVIRT_FWX, FWI, FWO) or in libvirt_network's forward chain (guest_*) deleted and
# inserted again at the top, in their own order, above ours.
vp_libvirt_rejump() {
	local ipt f c h rule
	local -a jumps=()
	if [ "$VP_SETUP" != nftables ]; then
		ipt=$(vp_ipt "$1")
		for c in LIBVIRT_FWO LIBVIRT_FWI LIBVIRT_FWX; do
			vp_in_host "$ipt" -w -D FORWARD -j "$c" && vp_in_host "$ipt" -w -I FORWARD 1 -j "$c" || return 1
		done
		return 0
	fi
	f=$(vp_nft_family "$1")
	# "RULE # handle N" of each jump, in chain order; re-inserted last to first at the top.
	mapfile -t jumps < <(vp_in_host nft -a list chain "$f" libvirt_network forward |
		sed -n 's/^\t*\(.*jump guest_[a-z]*\) # handle \([0-9]*\)$/\2 \1/p' |
		sed 's/counter packets [0-9]* bytes [0-9]*/counter/')
	[ ${#jumps[@]} -gt 0 ] || return 1
	for rule in "${jumps[@]}"; do
		vp_in_host nft delete rule "$f" libvirt_network forward handle "${rule%% *}" || return 1
	done
	for ((c = ${#jumps[@]} - 1; c >= 0; c--)); do
		h=${jumps[c]}
		# shellcheck disable=SC2086 # the rule's words are nft's arguments
		vp_in_host nft insert rule "$f" libvirt_network forward ${h#* } || return 1
	done
}

# Whether HOST has a legacy filter table. Asked first because `iptables-legacy-save -t filter`
# would create the (empty) table just by looking, and change the ruleset being compared.
vp_legacy_filter_exists() {
	ip netns exec "$VP_HNS" grep -qx filter /proc/net/ip_tables_names 2>/dev/null
}

# Where libvirt's LIBVIRT_FWI chain lives: nft, legacy or nftables (none after a flush).
vp_libvirt_fw_location() {
	if ip netns exec "$VP_HNS" iptables-nft-save -t filter 2>/dev/null | grep '^:LIBVIRT_FWI' >/dev/null; then
		echo nft
	elif vp_legacy_filter_exists &&
		ip netns exec "$VP_HNS" iptables-legacy-save -t filter 2>/dev/null | grep '^:LIBVIRT_FWI' >/dev/null; then
		echo legacy
	elif ip netns exec "$VP_HNS" nft list table ip libvirt_network >/dev/null 2>&1; then
		echo nftables
	else
		echo none
	fi
}

# --- firewall resets ---------------------------------------------------------------------------

# Flush the whole firewall of HOST the way a firewalld < 2.0 reload does: every rule and chain of
# filter, nat and mangle, IPv4 and IPv6, libvirt's included (iptables setups, with the setup's own
# iptables); `nft flush ruleset` on the nftables setup.
vp_fw_flush() {
	local t rc=0
	if [ "$VP_SETUP" = nftables ]; then
		vp_in_host nft flush ruleset
		return
	fi
	for t in filter nat mangle; do
		vp_in_host iptables -w -t "$t" -F && vp_in_host iptables -w -t "$t" -X || rc=1
		vp_in_host ip6tables -w -t "$t" -F && vp_in_host ip6tables -w -t "$t" -X || rc=1
	done
	return $rc
}

# Save HOST's ruleset (iptables-save / nft list ruleset, the setup's flavour) into VP_RUN, and
# later put exactly that back, as `netfilter-persistent reload` or `systemctl reload nftables`
# (a `flush ruleset` + saved rules config) do on a real host: whatever was added since is gone.
vp_fw_save() {
	if [ "$VP_SETUP" = nftables ]; then
		vp_in_host nft -s list ruleset >"$VP_RUN/saved.nft"
		return
	fi
	vp_in_host iptables-save >"$VP_RUN/saved.v4" && vp_in_host ip6tables-save >"$VP_RUN/saved.v6"
}

vp_fw_restore() {
	if [ "$VP_SETUP" = nftables ]; then
		{ echo 'flush ruleset'; cat "$VP_RUN/saved.nft"; } | vp_in_host nft -f -
		return
	fi
	vp_in_host iptables-restore -w <"$VP_RUN/saved.v4" && vp_in_host ip6tables-restore -w <"$VP_RUN/saved.v6"
}

# --- the self-check: the environment reproduces the problem the project solves ----------------

# With a hand-made DNAT alone, libvirt's REJECT refuses the connection; with the DNAT plus a
# FORWARD accept for DNAT'd packets above libvirt's jumps, the guest answers. Then both go away.
# Proves the guest, the bridge, libvirt's rules and the client path work, independently of the hook.
vp_selfcheck() {
	local name=$1 gip=$2 port=2299 rc=0
	vp_selfcheck_rules add-dnat "$gip" $port || return 1
	if ! vp_tcp_closed "$VP_CNS" "$VP_HOST_ADDR" $port; then
		vp_note "self-check: DNAT alone already reaches the guest (libvirt's REJECT not in effect?)"
		rc=1
	fi
	vp_selfcheck_rules add-accept "$gip" $port || rc=1
	if [ "$(vp_http "$VP_CNS" "$VP_HOST_ADDR" $port)" != "$name" ]; then
		vp_note "self-check: DNAT + FORWARD accept does not reach $name"
		rc=1
	fi
	vp_selfcheck_rules remove "$gip" $port || rc=1
	return $rc
}

# vp_selfcheck_rules add-dnat|add-accept|remove GIP PORT, in the setup's own tool: iptables
# (-nft or -legacy, through the PATH), or nft with the accept at the top of libvirt's forward chain.
vp_selfcheck_rules() {
	local op=$1 gip=$2 port=$3 dnat fwd h
	if [ "$VP_SETUP" = nftables ]; then
		case "$op" in
		add-dnat) vp_in_host nft -f - <<-EOF ;;
			table ip vp_selfcheck {
				chain pre { type nat hook prerouting priority dstnat; ip daddr $VP_HOST_ADDR tcp dport $port dnat to $gip:22; }
			}
			EOF
		add-accept) vp_in_host nft insert rule ip libvirt_network forward ip daddr "$gip" tcp dport 22 \
			ct status dnat accept comment '"vp-selfcheck"' ;;
		remove)
			h=$(vp_in_host nft -a list chain ip libvirt_network forward | awk '/vp-selfcheck/ { print $NF }')
			[ -n "$h" ] && vp_in_host nft delete rule ip libvirt_network forward handle "$h"
			vp_in_host nft delete table ip vp_selfcheck ;;
		esac
		return
	fi
	dnat=(PREROUTING -d "$VP_HOST_ADDR" -p tcp --dport "$port"
		-m comment --comment vp-selfcheck -j DNAT --to-destination "$gip:22")
	fwd=(FORWARD -d "$gip" -p tcp --dport 22 -m conntrack --ctstate DNAT
		-m comment --comment vp-selfcheck -j ACCEPT)
	case "$op" in
	add-dnat) vp_in_host iptables -w -t nat -I "${dnat[@]}" ;;
	add-accept) vp_in_host iptables -w -I "${fwd[@]}" ;;
	remove) vp_in_host iptables -w -D "${fwd[@]}" && vp_in_host iptables -w -t nat -D "${dnat[@]}" ;;
	esac
}
