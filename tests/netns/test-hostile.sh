#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Hostile input through the real qemu hook, and no door left open. Domain XML of 50 and 70 MiB,
# with external entities, external DTDs and entity bombs, with 300 and 2000 NICs; domain names
# with spaces, quotes, newlines, shell and format metacharacters, non-ASCII, 200 characters;
# lease files with control characters; a table of 10 000 and of 100 001 lines, a table that is a
# symlink, a directory, a FIFO, writable by others, not root's; a state directory that is a
# symlink, open to others, or holds planted symlinks. Then the doors: a client routing straight
# to the guests, someone else's DNAT to a forwarded guest port, from= on every path, one guest's
# removal against another's rules, what the hook executes, which fds it opens without O_CLOEXEC.
# TAP on stdout; exit 1 on any failure, 77 when it cannot run here.
#
#   test-hostile.sh nft|legacy|nftables [vp-faultinj.so]

. "$(dirname "$(readlink -f "$0")")/lib.sh"

vp_init_kind "${1:-}"
vp_close_stray_fds
FAULTINJ=${2:-${VP_BUILDDIR:-.}/tests/netns/vp-faultinj.so}
[ -f "$FAULTINJ" ] || vp_die "the fault-injection library $FAULTINJ is missing (meson builds it)"
FAULTINJ=$(readlink -f "$FAULTINJ")
# An ASan build checks that its runtime is loaded first: the preloaded library comes first.
PRELOAD_ENV=("LD_PRELOAD=$FAULTINJ"
	"ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0")
SRC=$(readlink -f "$(dirname "$(readlink -f "$0")")/../..")

C=$VP_CLIENT
H=$VP_HOST
HA=$VP_HOST_ADDR
OUTSIDER=203.0.113.5
STATE=$VP_ROOT/run/virt-portfwd
TABLE=$VP_ROOT/etc/virt-portfwd/forwards.conf
VP_HOOK_TIMEOUT=60

stderr_mark() { wc -l <"$VP_TMP/hook.stderr"; }
stderr_since() { tail -n +"$(($1 + 1))" "$VP_TMP/hook.stderr"; }
g1_rules() { vp_count_owned "$VP_G1_UUID"; }

check_unchanged() {  # WHEN: the ruleset is S0 (nothing of ours)
	local snap=$VP_TMP/snap.now
	vp_snapshot "$snap"
	vp_check_same_file "$1: ruleset unchanged" "$S0" "$snap"
}

write_table() {  # LINES...: the table, each argument one line
	printf '%s\n' "$@" | vp_write_table
}

