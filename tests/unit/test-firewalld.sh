#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The firewalld watcher (`virt-portfwd watch-firewalld`) on a private D-Bus with a stand-in
# firewalld (a process owning org.fedoraproject.FirewallD1; signals sent with dbus-send): it
# exits when firewalld neither runs nor has run since boot, waits for it when it has (a
# restart), one runs per network namespace (a name held by another
# user is reported), and it puts the forwards back after a Reloaded signal and after firewalld's
# name gets a new owner, and only then.
# In a network namespace of its own (the ruleset there is empty: nothing to wait for, nothing
# installed) with a root of its own (VIRT_PORTFWD_ROOT). Root only (77 otherwise). TAP.
set -u
if [ "$(id -u)" -ne 0 ]; then
	echo "1..0 # SKIP needs root (a network namespace of its own)"
	exit 77
fi
if [ -z "${VP_IN_NETNS:-}" ]; then
	VP_IN_NETNS=1 exec unshare --net "$BASH" "$0" "$@"
fi
PY=/usr/bin/python3   # the distribution's, with python3-dbus (not a PATH one)
for c in dbus-daemon dbus-send setpriv iptables-nft $PY; do
	command -v "$c" >/dev/null || { echo "1..0 # SKIP no $c"; exit 77; }
done
$PY -c 'import dbus' 2>/dev/null || { echo "1..0 # SKIP no python3-dbus"; exit 77; }

tmp=$(mktemp -d) || exit 99
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
n=0 failed=0
ok() {
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=1; fi
}

mkdir -p "$tmp/root/etc/virt-portfwd" "$tmp/root/run/libvirt/qemu"
echo "# no forwards" >"$tmp/root/etc/virt-portfwd/forwards.conf"
chmod 0644 "$tmp/root/etc/virt-portfwd/forwards.conf"
cat >"$tmp/bus.conf" <<EOC
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$tmp/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/> <allow own="*"/> <allow send_destination="*"/> <allow receive_sender="*"/>
  </policy>
</busconfig>
EOC
dbus-daemon --config-file="$tmp/bus.conf" --nofork --nopidfile 2>"$tmp/bus.log" &
pids+=($!)
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$tmp/bus VIRT_PORTFWD_ROOT=$tmp/root
for _ in $(seq 100); do [ -S "$tmp/bus" ] && break; sleep 0.05; done

# libvirt's rules, as few as will do: what the watcher waits for after a flush.
libvirt_rules() {
	iptables-nft -N LIBVIRT_FWI && iptables-nft -A LIBVIRT_FWI -o virbr0 -j REJECT &&
		iptables-nft -I FORWARD -j LIBVIRT_FWI
}
flush() { iptables-nft -F && iptables-nft -X; }
libvirt_rules || { echo "1..0 # SKIP iptables-nft cannot write in a namespace here"; exit 77; }

# The stand-in firewalld: owns the name until killed.
fake_firewalld() {
	$PY -c 'import dbus, sys, time
b = dbus.bus.BusConnection(sys.argv[1]); b.request_name("org.fedoraproject.FirewallD1")
print("owned", flush=True); time.sleep(300)' "$DBUS_SYSTEM_BUS_ADDRESS" >"$tmp/fw.out" &
	FW=$!
	pids+=("$FW")
	for _ in $(seq 100); do grep -q owned "$tmp/fw.out" 2>/dev/null && return 0; sleep 0.05; done
	return 1
}
reloaded() {
	dbus-send --bus="$DBUS_SYSTEM_BUS_ADDRESS" --type=signal /org/fedoraproject/FirewallD1 \
		org.fedoraproject.FirewallD1.Reloaded
}
# until the watcher's log (stderr) has N lines matching PATTERN, at most 10 s
wait_log() {
	for _ in $(seq 200); do
		[ "$(grep -c -- "$2" "$tmp/watch.log")" -ge "$1" ] && return 0
		sleep 0.05
	done
	return 1
}

timeout 10 "$VP_BIN" watch-firewalld 2>"$tmp/alone.log"
rc=$?
[ $rc -eq 0 ] && grep -q "firewalld is not running: nothing to watch" "$tmp/alone.log"
ok $? "no firewalld on the bus, none since boot: the watcher says so and exits 0 (rc $rc: $(cat "$tmp/alone.log"))"

# Anyone may bind an abstract name: one held by another user is named, never taken for ours.
setpriv --reuid=65534 --regid=65534 --clear-groups $PY -c 'import socket, time
s = socket.socket(socket.AF_UNIX); s.bind("\0virt-portfwd/watch-firewalld"); s.listen(1)
print("bound", flush=True); time.sleep(300)' >"$tmp/squat.out" &
S=$!
pids+=("$S")
for _ in $(seq 100); do grep -q bound "$tmp/squat.out" 2>/dev/null && break; sleep 0.05; done
timeout 10 "$VP_BIN" watch-firewalld 2>"$tmp/squat.log"
rc=$?
[ $rc -eq 0 ] && grep -q "is held by pid $S, uid 65534, not by a watcher of ours" "$tmp/squat.log"
ok $? "the watcher's name held by another user: logged with its pid and uid, exit 0 ($(cat "$tmp/squat.log"))"
kill "$S"
wait "$S" 2>/dev/null

# firewalld has run since boot (its runtime directory is there), restarting now: off the bus.
mkdir -p "$tmp/root/run/firewalld"
"$VP_BIN" watch-firewalld 2>"$tmp/watch.log" &
W=$!
pids+=("$W")
wait_log 1 "watching firewalld"
ok $? "firewalld has run since boot but is off the bus: the watcher waits for it ($(head -n 1 "$tmp/watch.log"))"
fake_firewalld
ok $? "the stand-in firewalld owns its name"
wait_log 1 "firewalld started: forwards put back"
ok $? "firewalld coming up: the forwards are put back"

timeout 10 "$VP_BIN" watch-firewalld 2>"$tmp/second.log"
rc=$?
[ $rc -eq 0 ] && kill -0 "$W" 2>/dev/null
ok $? "a second watcher in the same network namespace exits at once, status 0 ($rc)"

dbus-send --bus="$DBUS_SYSTEM_BUS_ADDRESS" --type=signal /org/fedoraproject/FirewallD1 \
	org.fedoraproject.FirewallD1.PanicModeEnabled
flush
reloaded
sleep 0.5
! grep -q "firewalld reloaded: forwards put back" "$tmp/watch.log"
ok $? "Reloaded, libvirt's rules flushed: the watcher waits for libvirt"
libvirt_rules
wait_log 1 "firewalld reloaded: forwards put back"
ok $? "Reloaded: the forwards are put back ($(grep 'reloaded: forwards put back' "$tmp/watch.log" | head -n 1))"
sleep 0.3
[ "$(grep -c 'forwards put back' "$tmp/watch.log")" -eq 2 ]
ok $? "another firewalld signal (PanicModeEnabled) puts nothing back"

kill "$FW"
wait "$FW" 2>/dev/null
fake_firewalld
wait_log 2 "firewalld started: forwards put back"
ok $? "firewalld restarting (a new owner of its name): the forwards are put back"
kill -0 "$W" 2>/dev/null
ok $? "the watcher still runs"

reloaded
wait_log 2 "firewalld reloaded: forwards put back"
ok $? "a second reload: put back again"
! grep -q "with failures" "$tmp/watch.log"
ok $? "every apply succeeded"
echo "1..$n"
exit $failed
