# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# What the hostile-* cases share: tables and domain XML written to order, the hook run on a big
# input under an address-space limit, the hook's log since a mark, and the baselines their speed
# checks compare with. A case sources this file after run-case.sh has made its world.

# shellcheck disable=SC2034 # for the cases that source this file
HOSTILE_STATE=$VP_ROOT/run/virt-portfwd
HOSTILE_TABLE=$VP_ROOT/etc/virt-portfwd/forwards.conf
# A hook that hangs on hostile input is killed (vp_hook_env) instead of hanging the case.
# shellcheck disable=SC2034 # read by vp_hook_env
VP_HOOK_TIMEOUT=60

# hostile_table LINE...: the table, each argument one line.
hostile_table() {
	printf '%s\n' "$@" | vp_write_table
}

# hostile_check_unchanged WHEN: the ruleset is the starting dump (nothing of ours in it).
hostile_check_unchanged() {
	local snap=$VP_TMP/snap.now
	vp_snapshot "$snap"
	vp_check_same_file "$1: ruleset unchanged" "$VP_S0" "$snap"
}

# The hook's log since a mark: mark=$(vp_log_mark); ...; vp_log_since "$mark".

# Rules guest1 owns now.

# ---------------------------------------------------------------------------------------------
# Domain XML

hostile_xml_escape() {  # TEXT: XML character data (newlines and tabs as character references)
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

hostile_nic_xml() {  # MAC VNET: one NIC on network default
	printf "    <interface type='network'><mac address='%s'/>%s<target dev='%s'/></interface>\n" \
		"$1" "<source network='default' bridge='virbr0'/>" "$2"
}

# hostile_domain_xml NAME UUID [NICS-XML] [EXTRA-XML]: live domain XML on stdout; one NIC with
# guest1's MAC on network default unless NICS-XML is given. NAME may be anything: it is escaped.
hostile_domain_xml() {
	local nics=${3:-}
	[ -n "$nics" ] || nics=$(hostile_nic_xml "$VP_G1_MAC" vnet0)
	cat <<-EOF
	<domain type='qemu' id='7'>
	  <name>$(hostile_xml_escape "$1")</name>
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

# ---------------------------------------------------------------------------------------------
# The hook on a big input

# The address-space limit for the hook (KiB); none for an ASan build, which reserves terabytes
# of shadow memory up front.
HOSTILE_VM_LIMIT=1048576
if ldd "$VP_BIN" 2>/dev/null | grep -q libasan; then
	HOSTILE_VM_LIMIT=unlimited
	echo "# ASan build: the hook runs without an address-space limit"
fi
# Max resident memory of the hook, when GNU time is installed.
HOSTILE_MEASURE=()
[ -x /usr/bin/time ] && HOSTILE_MEASURE=(/usr/bin/time -f %M -o "$VP_TMP/rss")

# Max resident memory of the last hostile_hook_big in KiB, or "?" without GNU time.
hostile_rss() { if [ -s "$VP_TMP/rss" ]; then tail -n 1 "$VP_TMP/rss"; else echo "?"; fi; }

# hostile_hook_big FILE OP: guest1's hook OP with FILE on stdin under that limit, timed (VP_MS).
hostile_hook_big() {
	rm -f "$VP_TMP/rss"
	# shellcheck disable=SC2016 # expanded by the inner shell
	vp_timed ip netns exec "$VP_HOST" env VIRT_PORTFWD_ROOT="$VP_ROOT" \
		XTABLES_LOCKFILE="$VP_LOCK" \
		bash -c 'ulimit -v "$0" && exec "$@"' "$HOSTILE_VM_LIMIT" "${HOSTILE_MEASURE[@]}" \
		"$VP_ROOT/hooks/qemu" guest1 "$2" begin - <"$1" >>"$VP_TMP/hook.stdout" \
		2>>"$VP_TMP/hook.stderr"
}

# hostile_baseline big|hook: HOSTILE_BASE_MS, what a speed check compares with, measured through
# the harness the check times (hostile_hook_big, or vp_hook): guest1's started with its ordinary
# domain XML and a one-line table, best of 3, each followed by its stopped. Leaves that table.
hostile_baseline() {
	local i best=999999
	hostile_table "guest1 tcp 2222 22"
	for i in 1 2 3; do
		if [ "$1" = big ]; then
			hostile_hook_big "$VP_FIX/guest1.xml" started
		else
			vp_timed vp_hook guest1 started
		fi || vp_die "baseline $i: guest1 started failed"
		[ "$VP_MS" -lt "$best" ] && best=$VP_MS
		vp_hook guest1 stopped end || vp_die "baseline $i: guest1 stopped failed"
	done
	# shellcheck disable=SC2034 # for the case's speed checks
	HOSTILE_BASE_MS=$best
	echo "# measured: baseline, guest1 started through the $1 harness: $best ms"
}

# ---------------------------------------------------------------------------------------------
# A table not to be trusted

hostile_table_to() {  # FILE: guest1's one forward in FILE, root's, 0644
	echo "guest1 tcp 2222 22" >"$1" && chown 0:0 "$1" && chmod 0644 "$1"
}

# hostile_bad_table HOW: guest1's table made untrustworthy in one way (it holds the forward).
hostile_bad_table() {
	local dropin=$VP_ROOT/etc/virt-portfwd/forwards.d
	rm -rf "$HOSTILE_TABLE"
	case $1 in
	symlink)
		hostile_table_to "$VP_TMP/elsewhere.conf" &&
			ln -s "$VP_TMP/elsewhere.conf" "$HOSTILE_TABLE"
		;;
	directory) mkdir "$HOSTILE_TABLE" ;;
	fifo) mkfifo "$HOSTILE_TABLE" ;;
	world-writable) hostile_table_to "$HOSTILE_TABLE" && chmod 0666 "$HOSTILE_TABLE" ;;
	group-writable) hostile_table_to "$HOSTILE_TABLE" && chmod 0664 "$HOSTILE_TABLE" ;;
	not-root) hostile_table_to "$HOSTILE_TABLE" && chown 65534:65534 "$HOSTILE_TABLE" ;;
	dropin-writable)
		hostile_table_to "$HOSTILE_TABLE"
		mkdir -p "$HOSTILE_TABLE.d" "$dropin"
		echo "guest2 tcp 2322 22" >"$dropin/x.conf"
		chmod 0666 "$dropin/x.conf"
		;;
	dir-writable) hostile_table_to "$HOSTILE_TABLE" && chmod 0777 "${HOSTILE_TABLE%/*}" ;;
	dropin-dir-writable)
		hostile_table_to "$HOSTILE_TABLE"
		mkdir -p "$dropin" && chmod 0775 "$dropin"
		;;
	*) vp_die "hostile_bad_table: no way $1" ;;
	esac
}

