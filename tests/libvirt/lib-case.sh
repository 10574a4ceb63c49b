# SPDX-License-Identifier: GPL-2.0-or-later
# What the scenario files (cases/*.sh) share, sourced by test-e2e.sh after lib.sh: the table,
# guests brought up and taken away whole, the ruleset against the initial one, what libvirtd's
# log says of the hook, our rules of one guest, and g1's and g2's forwards.

HOST=$VP_HOST_ADDR
HOST6=$VP_HOST_ADDR6
TABLE=/etc/virt-portfwd/forwards.conf
TABLE_INITIAL=$VP_RUN/forwards.conf.initial

# The table as the runner wrote it, kept before any case; a case that edits it puts it back.
table_keep() { cp -p "$TABLE" "$TABLE_INITIAL"; }
table_restore() { cp -p "$TABLE_INITIAL" "$TABLE"; }

# --- guests ------------------------------------------------------------------------------------

# guests_up N...: define guests gN and start them one after the other (they boot together), then
# wait until each is booted with its lease and listeners (a liveness wait, vp_wait_ready's 120 s).
# For the cases whose subject is not the start itself: nothing of the start is judged here.
guests_up() {
	local n rc=0
	for n in "$@"; do
		{ vp_define_guest "$n" && vp_start_guest "g$n" >/dev/null; } || rc=1
	done
	for n in "$@"; do
		vp_wait_ready "g$n" || rc=1
	done
	return $rc
}

# guests_gone NAME...: destroy each guest still running and undefine it: a case leaves no guest.
guests_gone() {
	local g
	for g in "$@"; do
		[ "$(vp_virsh domstate "$g" 2>/dev/null)" = running ] &&
			timeout 30 virsh -q -c qemu:///system destroy "$g" >/dev/null 2>&1
		vp_virsh undefine "$g" >/dev/null 2>&1
	done
	return 0
}

# --- the ruleset and our rules -----------------------------------------------------------------

# diff_notes OLD NEW: nothing when the texts are equal, else their diff as TAP notes.
diff_notes() {
	[ "$1" = "$2" ] || diff -u <(printf '%s\n' "$1") <(printf '%s\n' "$2") | sed 's/^/#   /'
}

# The ruleset equals S0, the one the runner took before any case (the diff as TAP notes if not).
ruleset_is_initial() {
	local now
	now=$(vp_ruleset)
	[ "$now" = "$S0" ] && return 0
	vp_note "ruleset differs from the one before any guest started:"
	diff_notes "$S0" "$now"
	return 1
}

# With no guest running: flush the firewall and restart libvirtd, which re-creates its rules and
# remembers them afresh, as when the environment was set up. After a restore of a saved ruleset
# libvirt's nftables backend remembers its rules by handles that no longer exist: its next reload
# (a restart, a live net-update) would remove nothing and add each of its rules a second time.
libvirt_rules_anew() {
	vp_fw_flush
	vp_stop_libvirtd
	vp_in_host libvirtd -d && vp_wait_libvirtd
}

# Our rules of the guest with UUID (owner tag virt-portfwd:UUID), one per line.
rules_of() { vp_our_rules | grep -F -- "$1" || true; }

# Our rules, sorted: after a flush they come back whole, but g1's and g2's may be re-added in
# either order (their hooks run concurrently). A duplicate still shows as an extra line.
our_rules_sorted() { vp_our_rules | sort; }

# --- libvirtd's log and the guests' consoles ---------------------------------------------------

# (no grep -q after a pipe: with pipefail, its early exit fails the writer with SIGPIPE)
hook_was_called() { vp_hook_log | grep "hooks/qemu $1 $2 " >/dev/null; }

# hook_share_small NAME START_MS: what the hook took of NAME's `virsh start` (prepare, start and
# started in libvirtd's log) is at most a quarter of START_MS, the whole start measured in the
# same run: the rest is libvirt's and QEMU's, whose speed no check judges. SHARE says both.
hook_share_small() {
	local op t sum=0
	for op in prepare start started; do
		if ! t=$(vp_hook_ms "$1" "$op"); then
			SHARE="no '$op' run of the hook for $1 in libvirtd's log"
			return 1
		fi
		sum=$((sum + t))
	done
	# shellcheck disable=SC2034 # the cases print it
	SHARE="hook $sum ms of the start's $2 ms"
	[ $((4 * sum)) -le "$2" ]
}

# wait_reconnect NAME [BEFORE]: until libvirtd has completed more runs of the hook's reconnect
# for NAME than BEFORE (default 0; vp_hook_count before a restart). A liveness wait on libvirtd,
# which runs it soon after it starts: 60 s.
wait_reconnect() {
	local _
	for _ in $(seq 1 600); do
		[ "$(vp_hook_count "$1" reconnect)" -gt "${2:-0}" ] && return 0
		sleep 0.1
	done
	return 1
}

# The addresses NAME's console reported with VP-READY (its DHCP lease, then its IPv6 address).
console_ready() {
	grep -m1 "^VP-READY $1 " "$VP_RUN/console-$1.log" 2>/dev/null | tr -d '\r' |
		cut -d ' ' -f 3-
}
console_ip() { console_ready "$1" | cut -d ' ' -f 1; }

# Whether guest N's MAC has a lease in dnsmasq's status file yet.
has_lease() {
	grep -iF -- "$(vp_mac "$1")" /var/lib/libvirt/dnsmasq/virbr0.status >/dev/null 2>&1
}

# --- g1's and g2's forwards --------------------------------------------------------------------

# The forwards of g1 and g2 in the initial table all answer: three IPv4, two IPv6. WORD is what
# the UDP echo is sent (default "back"). The five connections are made at once (each its own
# client socket and conntrack entry), each with the timeouts it has alone.
forwards_work() {
	local c=$VP_CNS w=${1:-back} d=$VP_RUN/forwards-work pids=()
	mkdir -p "$d" && rm -f "$d"/*
	vp_http "$c" "$HOST" 2222 >"$d/1" &
	pids+=($!)
	vp_http "$c" "$HOST" 2322 >"$d/2" &
	pids+=($!)
	vp_udp "$c" "$HOST" 27015 "$w" >"$d/3" &
	pids+=($!)
	vp_http "$c" "$HOST6" 2222 >"$d/4" &
	pids+=($!)
	vp_http "$c" "$HOST6" 2322 >"$d/5" &
	pids+=($!)
	wait "${pids[@]}"
	[ "$(cat "$d/1")" = g1 ] && [ "$(cat "$d/2")" = g2 ] && [ "$(cat "$d/3")" = "g1 $w" ] &&
		[ "$(cat "$d/4")" = g1 ] && [ "$(cat "$d/5")" = g2 ] && return 0
	vp_note "forwards_work: 2222 '$(cat "$d/1")', 2322 '$(cat "$d/2")', 27015/udp" \
		"'$(cat "$d/3")', [::]:2222 '$(cat "$d/4")', [::]:2322 '$(cat "$d/5")'"
	return 1
}
# shellcheck disable=SC2034 # the cases print it
FORWARDS="2222, 2322, 27015/udp, [::]:2222, [::]:2322"

# g1 and g2 up (guests_up) and their forwards answering: where most cases start. The hook has
# installed their forwards at 'started' (both have static DHCP hosts), before the guests boot.
pair_up() {
	guests_up 1 2 && vp_wait_http "$VP_CNS" "$HOST" 2222 g1 30 && forwards_work up
}
