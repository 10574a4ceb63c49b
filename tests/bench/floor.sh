# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The floor: the change the hook makes for a guest, made instead by the distribution's own tool
# in one batch (add, then del). Shared by bench.sh (the netns world) and bench-libvirt.sh (a
# real libvirtd). The caller provides: vp_h CMD... (a command in the host namespace), vp_hook
# NAME OP (the hook as libvirt runs it), vp_norm_save (tests/netns/lib/ruleset.sh), VP_KIND
# (nft, legacy or nftables), IPT_SAVE (iptables-KIND-save) and VP_TMP (a scratch directory).

# A stable uuid per bench guest, from its number.
uuid_of() {
	printf 'c0ffee00-0000-4000-8000-%012x\n' "$1"
}

# xt kinds: from iptables-save before and after the hook's `started`, the two batches that make
# the same change: add (new chains; the rules where the hook put them: inserted at the top of a
# chain of ours when they came first in it, appended otherwise; new jumps inserted at the top;
# filter first) and del (the reverse; nat first).
floor_xt_batches() {  # BEFORE AFTER ADD DEL
	awk -v addf="$3" -v delf="$4" '
	FNR == 1 { file++ }
	/^\*/ { t = substr($0, 2); next }
	/^:/ {
		c = substr($1, 2)
		if (file == 1) had[t, c] = 1; else if (!had[t, c]) newc[t] = newc[t] " " c
		next
	}
	/^-A / {
		split($0, w, " ")
		if (file == 1) { seen[t, $0]++; next }
		pos[t, w[2]]++
		if (seen[t, $0]-- > 0) next
		rest = substr($0, 4 + length(w[2]) + 1)
		if (w[2] ~ /^(PREROUTING|OUTPUT|POSTROUTING|FORWARD|INPUT)$/) {
			addj[t] = addj[t] "-I " w[2] " 1 " rest "\n"
			delj[t] = delj[t] "-D " w[2] " " rest "\n"
			next
		}
		n = ++nnew[t, w[2]]
		top[t, w[2]] = (n == 1 ? 1 : top[t, w[2]]) && pos[t, w[2]] == n
		ins[t, w[2]] = "-I " w[2] " 1 " rest "\n" ins[t, w[2]]
		app[t, w[2]] = app[t, w[2]] $0 "\n"
		if (!((t, w[2]) in order)) { order[t, w[2]] = 1; chains[t] = chains[t] " " w[2] }
		delr[t] = delr[t] "-D " w[2] " " rest "\n"
	}
	END {
		split("filter nat", tables, " ")
		for (i = 1; i <= 2; i++) {
			t = tables[i]; n = split(chains[t], cs, " "); addr = ""
			for (k = 1; k <= n; k++) addr = addr (top[t, cs[k]] ? ins[t, cs[k]] : app[t, cs[k]])
			if (addr == "" && addj[t] == "") continue
			printf "*%s\n", t > addf
			m = split(newc[t], nc, " ")
			for (k = 1; k <= m; k++) printf "-N %s\n", nc[k] > addf
			printf "%s%sCOMMIT\n", addr, addj[t] > addf
		}
		for (i = 2; i >= 1; i--) {
			t = tables[i]; m = split(newc[t], nc, " ")
			if (delr[t] == "" && delj[t] == "") continue
			printf "*%s\n%s%s", t, delr[t], delj[t] > delf
			for (k = 1; k <= m; k++) printf "-X %s\n", nc[k] > delf
			printf "COMMIT\n" > delf
		}
	}' "$1" "$2"
}

