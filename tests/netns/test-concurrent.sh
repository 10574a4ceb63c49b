#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# 20 guests' hooks at once, while another program keeps changing the same tables (with the same
# xtables lock, as libvirt or firewalld would): every guest gets its 4 rules exactly once, the
# other program's rules are neither lost nor duplicated, and 20 concurrent stops give back the
# ruleset from before. TAP on stdout; exit 1 on any failure, 77 when it cannot run here.
#
#   test-concurrent.sh nft|legacy

. "$(dirname "$(readlink -f "$0")")/lib.sh"

vp_init "${1:-}"

N=20
C=$VP_CLIENT
HA=$VP_HOST_ADDR

guest_name() { printf 'g%02d' "$1"; }
guest_ip() { echo "192.168.122.$((100 + $1))"; }
guest_mac() { printf '52:54:00:00:01:%02d' "$1"; }
guest_uuid() { printf 'c0ffee00-0000-4000-8000-0000000001%02d' "$1"; }

write_fixtures() {
	local i leases=()
	vp_fixture_init
	for i in $(seq 0 $((N - 1))); do
		echo "$(guest_name "$i")  tcp  $((3000 + i))  22"
	done | vp_write_table
	for i in $(seq 0 $((N - 1))); do
		leases+=("$(guest_mac "$i")=$(guest_ip "$i")")
		vp_write_domain "$(guest_name "$i")" "$(guest_uuid "$i")" "$(guest_mac "$i")" "vnet$i"
	done
	vp_write_network
	vp_write_leases "${leases[@]}"
}

# The other writer: appends and deletes a rule of its own in a loop, under the xtables lock,
# until told to stop; it never stops between its -A and its -D. Prints its loop count at the end.
WRITER_PID=
start_writer() {
	rm -f "$VP_TMP/writer.stop"
	# shellcheck disable=SC2016 # expanded by the inner shell
	vp_h bash -c 'n=0
		while [ ! -e "$1" ]; do
			"$2" -w -A FORWARD -s 203.0.113.99/32 -j ACCEPT || exit 1
			"$2" -w -D FORWARD -s 203.0.113.99/32 -j ACCEPT || exit 1
			n=$((n + 1))
		done
		echo "$n" >"$3"' _ "$VP_TMP/writer.stop" "$IPT" "$VP_TMP/writer.count" &
	WRITER_PID=$!
	VP_PIDS+=("$WRITER_PID")
}

stop_writer() {  # WHEN
	local rc
	touch "$VP_TMP/writer.stop"
	wait "$WRITER_PID"
	rc=$?
	vp_check_eq "$1: the other writer's -A/-D loop never failed" "$rc" 0
	echo "# $1: the other writer ran $(cat "$VP_TMP/writer.count" 2>/dev/null) loops meanwhile"
}

# Run OP for all guests at once; assert every hook exited 0 with nothing on stdout.
hooks_at_once() {  # OP SUBOP
	local i pids=() bad=0
	for i in $(seq 0 $((N - 1))); do
		(vp_hook "$(guest_name "$i")" "$1" "$2"; echo $? >"$VP_TMP/rc.$i") &
		pids+=("$!")
	done
	wait "${pids[@]}"
	for i in $(seq 0 $((N - 1))); do
		[ "$(cat "$VP_TMP/rc.$i" 2>/dev/null)" = 0 ] || bad=$((bad + 1))
	done
	vp_check_eq "$N concurrent '$1': every hook exited 0" "$bad failed" "0 failed"
	vp_check_eq "$N concurrent '$1': nothing on stdout" \
		"$(stat -c %s "$VP_TMP/hook.stdout" 2>/dev/null || echo 0)" 0
}

check_rules_once() {
	local save i tagged n u chains
	save=$(vp_h "$IPT_SAVE")
	for i in $(seq 0 $((N - 1))); do
		tagged=$(grep -F -- "virt-portfwd:$(guest_uuid "$i")" <<<"$save")
		n=$(grep -c . <<<"$tagged")
		u=$(sort -u <<<"$tagged" | grep -c .)
		chains=$(awk '{ print $2 }' <<<"$tagged" | sort | tr '\n' ' ')
		if [ "$n" = 4 ] && [ "$u" = 4 ] &&
			[ "$chains" = "VIRT_PORTFWD_FWD VIRT_PORTFWD_OUT VIRT_PORTFWD_POST VIRT_PORTFWD_PRE " ]; then
			vp_ok "$(guest_name "$i"): its 4 rules present exactly once"
		else
			vp_not_ok "$(guest_name "$i"): its 4 rules present exactly once" \
				"$n tagged rules, $u distinct, in chains: $chains" "$tagged"
		fi
	done
	for i in PREROUTING:PRE OUTPUT:OUT POSTROUTING:POST FORWARD:FWD; do
		vp_check_eq "jump ${i%%:*} -> VIRT_PORTFWD_${i#*:} exactly once" \
			"$(grep -c -- "^-A ${i%%:*} .*-j VIRT_PORTFWD_${i#*:}\$" <<<"$save")" 1
	done
	vp_check_eq "the permanent foreign rule is there exactly once" \
		"$(grep -c -- 'foreign-permanent' <<<"$save")" 1
	vp_check_eq "the other writer's looping rule is gone (its last -D was kept)" \
		"$(grep -c -- '203.0.113.99' <<<"$save")" 0
}

vp_make_host || vp_die "host namespace setup failed"
vp_make_client || vp_die "client namespace setup failed"
# Two of the 20 guests get a namespace and listeners: the first and the last.
for i in 0 $((N - 1)); do
	vp_make_guest "$VP_TAG-$(guest_name "$i")" "$(guest_ip "$i")" "vnet$i" || vp_die "guest setup"
	vp_listen "$VP_TAG-$(guest_name "$i")" "$(guest_name "$i")"
	vp_wait_tcp "$VP_HOST" "$(guest_ip "$i")" 22 "$(guest_name "$i")" || vp_die "no listener"
done
vp_load_libvirt_rules
write_fixtures
vp_h "$IPT" -w -A FORWARD -s 203.0.113.98/32 -m comment --comment foreign-permanent -j ACCEPT ||
	vp_die "cannot add the foreign rule"
S0=$VP_TMP/snap.before
vp_snapshot "$S0"
echo "# host type $VP_HOSTTYPE, hook $VP_BIN, $N guests"

start_writer
hooks_at_once started begin
stop_writer "started"
check_rules_once
vp_check_eq "data path: $HA:3000 reaches g00" "$(vp_tcp_get "$C" "$HA" 3000)" g00
vp_check_eq "data path: $HA:$((3000 + N - 1)) reaches $(guest_name $((N - 1)))" \
	"$(vp_tcp_get "$C" "$HA" $((3000 + N - 1)))" "$(guest_name $((N - 1)))"

start_writer
hooks_at_once stopped end
stop_writer "stopped"
vp_snapshot "$VP_TMP/snap.after"
vp_check_same_file "after $N concurrent stops: ruleset identical to before" "$S0" "$VP_TMP/snap.after"
vp_check_eq "data path: $HA:3000 closed again" "$(vp_tcp_get "$C" "$HA" 3000)" ""
vp_finish
