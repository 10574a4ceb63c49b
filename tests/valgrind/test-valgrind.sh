#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The hook binary's main paths under valgrind: no invalid read or write, no use of an
# uninitialised value, no definite leak. Each run also checks the program's own result, so a
# path that silently went elsewhere (a refused table, say) does not pass as "clean".
#
#   CLI:  check on a good and a bad table; --dry-run install from a fixture tree
#   hook: an unconfigured guest; a bad table; install, reconnect and remove for real in a
#         private network namespace (iptables-nft), the processes the hook forks included
#
# The hook's table must be owned by root, and the real install needs a network namespace: those
# parts run as root only (SKIP otherwise). TAP output; VP_BIN is the built virt-portfwd.
set -u

TESTNUM=0
FAILED=0
TMP=
NS=

ok() { TESTNUM=$((TESTNUM + 1)); echo "ok $TESTNUM - $1"; }
skip() { TESTNUM=$((TESTNUM + 1)); echo "ok $TESTNUM - $1 # SKIP $2"; }
not_ok() {
	TESTNUM=$((TESTNUM + 1))
	FAILED=$((FAILED + 1))
	echo "not ok $TESTNUM - $1"
	shift
	local f
	for f in "$@"; do
		[ -s "$f" ] && sed 's/^/#   /' "$f"
	done
}
bail() { echo "Bail out! $*"; exit 1; }

cleanup() {
	[ -z "$NS" ] || ip netns del "$NS" 2>/dev/null
	[ -z "$TMP" ] || rm -rf "$TMP"
}

[ -n "${VP_BIN:-}" ] || bail "VP_BIN is not set (meson test sets it, or give the built binary)"
[ -x "$VP_BIN" ] || bail "VP_BIN=$VP_BIN is not executable"
VP_BIN=$(readlink -f "$VP_BIN")
if ! command -v valgrind >/dev/null 2>&1; then
	echo "1..0 # SKIP valgrind is not installed"
	exit 77
fi
PATH=$PATH:/usr/sbin:/sbin
IS_ROOT=0
[ "$(id -u)" -eq 0 ] && IS_ROOT=1

trap cleanup EXIT
trap 'exit 130' INT TERM
TMP=$(mktemp -d /tmp/virt-portfwd-valgrind.XXXXXX) || bail "mktemp failed"
chmod 0755 "$TMP"

# valgrind's own verdict, apart from the program's exit status (0, 1 or 2).
VG_ERR=97
UUID=c0ffee00-0000-4000-8000-00000000000a
OTHER_UUID=c0ffee00-0000-4000-8000-00000000000b
MAC=52:54:00:00:00:0a
GUEST_IP=192.168.122.10

# vg NAME WANT-RC STDIN CMD...: run CMD under valgrind (itself run under the VG_WRAP command,
# if any); record whether valgrind found nothing and whether CMD exited WANT-RC. Leaves
# NAME.out, NAME.err, NAME.vg in $TMP.
VG_WRAP=()

# vg_known_gaps LOG: drop valgrind's notice of a system call it does not know, for
# pidfd_open (434) only: valgrind 3.19 predates it and fails it with ENOSYS, which the hook takes
# as an old kernel (hook.c polls its child instead). Anything else stays and fails the check.
vg_known_gaps() {
	sed -i -E '/^--[0-9]+-- WARNING: unhandled amd64-linux syscall: 434$/,+4d' "$1"
}

# vg_children NAME: the reports of every process of the run (the hook forks: the contained
# child of reconnect, the detached child that ends a removed forward's flows) into NAME.vg, once
# they are done (the detached child holds the tree's lock until it is: a bounded wait), and how
# many processes there were into NAME.procs.
vg_children() {
	local lock=${VIRT_PORTFWD_ROOT:-}/run/virt-portfwd/lock f n=0
	if [ -n "${VIRT_PORTFWD_ROOT:-}" ] && [ -e "$lock" ] && ! flock -w 30 "$lock" true; then
		echo "a process of the hook still holds $lock after 30 s" >"$TMP/$1.vg.lock"
	fi
	for f in "$TMP/$1.vg".[0-9]*; do
		[ -e "$f" ] && n=$((n + 1))
	done
	echo "$n" >"$TMP/$1.procs"
	cat "$TMP/$1.vg".* >"$TMP/$1.vg" 2>/dev/null
	rm -f "$TMP/$1.vg".*
}