xml_escape() {  # TEXT: XML character data (newlines and tabs as character references)
	local s=$1
	# Quoted replacements: bash 5.2 would read a bare & as "the matched text".
	s=${s//&/'&amp;'}
	s=${s//</'&lt;'}
	s=${s//>/'&gt;'}
	s=${s//\"/'&quot;'}
	s=${s//\'/'&apos;'}
	s=${s//$'\n'/'&#10;'}
	s=${s//$'\t'/'&#9;'}
	printf '%s' "$s"
}

# domain_xml NAME UUID [NICS-XML] [EXTRA-XML]: live domain XML on stdout; one NIC with guest1's
# MAC on network default unless NICS-XML is given.
domain_xml() {
	local nics=${3:-}
	[ -n "$nics" ] || nics=$(nic_xml "$VP_G1_MAC" vnet0)
	cat <<-EOF
	<domain type='qemu' id='7'>
	  <name>$(xml_escape "$1")</name>
	  <uuid>$2</uuid>
	  <memory unit='KiB'>131072</memory>
	  <vcpu placement='static'>1</vcpu>
	  <os><type arch='x86_64' machine='pc-i440fx-7.2'>hvm</type></os>
	  ${4:-}
	  <devices>
	$nics
	  </devices>
	</domain>
	EOF
}

nic_xml() {  # MAC VNET
	printf "    <interface type='network'><mac address='%s'/>%s<target dev='%s'/></interface>\n" \
		"$1" "<source network='default' bridge='virbr0'/>" "$2"
}

# Max resident memory of the last measured hook in KiB, when GNU time is installed; else "?".
MEASURE=()
[ -x /usr/bin/time ] && MEASURE=(/usr/bin/time -f %M -o "$VP_TMP/rss")
last_rss() { if [ -s "$VP_TMP/rss" ]; then tail -n 1 "$VP_TMP/rss"; else echo "?"; fi; }

# The address-space limit for the hook (KiB); none for an ASan build, which reserves terabytes
# of shadow memory up front.
VM_LIMIT=1048576
if ldd "$VP_BIN" 2>/dev/null | grep -q libasan; then
	VM_LIMIT=unlimited
	echo "# ASan build: the hook runs without an address-space limit"
fi

# hook_big FILE OP: the hook with FILE on stdin under that limit, timed.
hook_big() {
	rm -f "$VP_TMP/rss"
	# shellcheck disable=SC2016 # expanded by the inner shell
	vp_timed ip netns exec "$H" env VIRT_PORTFWD_ROOT="$VP_ROOT" XTABLES_LOCKFILE="$VP_LOCK" \
		bash -c 'ulimit -v "$0" && exec "$@"' "$VM_LIMIT" "${MEASURE[@]}" \
		"$VP_ROOT/hooks/qemu" guest1 "$2" begin - <"$1" >>"$VP_TMP/hook.stdout" \
		2>>"$VP_TMP/hook.stderr"
}

# The baselines of every time this script checks, through the same harnesses: guest1's started
# with its ordinary domain XML and a one-line table, best of 3, each followed by its stopped.
# BASE_BIG_MS through hook_big, BASE_MS through vp_hook.
measure_baselines() {
	local i
	BASE_BIG_MS=999999
	BASE_MS=999999
	for i in 1 2 3; do
		hook_big "$VP_FIX/guest1.xml" started || vp_die "baseline: guest1 started failed"
		[ "$VP_MS" -lt "$BASE_BIG_MS" ] && BASE_BIG_MS=$VP_MS
		vp_hook guest1 stopped end || vp_die "baseline: guest1 stopped failed"
		vp_timed vp_hook guest1 started || vp_die "baseline: guest1 started failed"
		[ "$VP_MS" -lt "$BASE_MS" ] && BASE_MS=$VP_MS
		vp_hook guest1 stopped end || vp_die "baseline: guest1 stopped failed"
	done
	echo "# measured: baseline, guest1 started: $BASE_BIG_MS ms (hook_big), $BASE_MS ms (vp_hook)"
}

# ---------------------------------------------------------------------------------------------
# 1. Domain XML on stdin.

check_big_xml() {
	local f=$VP_TMP/big.xml rc mark
	write_table "guest1 tcp 2222 22"
	# 50 MiB, a well-formed domain for guest1 whose <description> carries the bulk.
	domain_xml guest1 "$VP_G1_UUID" "" "<description>PAD</description>" >"$f.tpl"
	{
		sed -n '1,/PAD/p' "$f.tpl" | sed 's|PAD</description>||'
		head -c $((50 << 20)) /dev/zero | tr '\0' x
		echo "</description>"
		sed -n '/PAD/,$p' "$f.tpl" | sed 1d
	} >"$f"
	mark=$(stderr_mark)
	hook_big "$f" started
	rc=$?
	echo "# measured: 50 MiB domain XML: ${VP_MS} ms, max RSS $(last_rss) KiB, $(stat -c %s "$f") bytes"
	vp_check_eq "domain XML of 50 MiB: exit 0" "$rc" 0
	vp_check_ratio "domain XML of 50 MiB: done in ms, under 1 GiB of address space" "$VP_MS" \
		"$BASE_BIG_MS" 200
	vp_check_eq "domain XML of 50 MiB: guest1's forward is installed exactly (4 rules)" \
		"$(g1_rules)" 4
	vp_check_eq "domain XML of 50 MiB: 2222 reaches guest1" "$(vp_tcp_get "$C" "$HA" 2222)" guest1
	vp_hook_ok guest1 stopped end
	# 70 MiB: over the 64 MiB bound on stdin.
	head -c $((70 << 20)) /dev/zero | tr '\0' ' ' >>"$f"
	mark=$(stderr_mark)
	hook_big "$f" started
	rc=$?
	echo "# measured: 120 MiB domain XML: ${VP_MS} ms, max RSS $(last_rss) KiB"
	vp_check_eq "domain XML of 120 MiB: exit 0" "$rc" 0
	vp_check_ratio "domain XML of 120 MiB: refused in ms" "$VP_MS" "$BASE_BIG_MS" 80
	vp_check "domain XML of 120 MiB: the log says it is too large" \
		grep -q "cannot read the domain XML on stdin: File too large" <(stderr_since "$mark")
	check_unchanged "domain XML of 120 MiB"
	# 50 MiB of elements: the element bound stops the parser early.
	{
		sed -n '1,/PAD/p' "$f.tpl" | sed 's|<description>PAD</description>|<metadata>|'
		yes '<x/>' | head -c $((50 << 20))
		echo "</metadata>"
		sed -n '/PAD/,$p' "$f.tpl" | sed 1d
	} >"$f"
	hook_big "$f" started
	rc=$?
	echo "# measured: 50 MiB of elements: ${VP_MS} ms, max RSS $(last_rss) KiB"
	vp_check_eq "domain XML of 10 million elements: exit 0" "$rc" 0
	vp_check_ratio "domain XML of 10 million elements: done in ms" "$VP_MS" "$BASE_BIG_MS" 200
	check_unchanged "domain XML of 10 million elements (refused)"
	rm -f "$f" "$f.tpl"
}

check_entities() {
	local f=$VP_TMP/xxe.xml fifo=$VP_TMP/secret.fifo rc k opened=0 hits=$VP_TMP/xxe.hits body refs i
	write_table "guest1 tcp 2222 22"
	# Tripwires: a listener in the client namespace (reachable from the host), and a FIFO whose
	# opening for reading is noticed by its writer.
	vp_bg "$C" socat TCP-LISTEN:8081,fork,reuseaddr SYSTEM:"echo hit >>$hits"
	mkfifo "$fifo"
	bash -c 'echo secret >"$1" && touch "$1.opened"' _ "$fifo" &
	VP_PIDS+=("$!")
	for _ in $(seq 50); do
		ip netns exec "$H" socat -T 1 /dev/null "TCP:$VP_CLIENT_ADDR:8081,connect-timeout=1" \
			2>/dev/null && break
		sleep 0.1
	done
	sleep 0.3
	rm -f "$hits"
	for k in external-entity external-dtd parameter-entity billion-laughs quadratic; do
		refs=
		case $k in
		external-entity)
			body="<!DOCTYPE domain [<!ENTITY xf SYSTEM \"file://$fifo\"><!ENTITY xh SYSTEM \"http://$VP_CLIENT_ADDR:8081/e\">]>"
			refs='&xf;&xh;'
			;;
		external-dtd) body="<!DOCTYPE domain SYSTEM \"http://$VP_CLIENT_ADDR:8081/evil.dtd\">" ;;
		parameter-entity) body="<!DOCTYPE domain [<!ENTITY % p SYSTEM \"http://$VP_CLIENT_ADDR:8081/p.dtd\"> %p; <!ENTITY % f SYSTEM \"file://$fifo\"> %f;]>" ;;
		billion-laughs)
			body='<!DOCTYPE domain [<!ENTITY a0 "lol">'
			for i in 1 2 3 4 5 6 7 8 9; do
				body="$body<!ENTITY a$i \"$(printf "&a$((i - 1));%.0s" 1 2 3 4 5 6 7 8 9 10)\">"
			done
			body="$body]>"
			refs='&a9;'
			;;
		quadratic)
			body="<!DOCTYPE domain [<!ENTITY q \"$(head -c 100000 /dev/zero | tr '\0' q)\">]>"
			refs=$(printf '&q;%.0s' $(seq 2000))
			;;
		esac
		{
			echo "$body"
			domain_xml guest1 "$VP_G1_UUID" "" "<description>$refs</description>"
		} >"$f"
		hook_big "$f" started
		rc=$?
		vp_check_eq "domain XML with $k: exit 0" "$rc" 0
		vp_check_ratio "domain XML with $k: done in ms (max RSS $(last_rss) KiB)" "$VP_MS" \
			"$BASE_BIG_MS" 80
		vp_check_eq "domain XML with $k: refused, nothing installed" "$(g1_rules)" 0
	done
	sleep 0.5
	[ -e "$fifo.opened" ] && opened=1
	vp_check_eq "external entities: the FIFO named by them was never opened" "$opened" 0
	vp_check_eq "external entities: no connection to $VP_CLIENT_ADDR:8081 was made" \
		"$(cat "$hits" 2>/dev/null)" ""
	check_unchanged "XML with DTDs and entities"
}

check_nics() {
	local nics='' i rc f=$VP_TMP/nics.xml
	for i in $(seq 1 299); do
		nics="$nics$(nic_xml "$(printf '52:54:00:01:%02x:%02x' $((i / 256)) $((i % 256)))" "vn$i")
"
	done
	nics="$nics$(nic_xml "$VP_G1_MAC" vnet0)"
	domain_xml guest1 "$VP_G1_UUID" "$nics" >"$f"
	write_table "guest1 tcp 2222 22 nic=$VP_G1_MAC"
	hook_big "$f" started
	rc=$?
	vp_check_eq "300 NICs: exit 0" "$rc" 0
	vp_check_ratio "300 NICs: done in ms" "$VP_MS" "$BASE_BIG_MS" 40
	vp_check_eq "300 NICs: nic= picks the 300th, 2222 reaches guest1" \
		"$(vp_tcp_get "$C" "$HA" 2222)" guest1
	vp_check_eq "300 NICs: exactly guest1's 4 rules" "$(g1_rules)" 4
	hook_big "$f" stopped
	for i in $(seq 300 1999); do
		nics="$nics
$(nic_xml "$(printf '52:54:00:02:%02x:%02x' $((i / 256)) $((i % 256)))" "vn$i")"
	done
	domain_xml guest1 "$VP_G1_UUID" "$nics" >"$f"
	hook_big "$f" started
	rc=$?
	vp_check_eq "2000 NICs (over the bound of 1024): exit 0" "$rc" 0
	vp_check_ratio "2000 NICs: done in ms" "$VP_MS" "$BASE_BIG_MS" 40
	check_unchanged "2000 NICs (refused)"
}

# ---------------------------------------------------------------------------------------------
# 2. Domain names.

NAMES=(
	"web server \"prod\" 'x' & <y>"
	$'line one\nvirt-portfwd: FORGED log line'
	"gäst-ü-日本-🚀"
	"$(printf 'a%.0s' $(seq 199))1"
	"$(printf 'a%.0s' $(seq 199))2"
	"\$(touch /tmp/vp-pwned-$$);\`touch /tmp/vp-pwned-$$\`|x"
	"%s%s%n%x%p"
	"-j ACCEPT --comment x"
	$'tab\there'
)
name_uuid() { printf 'c0ffee00-0000-4000-8000-0000000002%02d' "$1"; }

check_names() {
	local i n=${#NAMES[@]} lines=() bad='' rules s0=$VP_TMP/snap.names saved want
	for ((i = 0; i < n; i++)); do
		domain_xml "${NAMES[$i]}" "$(name_uuid "$i")" >"$VP_FIX/n$i.xml"
		vp_write_status "n$i"
		lines+=("$(name_uuid "$i") tcp $((3100 + i)) 22 ip=$VP_G1_IP")
	done
	# By name where a name is one token of the table: non-ASCII, and the two long ones.
	lines+=("${NAMES[2]} tcp 3200 22 ip=$VP_G1_IP" "${NAMES[3]} tcp 3203 22 ip=$VP_G1_IP"
		"${NAMES[4]} tcp 3204 22 ip=$VP_G1_IP")
	write_table "${lines[@]}"
	for ((i = 0; i < n; i++)); do
		vp_hook_env "n$i" started begin || bad="$bad n$i"
	done
	vp_check_eq "hostile names: every started exited 0" "$bad" ""
	bad=
	for ((i = 0; i < n; i++)); do
		[ "$(vp_tcp_get "$C" "$HA" $((3100 + i)))" = guest1 ] || bad="$bad $((3100 + i))"
	done
	for i in 3200 3203 3204; do
		[ "$(vp_tcp_get "$C" "$HA" $i)" = guest1 ] || bad="$bad $i"
	done
	vp_check_eq "hostile names: every forward reaches guest1 (none lost to a collision)" "$bad" ""
	bad=
	for ((i = 0; i < n; i++)); do
		# Named twice: two forwards to guest port 22 share one hairpin rule.
		case $i in 2 | 3 | 4) want=7 ;; *) want=4 ;; esac
		[ "$(vp_count_owned "$(name_uuid "$i")")" = "$want" ] || bad="$bad n$i"
	done
	vp_check_eq "hostile names: each guest owns exactly its rules (4, or 7 when named twice)" \
		"$bad" ""
	rules=$(vp_ruleset_raw 2>/dev/null)
	vp_check_eq "hostile names: no part of any name made it into a rule" \
		"$(grep -c -e FORGED -e 'gäst' -e aaaaaaaaaa -e pwned -e prod -e '%n' <<<"$rules")" 0
	vp_check_eq "hostile names: the shell metacharacters ran nothing" \
		"$(ls /tmp/vp-pwned-$$ 2>/dev/null)" ""
	vp_check_eq "hostile names: a newline in a name cannot forge a log line" \
		"$(grep -c '^virt-portfwd: FORGED' "$VP_TMP/hook.stderr")" 0
	vp_check_eq "hostile names: the state file of the newline name is 4 lines" \
		"$(wc -l <"$STATE/$(name_uuid 1)")" 4
	vp_check "hostile names: status lists them, exit 0" vp_quiet vp_cli_env -- status
	# One of the two long names that differ only in their last character goes; the other stays.
	vp_snapshot "$s0"
	saved=$(vp_rules_owned "$(name_uuid 4)")
	vp_hook_env n3 stopped end
	vp_check_eq "long names: stopping ...1 leaves ...2's rules as they were" \
		"$(vp_rules_owned "$(name_uuid 4)")" "$saved"
	vp_check_eq "long names: ...1 has no rule left" "$(vp_count_owned "$(name_uuid 3)")" 0
	vp_check_eq "long names: 3204 still reaches guest1" "$(vp_tcp_get "$C" "$HA" 3204)" guest1
	vp_check_eq "long names: 3203 is closed" "$(vp_tcp_get "$C" "$HA" 3203)" ""
	for ((i = 0; i < n; i++)); do
		vp_hook_env "n$i" stopped end
		rm -f "$VP_ROOT/run/libvirt/qemu/n$i.xml"
	done
	check_unchanged "hostile names, all stopped"
}

# ---------------------------------------------------------------------------------------------
# 3. Lease files with control characters and junk entries.

check_lease_junk() {
	local exp leases=$VP_ROOT/var/lib/libvirt/dnsmasq/virbr0.status mark
	exp=$(($(date +%s) + 3600))
	cat >"$leases" <<-EOF
	[
	  {"ip-address": "not an address", "mac-address": "$VP_G1_MAC", "expiry-time": $((exp + 99))},
	  {"ip-address": "192.168.122.77", "mac-address": "$VP_G1_MAC\u0000x", "expiry-time": $((exp + 99))},
	  {"ip-address": 12, "mac-address": ["x"], "hostname": {"a": [1, 2]}, "expiry-time": "soon"},
	  "a string", 42, null, [],
	  {"ip-address": "$VP_G1_IP", "mac-address": "$VP_G1_MAC",
	   "hostname": "\u001b]0;owned\u0007\u001b[2J\u001b[31m\r\nvirt-portfwd: FORGED \u0000",
	   "client-id": "\u0000\u0001\u00ff\ud800", "expiry-time": $exp},
	  {"ip-address": "$VP_G2_IP", "mac-address": "$VP_G2_MAC", "hostname": "$(head -c 100000 /dev/zero | tr '\0' h)", "expiry-time": $exp}
	]
	EOF
	write_table "guest1 tcp 2222 22" "guest2 tcp 2322 22"
	mark=$(stderr_mark)
	vp_hook_ok guest1 started
	vp_hook_ok guest2 started
	vp_check_eq "lease junk: guest1's forward uses its one good lease" \
		"$(vp_tcp_get "$C" "$HA" 2222)" guest1
	vp_check_eq "lease junk: guest2's lease with a 100 000-byte hostname works" \
		"$(vp_tcp_get "$C" "$HA" 2322)" guest2
	vp_check_eq "lease junk: no control character of a hostname reaches the log" \
		"$(stderr_since "$mark" | tr -d '\n\t' | LC_ALL=C grep -c '[[:cntrl:]]')" 0
	vp_check_eq "lease junk: no hostname text reaches the log" \
		"$(stderr_since "$mark" | grep -c -e FORGED -e owned -e hhhhhhhh)" 0
	vp_hook_ok guest1 stopped end
	vp_hook_ok guest2 stopped end
	vp_write_leases "$VP_G1_MAC=$VP_G1_IP" "$VP_G2_MAC=$VP_G2_IP"
	check_unchanged "lease junk, stopped"
}

# ---------------------------------------------------------------------------------------------
# 4. Tables: large, over the bounds, and not to be trusted.

check_big_table() {
	local mark rc i
	{
		for i in $(seq 1 9999); do printf 'g%04d tcp %d 22\n' "$i" $((10000 + i)); done
		echo "guest1 tcp 2222 22"
	} | vp_write_table
	vp_timed vp_cli_env -- check >/dev/null
	rc=$?
	vp_check_eq "table of 10 000 lines: check exits 0" "$rc" 0
	echo "# measured: table of 10 000 lines: check ${VP_MS} ms"
	vp_timed vp_hook guest1 started
	echo "# measured: table of 10 000 lines: started ${VP_MS} ms (ip netns exec included)"
	vp_check_ratio "table of 10 000 lines: started in ms" "$VP_MS" "$BASE_MS" 40
	vp_check_eq "table of 10 000 lines: guest1's forward, 4 rules" "$(g1_rules)" 4
	vp_check_eq "table of 10 000 lines: 2222 reaches guest1" "$(vp_tcp_get "$C" "$HA" 2222)" guest1
	vp_timed vp_hook guest2 started
	vp_check_ratio "table of 10 000 lines: a guest not in it returns in ms" "$VP_MS" "$BASE_MS" 20
	vp_hook_ok guest1 stopped end
	check_unchanged "table of 10 000 lines, stopped"
	{
		echo "guest1 tcp 2222 22"
		for i in $(seq 1 100000); do echo "# comment line $i"; done
	} | vp_write_table
	mark=$(stderr_mark)
	vp_hook guest1 started
	rc=$?
	vp_check_eq "table of 100 001 lines (over the bound): exit 0" "$rc" 0
	vp_check_eq "table of 100 001 lines: nothing applied" "$(g1_rules)" 0
	vp_check "table of 100 001 lines: the log says why" \
		grep -q "forwards.conf.*lines\|too many lines" <(stderr_since "$mark")
}

# Make the table untrustworthy in one way; restore_table puts the good one back.
bad_table() {  # KIND
	rm -rf "$TABLE"
	case $1 in
	symlink) write_table_to "$VP_TMP/elsewhere.conf" && ln -s "$VP_TMP/elsewhere.conf" "$TABLE" ;;
	directory) mkdir "$TABLE" ;;
	fifo) mkfifo "$TABLE" ;;
	world-writable) write_table_to "$TABLE" && chmod 0666 "$TABLE" ;;
	group-writable) write_table_to "$TABLE" && chmod 0664 "$TABLE" ;;
	not-root) write_table_to "$TABLE" && chown 65534:65534 "$TABLE" ;;
	dropin-writable)
		write_table_to "$TABLE"
		mkdir -p "$TABLE.d" "$VP_ROOT/etc/virt-portfwd/forwards.d"
		echo "guest2 tcp 2322 22" >"$VP_ROOT/etc/virt-portfwd/forwards.d/x.conf"
		chmod 0666 "$VP_ROOT/etc/virt-portfwd/forwards.d/x.conf"
		;;
	esac
}

