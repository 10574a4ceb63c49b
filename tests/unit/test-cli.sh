#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# The command line: options are honoured before or after the command ("check --config FILE"
# once checked the default table and said "no errors"), "--" ends them, and an argument or
# option the command does not take is a usage error (exit 2), never silently ignored.
# Only `check` on files in a temporary directory, usage errors, which act on nothing, and add,
# remove and list against libvirt's test driver (no daemon; a node of its own, fixtures/cli):
# their errors, dry runs, and one add to a guest that is shut off (no rules to install).
set -u
[ -n "${VP_BIN:-}" ] || { echo "Bail out! VP_BIN is not set"; exit 99; }
tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT
printf 'web1 tcp [::]:2222 22 ip=192.168.122.5\n' >"$tmp/bad.conf"
printf 'web1 tcp 2222 22\nweb2 tcp 2223 22\nweb1 udp 27015 27015\n' >"$tmp/good.conf"
# `check` warns (lint.h): of a forward into a network that is not NAT, found in libvirt's files
# (a fixture tree here: the persistent XML of a network and of a guest), of an ADDR: that is not
# the host's (192.0.2.7, a documentation address); a network it cannot read is no warning.
export VIRT_PORTFWD_ROOT="$tmp"
mkdir -p "$tmp/etc/libvirt/qemu/networks"
printf '%s\n' 'web1 tcp 192.0.2.7:2222 22' 'db tcp 2300 22 network=routed' \
	'  web4  tcp  2301  22' 'web3 tcp 2302 22 network=missing' >"$tmp/warn.conf"
printf "<network><name>%s</name>%s<bridge name='%s'/></network>\n" \
	routed "<forward mode='route'/>" virbr9 >"$tmp/etc/libvirt/qemu/networks/routed.xml"
printf "<network><name>%s</name>%s<bridge name='%s'/></network>\n" \
	iso "" virbr8 >"$tmp/etc/libvirt/qemu/networks/iso.xml"
printf "<domain type='kvm'><name>web4</name><uuid>%s</uuid><devices>%s%s%s</devices></domain>\n" \
	c0ffee00-0000-4000-8000-00000000000a "<interface type='network'>" \
	"<mac address='52:54:00:00:00:0a'/><source network='iso'/>" "</interface>" \
	>"$tmp/etc/libvirt/qemu/web4.xml"
chmod 0644 "$tmp/bad.conf" "$tmp/good.conf" "$tmp/warn.conf"
warn_err="virt-portfwd: $tmp/warn.conf:1:10: warning: 192.0.2.7 is not an address of this host: the forward's DNAT would also take traffic routed through the host to it
virt-portfwd: $tmp/warn.conf:2:8: warning: network routed is in forward mode route, not nat: the hook skips this forward (port forwards are for NAT networks)
virt-portfwd: $tmp/warn.conf:3:14: warning: network iso is in forward mode none (isolated), not nat: the hook skips this forward (port forwards are for NAT networks)"
warn_out="4 forwards for 4 guests, no errors, 3 warnings"
bad_err="virt-portfwd: $tmp/bad.conf:1:26: address '192.168.122.5' in ip= is IPv4 but the forward is IPv6
virt-portfwd: the forward table has errors: nothing is applied from it"
good_out="3 forwards for 2 guests, no errors"
notice="virt-portfwd: check: the host's firewall rules were not read (not root)"
n=0
failed=0

# expect NAME STATUS STDOUT STDERR-FIRST-LINE-OR-ALL ARGS...: run virt-portfwd ARGS; "*" skips a
# comparison; for a usage error (2) only the first line of stderr is compared.
expect() {
	name=$1 want_rc=$2 want_out=$3 want_err=$4
	shift 4
	"$VP_BIN" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
	rc=$?
	out=$(cat "$tmp/out")
	# Without root, check says once that it did not read the firewall (checked below).
	if [ "$want_rc" = 2 ]; then err=$(head -n 1 "$tmp/err"); else err=$(grep -vF "$notice" "$tmp/err"); fi
	n=$((n + 1))
	if [ "$rc" = "$want_rc" ] && { [ "$want_out" = "*" ] || [ "$out" = "$want_out" ]; } &&
		{ [ "$want_err" = "*" ] || [ "$err" = "$want_err" ]; }; then
		echo "ok $n - $name"
		return
	fi
	failed=$((failed + 1))
	echo "not ok $n - $name"
	printf '# args: %s\n# exit %s (want %s)\n# stdout:\n%s\n# stderr:\n%s\n' "$*" "$rc" \
		"$want_rc" "$out" "$err" | sed '2,$s/^/# /'
}