vg() {
	local name=$1 want=$2 in=$3 rc
	shift 3
	"${VG_WRAP[@]}" valgrind -q --leak-check=full --errors-for-leak-kinds=definite \
		--show-leak-kinds=definite --child-silent-after-fork=no --error-exitcode=$VG_ERR \
		--suppressions="$(dirname "$0")/libnftables.supp" \
		--log-file="$TMP/$name.vg.%p" \
		"$@" <"$in" >"$TMP/$name.out" 2>"$TMP/$name.err"
	rc=$?
	vg_children "$name"
	vg_known_gaps "$TMP/$name.vg"
	if [ "$rc" -ne $VG_ERR ] && [ ! -s "$TMP/$name.vg" ]; then
		ok "$name: valgrind-clean"
	else
		not_ok "$name: valgrind-clean" "$TMP/$name.vg"
	fi
	if [ "$rc" -eq "$want" ]; then
		ok "$name: exit status $want"
	else
		echo "# got exit status $rc" >"$TMP/$name.rc"
		not_ok "$name: exit status $want" "$TMP/$name.rc" "$TMP/$name.out" "$TMP/$name.err"
	fi
}

# expect NAME FILE PATTERN: FILE (NAME.out or NAME.err) contains the fixed string PATTERN.
expect() {
	if grep -qF -- "$3" "$TMP/$1.$2"; then
		ok "$1: std$2 has '$3'"
	else
		not_ok "$1: std$2 has '$3'" "$TMP/$1.$2"
	fi
}

# check DESCRIPTION LOG CMD...: ok when CMD succeeds, else show LOG (a file in $TMP).
check() {
	local desc=$1 log=$2
	shift 2
	if "$@"; then ok "$desc"; else not_ok "$desc" "$TMP/$log"; fi
}

expect_empty() {
	check "$1: nothing on std$2" "$1.$2" test ! -s "$TMP/$1.$2"
}

# ---------------------------------------------------------------------------------------------
# Fixtures: a VIRT_PORTFWD_ROOT tree as tests/netns/lib.sh makes it, and two tables.

# make_tree DIR TABLE: etc/virt-portfwd/forwards.conf (0644, ours: root when we are root),
# network "default" on virbr0, a lease for guest web1, and the hook as "qemu".
make_tree() {
	local t=$1
	mkdir -p "$t/etc/virt-portfwd/forwards.d" "$t/run/libvirt/network" \
		"$t/var/lib/libvirt/dnsmasq" "$t/hooks" || bail "mkdir failed"
	chmod -R 0755 "$t"
	if ! cp "$2" "$t/etc/virt-portfwd/forwards.conf" ||
		! chmod 0644 "$t/etc/virt-portfwd/forwards.conf"; then
		bail "cannot write the table"
	fi
	cat >"$t/run/libvirt/network/default.xml" <<XML
<networkstatus>
  <class_id bitmap='0-2'/>
  <network>
    <name>default</name>
    <uuid>9b2e4a63-6f52-4e4c-8e2a-0d1b5e8c0f11</uuid>
    <forward mode='nat'><nat><port start='1024' end='65535'/></nat></forward>
    <bridge name='virbr0' stp='on' delay='0'/>
    <ip address='192.168.122.1' netmask='255.255.255.0'>
      <dhcp>
        <range start='192.168.122.2' end='192.168.122.254'/>
        <host mac='52:54:00:00:00:99' name='static' ip='192.168.122.99'/>
      </dhcp>
    </ip>
  </network>
</networkstatus>
XML
	cat >"$t/var/lib/libvirt/dnsmasq/virbr0.status" <<JSON
[
  {
    "ip-address": "$GUEST_IP",
    "mac-address": "$MAC",
    "hostname": "web1",
    "client-id": "01:$MAC",
    "expiry-time": $(($(date +%s) + 3600))
  }
]
JSON
	ln -sf "$VP_BIN" "$t/hooks/qemu"
}

# domain_xml NAME UUID: live XML of a guest with one NIC on network default.
domain_xml() {
	cat <<XML
<domain type='qemu' id='7'>
  <name>$1</name>
  <uuid>$2</uuid>
  <memory unit='KiB'>131072</memory>
  <os><type arch='x86_64' machine='pc-i440fx-7.2'>hvm</type></os>
  <devices>
    <interface type='network'>
      <mac address='$MAC'/>
      <source network='default' bridge='virbr0'/>
      <target dev='vnet0'/>
      <model type='virtio'/>
    </interface>
  </devices>
</domain>
XML
}

cat >"$TMP/good.conf" <<'EOF_TABLE'
# Forwards of the valgrind test (IPv4 only: the lease fixture has no IPv6 address).
set backend iptables-nft
set lease-wait 5
web1   tcp   2222        22
web1   tcp   8080-8089   80-89    from=203.0.113.0/24,198.51.100.0/24
web1   udp   27015       27015    hairpin=no
web1   tcp   198.51.100.1:5432  5432  masquerade=yes local=no
EOF_TABLE
cat >"$TMP/bad.conf" <<'EOF_TABLE'
web1   tpc   2222        22
web1   tcp   2222        22
web2   tcp   2222        23
web1   tcp   99999       22
web1   tcp   80          22       colour=blue
set backend iptables-old
EOF_TABLE
domain_xml web1 "$UUID" >"$TMP/web1.xml"
domain_xml other "$OTHER_UUID" >"$TMP/other.xml"
make_tree "$TMP/good" "$TMP/good.conf"
make_tree "$TMP/bad" "$TMP/bad.conf"
cat >"$TMP/good/etc/virt-portfwd/forwards.d/10-more.conf" <<'EOF_TABLE'
web1   tcp   2223        22
EOF_TABLE
chmod 0644 "$TMP/good/etc/virt-portfwd/forwards.d/10-more.conf"