write_table_to() {  # FILE
	echo "guest1 tcp 2222 22" >"$1" && chown 0:0 "$1" && chmod 0644 "$1"
}

check_bad_tables() {
	local k mark rc
	for k in symlink directory fifo world-writable group-writable not-root dropin-writable; do
		write_table "guest1 tcp 2222 22"
		vp_hook_ok guest1 started
		bad_table "$k"
		mark=$(stderr_mark)
		vp_hook guest1 stopped end
		rc=$?
		vp_check_eq "table $k: stopped exits 0" "$rc" 0
		vp_check_eq "table $k: stopped still removes everything (removal never reads the table)" \
			"$(g1_rules)" 0
		vp_timed vp_hook guest1 started
		rc=$?
		vp_check_eq "table $k: started exits 0" "$rc" 0
		vp_check_ratio "table $k: started returns in ms" "$VP_MS" "$BASE_MS" 40
		vp_check_eq "table $k: started installs nothing" "$(g1_rules)" 0
		vp_check "table $k: the log says the table is refused" \
			grep -q "refusing\|cannot open\|has errors" <(stderr_since "$mark")
		vp_hook guest1 stopped end
		rm -rf "$TABLE" "$VP_ROOT/etc/virt-portfwd/forwards.d" "$TABLE.d"
	done
	write_table "guest1 tcp 2222 22"
	check_unchanged "untrusted tables"
}

