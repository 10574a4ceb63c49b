#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# What an nf_tables change costs as the table grows, with nft alone (no virt-portfwd): why the
# hook's `started` grows with the rules of other guests on iptables-nft and nftables, and why
# neither a chain per guest nor a table per guest would stop it. Everything runs in a private
# network namespace made here; no packet is sent.
#
#   table-cost.sh [--runs N] [--rules N]
#
# Measured (hyperfine, medians): one `nft -f` adding 10 DNAT rules (one transaction) to a base
# chain `me` of table `t` while RULES other DNAT rules sit
#   - nowhere (the baseline);
#   - in `me` itself (where the hook's rules meet every other guest's);
#   - in another base chain of `t`;
#   - in a regular chain of `t` that a base chain jumps to (a chain per guest);
#   - in a regular chain of `t` that nothing jumps to;
#   - in another table;
# for a table per guest, adding and deleting one guest's table (3 nat base chains, 30 rules)
# next to 0 or RULES/30 other such tables; and, for our rules spread over 16 tables instead of
# one, adding one guest (30 NAT rules in its table, 10 accepts in a shared forward chain) next to
# no other guest or RULES/30 of them. Markdown on stdout.

set -u
PATH=$PATH:/usr/sbin:/sbin
RUNS=15
RULES=7500
while [ $# -gt 0 ]; do
	case "$1" in
	--runs) RUNS=$2; shift ;;
	--rules) RULES=$2; shift ;;
	*) echo "usage: $0 [--runs N] [--rules N]" >&2; exit 2 ;;
	esac
	shift
done

skip() { echo "1..0 # SKIP $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root"
for t in nft hyperfine python3 ip; do
	command -v "$t" >/dev/null 2>&1 || skip "$t not installed"
done

NS=vp-tablecost-$$
DIR=$(mktemp -d /tmp/virt-portfwd-tablecost.XXXXXX) || exit 1
trap 'ip netns del "$NS" 2>/dev/null; rm -rf "$DIR"' EXIT

in_ns() { ip netns exec "$NS" "$@"; }

fresh_ns() {
	ip netns del "$NS" 2>/dev/null
	ip netns add "$NS" || { echo "Bail out! ip netns add failed"; exit 1; }
}

# N DNAT rules as the hook writes them, into chain CHAIN of table TABLE (family ip).
dnat_rules() {  # TABLE CHAIN N TAG
	awk -v t="$1" -v c="$2" -v n="$3" -v tag="$4" 'BEGIN {
		for (i = 0; i < n; i++)
			printf "add rule ip %s %s tcp dport %d fib daddr type local counter " \
			       "dnat to 192.168.122.%d:%d comment \"virt-portfwd:%s\"\n",
			       t, c, 30000 + i % 30000, 2 + i % 200, 1000 + i % 500, tag
	}'
}

BASE='type nat hook prerouting priority dstnat; policy accept;'

# The world of one placement of the other rules.
world() {  # PLACEMENT
	echo "add table ip t"
	echo "add chain ip t me { $BASE }"
	case "$1" in
	none) ;;
	same) dnat_rules t me "$RULES" others ;;
	base)
		echo "add chain ip t other { type nat hook output priority -100; policy accept; }"
		dnat_rules t other "$RULES" others ;;
	jumped)
		echo "add chain ip t guests"
		echo "add chain ip t other { type nat hook output priority -100; policy accept; }"
		echo "add rule ip t other jump guests"
		dnat_rules t guests "$RULES" others ;;
	unused)
		echo "add chain ip t guests"
		dnat_rules t guests "$RULES" others ;;
	table)
		echo "add table ip t2"
		echo "add chain ip t2 other { $BASE }"
		dnat_rules t2 other "$RULES" others ;;
	esac
}

median() {  # JSON: hyperfine's median of the first command, ms
	python3 -c 'import json,sys; print("%.1f" % (json.load(open(sys.argv[1]))["results"][0]["median"] * 1000))' "$1"
}

# Remove our 10 rules from `me` by handle (the hyperfine prepare of the add).
cat >"$DIR/unadd.sh" <<'EOF'
nft -a list chain ip t me | awk '/comment "virt-portfwd:me"/ { print "delete rule ip t me handle " $NF }' >"$1"
[ -s "$1" ] && nft -f "$1"
exit 0
EOF
dnat_rules t me 10 me | sed 's/^add /insert /' >"$DIR/add.nft"

echo "### The cost of adding 10 DNAT rules, by where $RULES other rules are (median ms, nft -f)"
echo
echo "| the other rules are | add 10 rules | vs none |"
echo "|---|---:|---:|"
base_ms=
for p in none same base jumped unused table; do
	fresh_ns
	world "$p" >"$DIR/world.nft"
	in_ns nft -f "$DIR/world.nft" || { echo "Bail out! loading the $p world failed"; exit 1; }
	in_ns hyperfine -N -w 3 -r "$RUNS" -p "bash $DIR/unadd.sh $DIR/del.nft" \
		"nft -f $DIR/add.nft" --export-json "$DIR/r.json" >/dev/null 2>&1 ||
		{ echo "Bail out! hyperfine failed ($p)"; exit 1; }
	ms=$(median "$DIR/r.json")
	[ -n "$base_ms" ] || base_ms=$ms
	case "$p" in
	none) what="nowhere" ;;
	same) what="in the same base chain" ;;
	base) what="in another base chain of the table" ;;
	jumped) what="in a chain of the table a base chain jumps to" ;;
	unused) what="in a chain of the table nothing jumps to" ;;
	table) what="in another table" ;;
	esac
	echo "| $what | $ms | $(python3 -c "print('%.2fx' % ($ms / $base_ms))") |"
done