# add, remove, list through libvirt's test driver: web1 runs with 8080 in its metadata, web2 is
# shut off, web3's metadata has an error; the table forwards 2222 to web2.
virt_tests() {
	local u="test://$VP_SRCDIR/tests/unit/fixtures/cli/node.xml" t="$tmp/virt.conf" none
	printf 'web2 tcp 2222 22\nghost udp 53 53\n' >"$t"
	chmod 0644 "$t"
	mkdir -p "$tmp/run"   # add and remove lock our state directory: $VIRT_PORTFWD_ROOT/run/...
	none="virt-portfwd: nothing changed"
	expect "list: the table's and the metadata's, each with its place; web3's error, exit 1" 1 \
		"web1 tcp 8080 80 from=203.0.113.0/24  # metadata
web2 tcp 2222 22  # $t:1
ghost udp 53 53  # $t:2, no such guest" \
		"virt-portfwd: domain web3 metadata forward 1: missing attribute 'guest' (expected proto, host and guest, as the fields of a table line)" \
		--connect "$u" list -c "$t"
	LIBVIRT_DEFAULT_URI=$u expect "list GUEST, libvirt's default URI as virsh takes it" 0 \
		"web1 tcp 8080 80 from=203.0.113.0/24  # metadata" "" list web1 -c "$t"
	VIRSH_DEFAULT_CONNECT_URI=$u expect "VIRSH_DEFAULT_CONNECT_URI, as virsh" 0 \
		"web2 tcp 2222 22  # $t:1" "" list web2 -c "$t"
	expect "add to an unknown guest" 1 "" \
		"virt-portfwd: no guest named nosuch (nor with that uuid): see \`virsh list --all\`" \
		--connect "$u" add nosuch tcp 2300 22 -c "$t"
	expect "add: a bad value, with the table's message" 1 "" \
		"virt-portfwd: domain web2 metadata forward 1: invalid port '0' (expected 1-65535)
$none" --connect "$u" add web2 tcp 0 22 -c "$t"
	expect "add: an unknown option, with the table's message" 1 "" \
		"virt-portfwd: domain web2 metadata forward 1: unknown option 'bogus' (expected from, nic, network, ip, masquerade, local or hairpin)
$none" --connect "$u" add web2 tcp 2300 22 bogus=1 -c "$t"
	expect "add: a host port of the table" 1 "" \
		"virt-portfwd: domain web1 metadata forward 2: host port 2222/tcp is already forwarded at $t:1:10 (web2): this forward is not installed
$none" --connect "$u" add web1 tcp 2200-2300 22-122 -c "$t"
	expect "add: a host port of another guest's metadata" 1 "" \
		"virt-portfwd: domain web2 metadata forward 1: host port 8080/tcp is already forwarded at domain web1 metadata forward 1: this forward is not installed
$none" --connect "$u" add web2 tcp 8080 22 -c "$t"
	expect "add: a guest whose metadata has errors" 1 "" \
		"virt-portfwd: domain web3 metadata forward 1: missing attribute 'guest' (expected proto, host and guest, as the fields of a table line)
virt-portfwd: the forwards in the metadata of web3 have errors: correct them first (virsh metadata web3 https://virt-portfwd.example/xmlns/1)
$none" --connect "$u" add web3 tcp 2300 22 -c "$t"
	expect "add to a guest that is shut off: its persistent definition only" 0 \
		"web2: added tcp 2300 to the persistent definition" "" \
		--connect "$u" add web2 tcp 2300 22 -c "$t"
	expect "add --dry-run to a running guest: both definitions, changed nothing" 0 \
		"persistent definition, metadata https://virt-portfwd.example/xmlns/1:
<forwards>
  <forward proto=\"tcp\" host=\"8080\" guest=\"80\" from=\"203.0.113.0/24\"/>
  <forward proto=\"tcp\" host=\"[::]:2301\" guest=\"22\" network=\"a&amp;b\"/>
</forwards>
running definition, metadata https://virt-portfwd.example/xmlns/1:
<forwards>
  <forward proto=\"tcp\" host=\"8080\" guest=\"80\" from=\"203.0.113.0/24\"/>
  <forward proto=\"tcp\" host=\"[::]:2301\" guest=\"22\" network=\"a&amp;b\"/>
</forwards>
web1: would add tcp [::]:2301 to the persistent and the running definition" "" \
		--connect "$u" -n add web1 tcp '[::]:2301' 22 'network=a&b' -c "$t"
	expect "remove --dry-run of the last one: the element goes" 0 \
		"persistent definition, metadata https://virt-portfwd.example/xmlns/1:
(none)
running definition, metadata https://virt-portfwd.example/xmlns/1:
(none)
web1: would remove tcp 8080 from the persistent and the running definition" "" \
		--connect "$u" -n remove web1 tcp 8080 -c "$t"
	expect "remove: a forward of the table, not of the metadata" 1 "" \
		"virt-portfwd: tcp 2222 of web2 is in the table ($t:1), not in the guest's metadata: remove it there, then run \`virt-portfwd apply\`; nothing changed" \
		--connect "$u" remove web2 tcp 2222 -c "$t"
	expect "remove: no such forward" 1 "" \
		"virt-portfwd: web1 has no forward of udp 8080 in its metadata: see \`virt-portfwd list web1\`; nothing changed" \
		--connect "$u" remove web1 udp 8080 -c "$t"
	expect "--connect with check: a usage error" 2 "" \
		"virt-portfwd: --connect is an option of add, remove and list, not of check" \
		--connect "$u" check
	expect "add with too few words" 2 "" "virt-portfwd: add: missing argument" add web1 tcp 22
}

expect "check --config FILE after the command checks FILE" 1 "" "$bad_err" \
	check --config "$tmp/bad.conf"
expect "-c FILE before the command: the same" 1 "" "$bad_err" -c "$tmp/bad.conf" check
expect "check -c FILE (short, after)" 1 "" "$bad_err" check -c "$tmp/bad.conf"
expect "check --config=FILE" 0 "$good_out" "" check --config="$tmp/good.conf"
expect "check -v -c FILE" 0 "$good_out" "" check -v -c "$tmp/good.conf"
POSIXLY_CORRECT=1 expect "POSIXLY_CORRECT set: options after the command still count" 1 "" \
	"$bad_err" check --config "$tmp/bad.conf"
expect "warnings: each with file:line:col, exit 0" 0 "$warn_out" "$warn_err" \
	check -c "$tmp/warn.conf"
expect "check --strict: a warning makes exit 1" 1 "$warn_out" "$warn_err" \
	check --strict -c "$tmp/warn.conf"
expect "check --strict without a warning: exit 0" 0 "$good_out" "" --strict check -c \
	"$tmp/good.conf"
expect "check --strict with an error: the error, exit 1" 1 "" "$bad_err" check --strict -c \
	"$tmp/bad.conf"
expect "--strict with apply: a usage error" 2 "" \
	"virt-portfwd: --strict is an option of check, not of apply" --strict apply
expect "check FILE (no -c): a usage error, not the default table" 2 "" \
	"virt-portfwd: unexpected argument '$tmp/bad.conf' after check" check "$tmp/bad.conf"
expect "-- ends the options: check -- -c FILE is an argument" 2 "" \
	"virt-portfwd: unexpected argument '-c' after check" -c "$tmp/good.conf" check -- -c \
	"$tmp/good.conf"
expect "--json with check: a usage error" 2 "" \
	"virt-portfwd: --probe and --json are options of doctor, not of check" \
	check --json -c "$tmp/good.conf"
expect "--probe before the command, not doctor" 2 "" \
	"virt-portfwd: --probe and --json are options of doctor, not of apply" --probe apply
expect "remove without a UUID" 2 "" "virt-portfwd: remove: missing argument" remove
expect "remove with two" 2 "" "virt-portfwd: remove: missing argument" remove a b
expect "remove with four" 2 "" "virt-portfwd: unexpected argument 'd' after remove" remove a b c d
expect "flush with an argument" 2 "" "virt-portfwd: unexpected argument 'now' after flush" \
	flush now
expect "doctor with three words" 2 "" "virt-portfwd: unexpected argument 'c' after doctor" \
	doctor a 22 c
expect "an unknown option after the command" 2 "" "*" doctor --frobnicate
expect "--help after the command" 0 "*" "" check --help
expect "--version after the command" 0 "*" "" status --version
cat >"$tmp/guest.xml" <<'XML'
<domain><name>web3</name><uuid>6c1f0d3e-8f5a-4b6e-9a2d-1b2c3d4e5f60</uuid><metadata>
<portfwd:forwards xmlns:portfwd="https://virt-portfwd.example/xmlns/1">
<portfwd:forward proto="tcp" host="2224" guest="22"/>
<portfwd:forward proto="tcp" host="2222" guest="22"/>
</portfwd:forwards></metadata></domain>
XML
expect "check --domain: a clash with the table, with both places" 1 "$good_out" \
	"virt-portfwd: domain web3 metadata forward 2: host port 2222/tcp is already forwarded at $tmp/good.conf:1:10 (web1): this forward is not installed" \
	check --domain "$tmp/guest.xml" -c "$tmp/good.conf"
sed -i '/host="2222"/d' "$tmp/guest.xml"
expect "check --domain: no clash" 0 "$good_out
1 forwards in the metadata of web3, no errors" "" check -c "$tmp/good.conf" --domain "$tmp/guest.xml"
expect "check --domain: not a domain XML" 1 "$good_out" \
	"virt-portfwd: $tmp/good.conf is not a domain XML that libvirt would pass (Invalid argument)" \
	check -c "$tmp/good.conf" --domain "$tmp/good.conf"
expect "--domain with another command: a usage error" 2 "" \
	"virt-portfwd: --domain is an option of check, not of status" status --domain "$tmp/guest.xml"
# Other tools' DNATs are read from the host's firewall, as root only: otherwise one notice.
"$VP_BIN" check -c "$tmp/good.conf" >/dev/null 2>"$tmp/err"
want=0
[ "$(id -u)" = 0 ] || want=1
n=$((n + 1))
if [ "$(grep -cF "$notice" "$tmp/err")" = "$want" ]; then
	echo "ok $n - check: the notice that the firewall was not read, $want time(s) (uid $(id -u))"
else
	failed=$((failed + 1))
	echo "not ok $n - check: the notice that the firewall was not read, $want time(s)"
fi
virt_tests
expect "no command" 2 "" "*"
expect "an unknown command" 2 "" "*" frobnicate
echo "1..$n"
[ "$failed" = 0 ]