# ---------------------------------------------------------------------------------------------
# 5. No door left open.

udp_get_from() {  # NS ADDR PORT SRC: vp_udp_get from source address SRC
	local reply _
	for _ in 1 2 3; do
		reply=$(echo ping | ip netns exec "$1" timeout 4 socat -T 2 - "UDP:$2:$3,bind=$4" \
			2>/dev/null | head -n 1)
		[ -n "$reply" ] && break
	done
	printf '%s\n' "$reply"
}

add_foreign_dnat() {  # a DNAT of someone else's: host port 9999 -> guest1:22, no accept
	if [ "$VP_KIND" = nftables ]; then
		vp_h nft -f - <<-EOF
		table ip vp_foreign {
			chain pre {
				type nat hook prerouting priority dstnat; policy accept;
				tcp dport 9999 dnat to $VP_G1_IP:22
			}
		}
		EOF
	else
		vp_h "$IPT" -w -t nat -I PREROUTING -p tcp --dport 9999 -j DNAT \
			--to-destination "$VP_G1_IP:22"
	fi
}

del_foreign_dnat() {
	if [ "$VP_KIND" = nftables ]; then
		vp_h nft delete table ip vp_foreign
	else
		vp_h "$IPT" -w -t nat -D PREROUTING -p tcp --dport 9999 -j DNAT \
			--to-destination "$VP_G1_IP:22"
	fi
}