# hostile_check_bad_table HOW (after hostile_baseline hook): guest1 running with its forward,
# the table turns untrustworthy in way HOW. Its stopped still removes everything, since removal
# never reads the table; its next started is refused quickly, with a reason in the log.
hostile_check_bad_table() {
	local k=$1 mark rc
	hostile_table "guest1 tcp 2222 22"
	vp_hook_ok guest1 started
	hostile_bad_table "$k"
	mark=$(vp_log_mark)
	vp_hook guest1 stopped end
	rc=$?
	vp_check_eq "table $k: stopped exits 0" "$rc" 0
	vp_check_eq "table $k: stopped still removes everything (removal never reads the table)" \
		"$(vp_g1_rules)" 0
	vp_timed vp_hook guest1 started
	rc=$?
	vp_check_eq "table $k: started exits 0" "$rc" 0
	vp_check_ratio "table $k: started returns in ms" "$VP_MS" "$HOSTILE_BASE_MS" 40
	vp_check_eq "table $k: started installs nothing" "$(vp_g1_rules)" 0
	vp_check "table $k: the log says the table is refused" \
		grep -q "refusing\|cannot open\|has errors" <(vp_log_since "$mark")
	vp_hook guest1 stopped end
	rm -rf "$HOSTILE_TABLE" "$VP_ROOT/etc/virt-portfwd/forwards.d" "$HOSTILE_TABLE.d"
	chmod 0755 "${HOSTILE_TABLE%/*}"
	hostile_table "guest1 tcp 2222 22"
}

# ---------------------------------------------------------------------------------------------
# Doors

# The table of the door cases: guest1 with TCP, a range and UDP, each open to all and (on other
# ports) only from=203.0.113.0/24; guest2 with two forwards of its own.
hostile_doors_table() {
	hostile_table "guest1 tcp 2222 22" "guest1 tcp 8080-8081 80-81" "guest1 udp 27015 27015" \
		"guest1 tcp 2223 22 from=203.0.113.0/24" \
		"guest1 tcp 8082-8083 82-83 from=203.0.113.0/24" \
		"guest1 udp 27016 27015 from=203.0.113.0/24" "guest2 tcp 2322 22" "guest2 tcp 8090 80"
}
