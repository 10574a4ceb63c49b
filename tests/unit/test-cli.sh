#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# The command line: options are honoured before or after the command ("check --config FILE"
# once checked the default table and said "no errors"), "--" ends them, and an argument or
# option the command does not take is a usage error (exit 2), never silently ignored.
# Only `check` on files in a temporary directory, and usage errors, which act on nothing.
set -u
[ -n "${VP_BIN:-}" ] || { echo "Bail out! VP_BIN is not set"; exit 99; }
tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT
printf 'web1 tcp [::]:2222 22 ip=192.168.122.5\n' >"$tmp/bad.conf"
printf 'web1 tcp 2222 22\nweb2 tcp 2223 22\nweb1 udp 53 53\n' >"$tmp/good.conf"
chmod 0644 "$tmp/bad.conf" "$tmp/good.conf"
bad_err="virt-portfwd: $tmp/bad.conf:1:26: address '192.168.122.5' in ip= is IPv4 but the forward is IPv6
virt-portfwd: the forward table has errors: nothing is applied from it"
good_out="3 forwards for 2 guests, no errors"
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
	if [ "$want_rc" = 2 ]; then err=$(head -n 1 "$tmp/err"); else err=$(cat "$tmp/err"); fi
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

expect "check --config FILE after the command checks FILE" 1 "" "$bad_err" \
	check --config "$tmp/bad.conf"
expect "-c FILE before the command: the same" 1 "" "$bad_err" -c "$tmp/bad.conf" check
expect "check -c FILE (short, after)" 1 "" "$bad_err" check -c "$tmp/bad.conf"
expect "check --config=FILE" 0 "$good_out" "" check --config="$tmp/good.conf"
expect "check -v -c FILE" 0 "$good_out" "" check -v -c "$tmp/good.conf"
POSIXLY_CORRECT=1 expect "POSIXLY_CORRECT set: options after the command still count" 1 "" \
	"$bad_err" check --config "$tmp/bad.conf"
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
expect "remove with two" 2 "" "virt-portfwd: unexpected argument 'b' after remove" remove a b
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
expect "no command" 2 "" "*"
expect "an unknown command" 2 "" "*" frobnicate
echo "1..$n"
[ "$failed" = 0 ]