check_doors() {
	local g2 s
	write_table "guest1 tcp 2222 22" "guest1 tcp 8080-8081 80-81" "guest1 udp 27015 27015" \
		"guest1 tcp 2223 22 from=203.0.113.0/24" "guest1 tcp 8082-8083 82-83 from=203.0.113.0/24" \
		"guest1 udp 27016 27015 from=203.0.113.0/24" "guest2 tcp 2322 22" "guest2 tcp 8090 80"
	vp_hook_ok guest1 started
	vp_hook_ok guest2 started
	vp_check_eq "forwarded: 2222 reaches guest1" "$(vp_tcp_get "$C" "$HA" 2222)" guest1
	vp_check_eq "door: client -> $VP_G1_IP:22 routed straight is refused" \
		"$(vp_tcp_get "$C" "$VP_G1_IP" 22; vp_tcp_error)" refused
	vp_check_eq "door: client -> $VP_G1_IP:80 (a range's target) routed straight is refused" \
		"$(vp_tcp_get "$C" "$VP_G1_IP" 80; vp_tcp_error)" refused
	vp_check_eq "door: client -> $VP_G1_IP udp 27015 routed straight gets no answer" \
		"$(vp_udp_get "$C" "$VP_G1_IP" 27015)" ""
	vp_check_eq "door: from $OUTSIDER (in every from=) straight to $VP_G1_IP:22 is refused" \
		"$(vp_tcp_get "$C" "$VP_G1_IP" 22 "$OUTSIDER"; vp_tcp_error)" refused
	add_foreign_dnat || vp_die "cannot add the foreign DNAT"
	vp_check_eq "door: someone else's DNAT 9999 -> guest1:22 is not accepted by our rules" \
		"$(vp_tcp_get "$C" "$HA" 9999; vp_tcp_error)" refused
	del_foreign_dnat
	# from= on every path: client, hairpin, host-local; TCP, a range, UDP.
	vp_check_eq "from=: 2223 refused to the client 198.51.100.2" "$(vp_tcp_get "$C" "$HA" 2223)" ""
	vp_check_eq "from=: 2223 open to $OUTSIDER" "$(vp_tcp_get "$C" "$HA" 2223 "$OUTSIDER")" guest1
	vp_check_eq "from=: 2223 refused to guest2 through the host address (hairpin)" \
		"$(vp_tcp_get "$VP_GUEST2" "$HA" 2223)" ""
	vp_check_eq "from=: 2223 refused to the host itself" "$(vp_tcp_get "$H" "$HA" 2223)" ""
	vp_check_eq "from=: range 8083 refused to the client" "$(vp_tcp_get "$C" "$HA" 8083)" ""
	vp_check_eq "from=: range 8083 -> guest1:83 open to $OUTSIDER" \
		"$(vp_tcp_get "$C" "$HA" 8083 "$OUTSIDER")" "guest1 port 83"
	vp_check_eq "from=: udp 27016 gets no answer for the client" "$(vp_udp_get "$C" "$HA" 27016)" ""
	vp_check_eq "from=: udp 27016 answers $OUTSIDER" \
		"$(udp_get_from "$C" "$HA" 27016 "$OUTSIDER")" guest1
	# One guest's removal against the other's rules.
	g2=$(vp_rules_owned "$VP_G2_UUID")
	vp_hook_ok guest1 stopped end
	vp_check_eq "guest1 stopped: guest2's rules are exactly as before" \
		"$(vp_rules_owned "$VP_G2_UUID")" "$g2"
	vp_check_eq "guest1 stopped: 2322 still reaches guest2" "$(vp_tcp_get "$C" "$HA" 2322)" guest2
	vp_check_eq "guest1 stopped: 2222 closed" "$(vp_tcp_get "$C" "$HA" 2222)" ""
	vp_hook_ok guest1 started
	s=$(vp_rules_owned "$VP_G1_UUID")
	vp_hook_ok guest2 stopped end
	vp_check_eq "guest2 stopped: guest1's rules are exactly as before" \
		"$(vp_rules_owned "$VP_G1_UUID")" "$s"
	vp_check_eq "guest2 stopped: 2222 still reaches guest1" "$(vp_tcp_get "$C" "$HA" 2222)" guest1
	vp_hook_ok guest1 stopped end
	check_unchanged "doors, both stopped"
}