# A table per guest: 3 nat base chains and 30 rules each.
guest_table() {  # NAME
	echo "add table ip g_$1"
	echo "add chain ip g_$1 pre { $BASE }"
	echo "add chain ip g_$1 out { type nat hook output priority -100; policy accept; }"
	echo "add chain ip g_$1 post { type nat hook postrouting priority srcnat; policy accept; }"
	dnat_rules "g_$1" pre 10 "$1"
	dnat_rules "g_$1" out 10 "$1"
	awk -v g="g_$1" 'BEGIN { for (i = 0; i < 10; i++) printf "add rule ip %s post ip daddr 192.168.122.3 tcp dport %d ct status dnat counter masquerade\n", g, 1000 + i }'
}
guest_table me >"$DIR/gadd.nft"
echo "delete table ip g_me" >"$DIR/gdel.nft"
tables=$((RULES / 30))
echo
echo "### A table per guest instead (3 nat base chains, 30 rules; median ms, nft -f)"
echo
echo "| other guests' tables | add the table | delete the table |"
echo "|---:|---:|---:|"
for n in 0 "$tables"; do
	fresh_ns
	for ((i = 0; i < n; i++)); do guest_table "o$i"; done >"$DIR/world.nft"
	[ "$n" -eq 0 ] || in_ns nft -f "$DIR/world.nft" || { echo "Bail out! loading $n tables failed"; exit 1; }
	# Each prepare undoes the other command; the first needs the table there.
	in_ns nft -f "$DIR/gadd.nft" || { echo "Bail out! adding the guest table failed"; exit 1; }
	in_ns hyperfine -N -w 3 -r "$RUNS" -p "nft -f $DIR/gdel.nft" "nft -f $DIR/gadd.nft" \
		-p "nft -f $DIR/gadd.nft" "nft -f $DIR/gdel.nft" \
		--export-json "$DIR/a.json" >/dev/null 2>&1 || { echo "Bail out! hyperfine failed (tables)"; exit 1; }
	echo "| $n | $(median "$DIR/a.json") | $(python3 -c 'import json,sys; print("%.1f" % (json.load(open(sys.argv[1]))["results"][1]["median"] * 1000))' "$DIR/a.json") |"
done

# Our rules spread over K tables (a guest's in table vp<n mod K>), libvirt's forward chain shared.
spread_guest() {  # K N OP: guest N's 30 NAT rules and 10 accepts (OP: add or insert)
	awk -v k="$1" -v n="$2" -v op="$3" 'BEGIN {
		t = k > 1 ? "vp" (n % k) : "vp"; g = "192.168.122." (2 + n % 200)
		for (i = 0; i < 10; i++) {
			hp = 40000 + n * 10 + i; gp = 1000 + i; c = "comment \"virt-portfwd:g" n "\""
			printf "%s rule ip %s pre tcp dport %d fib daddr type local counter dnat to %s:%d %s\n", op, t, hp, g, gp, c
			printf "%s rule ip %s out ip daddr != 127.0.0.0/8 tcp dport %d fib daddr type local counter dnat to %s:%d %s\n", op, t, hp, g, gp, c
			printf "%s rule ip %s post ip saddr 192.168.122.0/24 ip daddr %s tcp dport %d ct status dnat counter masquerade %s\n", op, t, g, gp, c
			printf "%s rule ip lv forward oifname \"virbr0\" ip daddr %s tcp dport %d ct status dnat ct original proto-dst %d counter accept %s\n", op, g, gp, hp, c
		}
	}'
}

spread_world() {  # K GUESTS
	local k n t
	echo "add table ip lv"
	echo "add chain ip lv forward { type filter hook forward priority filter; policy accept; }"
	echo "add chain ip lv guest_input"
	echo "add rule ip lv forward jump guest_input"
	echo "add rule ip lv guest_input oifname \"virbr0\" reject"
	for ((k = 0; k < $1; k++)); do
		t=vp$k
		[ "$1" -gt 1 ] || t=vp
		echo "add table ip $t"
		echo "add chain ip $t pre { $BASE }"
		echo "add chain ip $t out { type nat hook output priority -100; policy accept; }"
		echo "add chain ip $t post { type nat hook postrouting priority srcnat; policy accept; }"
	done
	for ((n = 1; n <= $2; n++)); do spread_guest "$1" "$n" add; done
}

# Remove guest 0's rules from every table by handle (the hyperfine prepare of the add).
cat >"$DIR/unspread.sh" <<'EOF'
for t in $(nft list tables ip | awk '{ print $3 }'); do
	nft -a list table ip "$t" | awk -v t="$t" '/^\tchain / { c = $2 }
		/comment "virt-portfwd:g0"/ { print "delete rule ip " t " " c " handle " $NF }'
done >"$1"
[ -s "$1" ] && nft -f "$1"
exit 0
EOF

echo
echo "### Our rules over 16 tables instead of one: adding a guest (median ms, nft -f)"
echo
echo "| tables of ours | other guests | add a guest's 40 rules |"
echo "|---:|---:|---:|"
for k in 1 16; do
	for n in 0 "$tables"; do
		fresh_ns
		spread_world "$k" "$n" >"$DIR/world.nft"
		spread_guest "$k" 0 insert >"$DIR/sadd.nft"
		in_ns nft -f "$DIR/world.nft" || { echo "Bail out! loading the spread world failed"; exit 1; }
		in_ns hyperfine -N -w 3 -r "$RUNS" -p "bash $DIR/unspread.sh $DIR/sdel.nft" \
			"nft -f $DIR/sadd.nft" --export-json "$DIR/r.json" >/dev/null 2>&1 ||
			{ echo "Bail out! hyperfine failed (spread)"; exit 1; }
		echo "| $k | $n | $(median "$DIR/r.json") |"
	done
done