# nftables kind: the add file from the listing after `started` (what the hook's batch holds:
# our table and chains, our rules appended, the accepts inserted at the top of libvirt's forward
# chain), and a script turning the echo of that batch (`nft -ae`, as the hook learns the handles
# of what it adds) into the del file (by handle, and our table if no other guest has rules in
# it, as the hook's removal does).
floor_nft_files() {  # UUID TABLE-EXISTED-BEFORE ADD MKDEL
	local owner="virt-portfwd:$1" existed=$2
	vp_h nft -s list table ip virt_portfwd | awk -v owner="$owner" '
		/^\tchain / { c = $2; next }
		/^\t\ttype / { sub(/^\t\t/, ""); spec[c] = $0; next }
		/^\t\t/ && index($0, "comment \"" owner "\"") { sub(/^\t\t/, ""); r[c] = r[c] "add rule ip virt_portfwd " c " " $0 "\n" }
		END {
			print "add table ip virt_portfwd"
			for (c in r) printf "add chain ip virt_portfwd %s { %s }\n%s", c, spec[c], r[c]
		}' >"$3"
	vp_h nft -s list chain ip libvirt_network forward |
		awk -v owner="$owner" '/^\t\t/ && index($0, "comment \"" owner "\"") {
			sub(/^\t\t/, ""); l[++n] = $0 }
			END { for (i = n; i >= 1; i--) print "insert rule ip libvirt_network forward " l[i] }' >>"$3"
	cat >"$4" <<-EOF
	#!/bin/sh
	# mkdel ECHO DEL: the nft commands deleting what the batch echoed in ECHO.
	awk -v existed=$existed '/^(add|insert) rule / && / # handle [0-9]+\$/ {
		if (existed || \$4 != "virt_portfwd") print "delete rule", \$3, \$4, \$5, "handle", \$NF }
		END { if (!existed) print "delete table ip virt_portfwd" }' "\$1" >"\$2"
	EOF
	chmod +x "$4"
}

# Prepare the floor of guest bF; writes the four command lines (add, prepare-add, del,
# prepare-del) for hyperfine to $VP_TMP/floor-F/cmds. Each prepare command first undoes
# whatever the command before it left (the rules may or may not be in).
floor_prepare() {
	local f=$1 name=b$1 uuid dir=$VP_TMP/floor-$1
	uuid=$(uuid_of "$f")
	mkdir -p "$dir"
	if [ "$VP_KIND" = nftables ]; then
		local existed=0
		vp_h nft list table ip virt_portfwd >/dev/null 2>&1 && existed=1
		vp_hook "$name" started || vp_die "hook $name started failed"
		floor_nft_files "$uuid" "$existed" "$dir/add.nft" "$dir/mkdel.sh"
		vp_hook "$name" stopped || vp_die "hook $name stopped failed"
		# Each prepare command first undoes what the last add left (its echo is in echo.out).
		local undo="{ [ ! -s $dir/echo.out ] || { $dir/mkdel.sh $dir/echo.out $dir/del.nft && nft -f $dir/del.nft; }; rm -f $dir/echo.out; } 2>/dev/null"
		{
			echo "nft -ae -f $dir/add.nft >$dir/echo.out"
			echo "$undo; true"
			echo "nft -f $dir/del.nft"
			echo "$undo; nft -ae -f $dir/add.nft >$dir/echo.out && $dir/mkdel.sh $dir/echo.out $dir/del.nft && rm -f $dir/echo.out"
		} >"$dir/cmds"
		return
	fi
	local restore="iptables-$VP_KIND-restore -w --noflush"
	vp_h "$IPT_SAVE" >"$dir/before" || vp_die "$IPT_SAVE failed"
	vp_hook "$name" started || vp_die "hook $name started failed"
	vp_h "$IPT_SAVE" >"$dir/after" || vp_die "$IPT_SAVE failed"
	vp_hook "$name" stopped || vp_die "hook $name stopped failed"
	floor_xt_batches "$dir/before" "$dir/after" "$dir/add" "$dir/del"
	# The batches must really be the hook's change: add then del leaves the ruleset as it was.
	vp_h $restore <"$dir/add" && vp_h "$IPT_SAVE" | vp_norm_save >"$dir/add.check" &&
		vp_norm_save <"$dir/after" >"$dir/after.norm" &&
		cmp -s "$dir/add.check" "$dir/after.norm" ||
		vp_die "floor batch of $name is not the hook's change: $(diff "$dir/after.norm" "$dir/add.check" | head -n 20)"
	vp_h $restore <"$dir/del" || vp_die "floor removal batch of $name failed"
	{
		echo "$restore <$dir/add"
		echo "$restore <$dir/del || true"
		echo "$restore <$dir/del"
		echo "{ $restore <$dir/del || true; } && $restore <$dir/add"
	} >"$dir/cmds"
}