# What the hook runs: only firewall tools and its own lease waiter; never a shell.
check_no_shell() {
	local log=$VP_TMP/exec.log bad strace_log=$VP_TMP/strace.log op cmd
	write_table "guest1 tcp 2222 22" "guest2 tcp 2322 22"
	vp_write_status guest1
	for op in started reconnect stopped; do
		vp_hook_env guest1 "$op" begin "${PRELOAD_ENV[@]}" "VP_FAULT_EXECLOG=$log"
	done
	# A guest without a lease yet: its waiter is spawned too.
	vp_write_leases "$VP_G1_MAC=$VP_G1_IP"
	vp_hook_env guest2 started begin "${PRELOAD_ENV[@]}" "VP_FAULT_EXECLOG=$log"
	vp_hook_env guest2 stopped end "${PRELOAD_ENV[@]}" "VP_FAULT_EXECLOG=$log"
	vp_write_leases "$VP_G1_MAC=$VP_G1_IP" "$VP_G2_MAC=$VP_G2_IP"
	for cmd in apply status flush; do
		vp_cli_env "${PRELOAD_ENV[@]}" "VP_FAULT_EXECLOG=$log" -- "$cmd" >/dev/null
	done
	rm -f "$VP_ROOT/run/libvirt/qemu/guest1.xml"
	echo "# programs the hook and the CLI asked libc to run:"
	awk '{ print $1, $2 }' "$log" 2>/dev/null | sort | uniq -c | sed 's/^/#   /'
	bad=$(grep -v -E '^posix_spawnp? ([^ ]*/)?(ip6?tables(-nft|-legacy)?(-save|-restore)?|/proc/self/exe) ' \
		"$log" 2>/dev/null)
	vp_check_eq "exec log: only iptables tools and the lease waiter, no shell, no system/popen" "$bad" ""
	vp_check "exec log: the waiter was among them (the log works)" grep -q "/proc/self/exe" "$log"
	if command -v strace >/dev/null; then
		vp_write_status guest1
		ip netns exec "$H" env VIRT_PORTFWD_ROOT="$VP_ROOT" XTABLES_LOCKFILE="$VP_LOCK" \
			strace -f -qq -e trace=execve -e signal=none -o "$strace_log" \
			"$VP_ROOT/hooks/qemu" guest1 started begin - <"$VP_FIX/guest1.xml" 2>/dev/null
		ip netns exec "$H" env VIRT_PORTFWD_ROOT="$VP_ROOT" XTABLES_LOCKFILE="$VP_LOCK" \
			strace -f -qq -e trace=execve -e signal=none -o "$strace_log.2" \
			"$VP_ROOT/hooks/qemu" guest1 stopped end - <"$VP_FIX/guest1.xml" 2>/dev/null
		rm -f "$VP_ROOT/run/libvirt/qemu/guest1.xml"
		bad=$(cat "$strace_log" "$strace_log.2" | sed -n 's/.*execve("\([^"]*\)".*/\1/p' |
			grep -v -E "^($VP_ROOT/hooks/qemu|/proc/self/exe|.*/ip6?tables(-nft|-legacy)?(-save|-restore)?)$")
		vp_check_eq "strace: every execve of started and stopped is the hook or an iptables tool" \
			"$bad" ""
	else
		vp_ok "strace: every execve is the hook or an iptables tool # SKIP strace not installed"
	fi
	bad=$(grep -n -E '\b(system|popen|execl|execlp|execle|wordexp)\s*\(|"/bin/(ba|da)?sh"|"sh", *"-c"' \
		"$SRC"/lib/*.c "$SRC"/hook/*.c)
	vp_check_eq "source: no system(), popen(), exec of a shell in lib/ and hook/" "$bad" ""
	check_unchanged "no shell"
}

# Every call in lib/ and hook/ that makes an fd asks for O_CLOEXEC; the calls that cannot ask
# (dup, pipe, fopen without "e", mkstemp, ...) are not used at all; dup2 only onto stdio.
check_cloexec_source() {
	local bad
	bad=$(awk '
		FNR == 1 { on = 0 }
		# (^|[^[:alnum:]_]) is the word start: mawk has no \<.
		/(^|[^[:alnum:]_])(open|openat|dup3|pipe2|socket|accept4|inotify_init1|memfd_create|epoll_create1|eventfd|signalfd|timerfd_create|fcntl)\(/ {
			on = 1; stmt = ""; at = FILENAME ":" FNR
		}
		/(^|[^[:alnum:]_])(dup|pipe|accept|inotify_init|creat|fopen|fdopen|epoll_create|mkstemp|mkstemps|tmpfile)\(/ {
			print FILENAME ":" FNR ": " $0
		}
		/(^|[^[:alnum:]_])dup2\(/ && !/dup2\([^,]*, *(STDIN_FILENO|STDOUT_FILENO|STDERR_FILENO|[012])\)/ {
			print FILENAME ":" FNR ": " $0
		}
		on {
			stmt = stmt $0
			if ($0 ~ /;/) {
				on = 0
				if (stmt ~ /fcntl\(/ && stmt !~ /F_DUPFD/) next
				if (stmt !~ /CLOEXEC/) print at ": " stmt
			}
		}
	' "$SRC"/lib/*.c "$SRC"/hook/*.c)
	vp_check_eq "source: every fd made in lib/ and hook/ is O_CLOEXEC (dup2 onto stdio aside)" \
		"$bad" ""
}

# The state directory: 0700, root's, never followed through a symlink, planted symlinks inert.
check_state_dir() {
	local rc mark victim=$VP_TMP/victim attacker=$VP_TMP/attacker k
	write_table "guest1 tcp 2222 22"
	vp_hook_ok guest1 started
	vp_check_eq "state directory: mode 700, owner root" "$(stat -c '%a %U' "$STATE")" "700 root"
	vp_check_eq "state file and lock: mode 600" \
		"$(stat -c '%a' "$STATE/$VP_G1_UUID" "$STATE/lock" | sort -u)" 600
	vp_hook_ok guest1 stopped end
	echo precious >"$victim"
	mkdir -m 0700 "$attacker"
	for k in symlink mode-755 not-root; do
		mark=$(stderr_mark)
		case $k in
		symlink) mv "$STATE" "$STATE.real" && ln -s "$attacker" "$STATE" ;;
		mode-755) chmod 0755 "$STATE" ;;
		not-root) chown 65534 "$STATE" ;;
		esac
		vp_hook guest1 started
		rc=$?
		vp_check_eq "state directory $k: exit 0" "$rc" 0
		vp_check_eq "state directory $k: refused, nothing installed" "$(g1_rules)" 0
		vp_check "state directory $k: the log names it" \
			grep -q "state directory" <(stderr_since "$mark")
		case $k in
		symlink) rm "$STATE" && mv "$STATE.real" "$STATE" ;;
		mode-755) chmod 0700 "$STATE" ;;
		not-root) chown 0 "$STATE" ;;
		esac
	done
	vp_check_eq "state directory symlink: nothing was written where it pointed" \
		"$(ls -A "$attacker")" ""
	# Symlinks planted inside it: written over, never through.
	ln -s "$victim" "$STATE/$VP_G1_UUID"
	vp_hook_ok guest1 started
	vp_check_eq "planted symlink as the state file: 2222 reaches guest1" \
		"$(vp_tcp_get "$C" "$HA" 2222)" guest1
	vp_check "planted symlink as the state file: replaced by a regular file" \
		test -f "$STATE/$VP_G1_UUID" -a ! -L "$STATE/$VP_G1_UUID"
	vp_hook_ok guest1 stopped end
	for k in ".$VP_G1_UUID.tmp" lock; do
		rm -f "$STATE/$k"
		ln -s "$victim" "$STATE/$k"
		vp_hook guest1 started
		vp_check_eq "planted symlink $k: nothing installed through it" "$(g1_rules)" 0
		vp_hook guest1 stopped end
		rm -f "$STATE/$k"
	done
	vp_check_eq "planted symlinks: the file they point to is untouched" "$(cat "$victim")" precious
	check_unchanged "state directory"
}

# ---------------------------------------------------------------------------------------------

vp_world
vp_load_libvirt_rules_kind
vp_fixture_init
# shellcheck disable=SC2119 # no static hosts
vp_write_network_kind
vp_write_leases "$VP_G1_MAC=$VP_G1_IP" "$VP_G2_MAC=$VP_G2_IP"
vp_write_domain guest1 "$VP_G1_UUID" "$VP_G1_MAC" vnet0
vp_write_domain guest2 "$VP_G2_UUID" "$VP_G2_MAC" vnet1
write_table "guest1 tcp 2222 22"
ip -n "$C" addr add "$OUTSIDER/32" dev lan0 || vp_die "cannot add $OUTSIDER"
ip -n "$H" route add 203.0.113.0/24 via "$VP_CLIENT_ADDR" || vp_die "cannot route 203.0.113.0/24"
echo "# host kind $VP_KIND, hook $VP_BIN"
S0=$VP_TMP/snap.0
vp_snapshot "$S0"
measure_baselines

check_big_xml
check_entities
check_nics
check_names
check_lease_junk
check_big_table
check_bad_tables
check_doors
check_no_shell
check_cloexec_source
check_state_dir
vp_check_eq "end: nothing on stdout from any hook" "$(stat -c %s "$VP_TMP/hook.stdout")" 0
vp_finish
