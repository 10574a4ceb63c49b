# SPDX-License-Identifier: GPL-2.0-or-later
# neighbours [nb]: another program's firewall on the forward hook, next to a real libvirtd:
# Docker 28's rules (FORWARD policy DROP, DOCKER-USER, DOCKER-FORWARD), then ufw's
# (DEFAULT_FORWARD_POLICY="DROP"), each loaded as that program writes them (the netns suite's
# fixtures, through the setup's iptables) before g1 starts, as when they start at boot. g1's
# forward reaches it from the client and from the host itself, the doctor is healthy, Docker
# restarting (its jumps put back on top of FORWARD) changes nothing; when g1 is gone nothing of
# ours is left and the neighbour's rules are as it wrote them. On libvirt's nftables backend our
# accepts are what make this work (DOCKER-USER, or the top of ufw's FORWARD); on the iptables
# setups our jump sits in the same FORWARD chain.

NB_FIX=$VP_SRCDIR/tests/netns/fixtures

nb_load() { vp_in_host iptables-restore -w --noflush <"$NB_FIX/$1.rules"; }

# The undo of a fixture, made from the same file (for iptables-restore --noflush): the jumps it
# put into built-in chains deleted, their policies back to ACCEPT, its chains flushed, deleted.
nb_undo() {
	awk '
	function add(t, what, line) { text[t, what] = text[t, what] line "\n" }
	/^\*/ { t = substr($0, 2); order[++n] = t; next }
	/^:(INPUT|FORWARD|OUTPUT|PREROUTING|POSTROUTING) / { add(t, "pol", $1 " ACCEPT [0:0]"); next }
	/^:/ { add(t, "flush", $1 " - [0:0]"); add(t, "del", "-X " substr($1, 2)); next }
	/^-I (INPUT|FORWARD|OUTPUT|PREROUTING|POSTROUTING) [0-9]+ / {
		$1 = "-D"; $3 = ""; sub(/  /, " "); add(t, "jump", $0); next }
	/^-A (INPUT|FORWARD|OUTPUT|PREROUTING|POSTROUTING) / { $1 = "-D"; add(t, "jump", $0) }
	END {
		for (i = 1; i <= n; i++)
			printf "*%s\n%s%s%s%sCOMMIT\n", order[i], text[order[i], "pol"],
				text[order[i], "flush"], text[order[i], "jump"], text[order[i], "del"]
	}' "$NB_FIX/$1.rules"
}

# The base chains and tables of HOST's nf_tables, one per line (nothing on the legacy setup).
nb_nft_objects() {
	vp_in_host nft -j list ruleset 2>/dev/null | jq -r '.nftables[] |
		(.table // empty | "table \(.family) \(.name)"),
		(.chain // empty | "chain \(.family) \(.table) \(.name)")' | sort
}

# nb_unload NAME: the fixture's undo, then what iptables-nft made for it and never deletes (the
# empty built-in chains and tables it created, which were not there before: nb_before).
nb_unload() {
	local obj
	nb_undo "$1" | vp_in_host iptables-restore -w --noflush || return 1
	[ "$VP_SETUP" = legacy ] && return 0
	comm -13 <(printf '%s\n' "$NB_BEFORE") <(nb_nft_objects) | while read -r obj; do
		# "chain FAMILY TABLE NAME" lines sort before "table FAMILY NAME" ones: chains go first.
		# shellcheck disable=SC2086 # the line as words
		vp_in_host nft delete $obj || return 1
	done
}

# nb_unaccept: our rules in iptables-nft's filter table taken away by hand (nftables setup).
nb_unaccept() {
	vp_in_host iptables-save -t filter | grep -vF -- "virt-portfwd:" |
		vp_in_host iptables-restore -w -T filter
}

# nb_scenario NAME OWNER CHAIN: NAME's rules in, g1 started, its forward checked, g1 gone, the
# rules out. CHAIN: where our accepts go on the nftables setup.
nb_scenario() {
	local name=$1 owner=$2 chain=$3 r
	NB_BEFORE=$(nb_nft_objects)
	nb_load "$name"
	vp_ok $? "[nb] $owner's rules loaded as it writes them (FORWARD policy DROP)"
	vp_define_guest 1 && vp_start_guest g1 >/dev/null
	vp_wait_http "$VP_CNS" "$HOST" 2222 g1 120
	vp_ok $? "[nb] $owner: client -> host:2222 reaches g1"
	r=$(vp_http "$VP_HNS" "$HOST" 2222)
	[ "$r" = g1 ]
	vp_ok $? "[nb] $owner: the host itself -> host:2222 reaches g1 ('$r')"
	if [ "$VP_SETUP" = nftables ]; then
		r=$(vp_in_host iptables -S "$chain" | grep -v '^-[NP]' | head -n 2 | grep -c virt-portfwd)
		[ "$r" = 2 ]
		vp_ok $? "[nb] $owner: our accept and its replies' are on top of $chain ($r of 2)"
		nb_unaccept
		vp_tcp_closed "$VP_CNS" "$HOST" 2222
		vp_ok $? "[nb] $owner: our accepts taken away by hand: client -> host:2222 fails"
		vp_in_host /usr/local/sbin/virt-portfwd apply 2>>"$VP_RUN/hook-manual.log" &&
			[ "$(vp_http "$VP_CNS" "$HOST" 2222)" = g1 ]
		vp_ok $? "[nb] $owner: virt-portfwd apply puts them back: client -> host:2222 reaches g1"
	else
		r=$(vp_in_host iptables -S FORWARD | grep -c virt-portfwd)
		[ "$r" = 1 ]
		vp_ok $? "[nb] $owner: nothing of ours in FORWARD but our jump ($r)"
	fi
	vp_doctor_healthy "[nb] $owner"
	grep -qF "($owner" "$VP_RUN/doctor.out"
	vp_ok $? "[nb] $owner: the doctor looked at $owner's FORWARD"
	if [ "$name" = docker-28 ]; then
		vp_in_host iptables -w -D FORWARD -j DOCKER-USER &&
			vp_in_host iptables -w -D FORWARD -j DOCKER-FORWARD &&
			vp_in_host iptables -w -I FORWARD 1 -j DOCKER-FORWARD &&
			vp_in_host iptables -w -I FORWARD 1 -j DOCKER-USER
		vp_ok $? "[nb] Docker restarts: its jumps deleted and put back on top of FORWARD"
		r=$(vp_http "$VP_CNS" "$HOST" 2222)
		[ "$r" = g1 ]
		vp_ok $? "[nb] after Docker restarted: client -> host:2222 reaches g1 ('$r')"
	fi
	guests_gone g1
	r=$(vp_our_rules)
	[ -z "$r" ]
	vp_ok $? "[nb] $owner: g1 gone, nothing of ours is left${r:+: $r}"
	r=$(vp_in_host iptables -S FORWARD | head -n 1)
	[ "$r" = "-P FORWARD DROP" ]
	vp_ok $? "[nb] $owner: its FORWARD policy is still DROP ('$r')"
	nb_unload "$name"
	vp_ok $? "[nb] $owner's rules taken away"
}

run() {
	nb_scenario docker-28 Docker DOCKER-USER
	nb_scenario ufw ufw FORWARD
}