# ---------------------------------------------------------------------------------------------
# CLI

vg check-good 0 /dev/null "$VP_BIN" -c "$TMP/good.conf" check
expect check-good out "4 forwards for 1 guests, no errors"
vg check-bad 1 /dev/null "$VP_BIN" -c "$TMP/bad.conf" check
expect check-bad err "bad.conf:1:"
expect check-bad err "tpc"
expect_empty check-bad out

# As root the CLI reads the tree's own table and drop-ins (which must be root's); otherwise it
# is given the table with -c, which accepts any owner.
if [ $IS_ROOT -eq 1 ]; then
	set -- --dry-run install
else
	set -- -c "$TMP/good/etc/virt-portfwd/forwards.conf" --dry-run install
fi
VIRT_PORTFWD_ROOT=$TMP/good vg dry-run 0 "$TMP/web1.xml" "$VP_BIN" "$@"
expect dry-run out "virt-portfwd:$UUID"
expect dry-run out "$GUEST_IP:22"
expect dry-run out "DNAT"
[ $IS_ROOT -eq 0 ] || expect dry-run out "--dport 2223"   # the drop-in was read
check "dry-run: no state written" dry-run.err test ! -e "$TMP/good/run/virt-portfwd/$UUID"

# ---------------------------------------------------------------------------------------------
# The qemu hook

hook_cases() {
	VIRT_PORTFWD_ROOT=$TMP/good vg hook-unconfigured 0 "$TMP/other.xml" \
		"$TMP/good/hooks/qemu" other started begin -
	expect_empty hook-unconfigured out
	check "hook-unconfigured: no state written" hook-unconfigured.err \
		test -z "$(find "$TMP/good/run" -path '*/virt-portfwd/*' 2>/dev/null)"

	VIRT_PORTFWD_ROOT=$TMP/bad vg hook-bad-table 0 "$TMP/web1.xml" \
		"$TMP/bad/hooks/qemu" web1 started begin -
	expect_empty hook-bad-table out
	expect hook-bad-table err "nothing is applied"
}

# Rules carrying the guest's owner tag in the namespace's iptables-nft tables.
tagged() {
	ip netns exec "$NS" iptables-nft-save 2>/dev/null | grep -cF "virt-portfwd:$UUID"
}

netns_cases() {
	local n
	NS=vpvg$$
	if ! ip netns add "$NS" 2>"$TMP/netns.err"; then
		NS=
		not_ok "private network namespace" "$TMP/netns.err"
		return
	fi
	export VIRT_PORTFWD_ROOT=$TMP/good XTABLES_LOCKFILE=$TMP/xtables.lock
	VG_WRAP=(ip netns exec "$NS")
	vg hook-install 0 "$TMP/web1.xml" "$TMP/good/hooks/qemu" web1 started begin -
	expect_empty hook-install out
	n=$(tagged)
	check "hook-install: rules installed (${n:-0})" hook-install.err test "${n:-0}" -gt 0
	vg hook-reconnect 0 "$TMP/web1.xml" "$TMP/good/hooks/qemu" web1 reconnect begin -
	check "hook-reconnect: the same rules" hook-reconnect.err test "$(tagged)" = "$n"
	vg hook-remove 0 "$TMP/web1.xml" "$TMP/good/hooks/qemu" web1 stopped end -
	expect_empty hook-remove out
	check "hook-remove: the child that ends its flows ran under valgrind too" hook-remove.procs \
		test "$(cat "$TMP/hook-remove.procs")" -ge 2
	check "hook-remove: no rule left" hook-remove.err test "$(tagged)" = 0
	VG_WRAP=()
	unset VIRT_PORTFWD_ROOT XTABLES_LOCKFILE
}

if [ $IS_ROOT -eq 1 ]; then
	hook_cases
	if command -v iptables-nft-save >/dev/null 2>&1; then
		netns_cases
	else
		not_ok "iptables-nft is installed"
	fi
else
	skip "qemu hook: unconfigured guest, bad table" "needs root (the table must be root's)"
	skip "qemu hook: install, reconnect, remove in a network namespace" "needs root"
fi

echo "1..$TESTNUM"
[ "$FAILED" -eq 0 ]
