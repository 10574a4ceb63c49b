# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# What the guest life-cycle cases share: concurrent-* (20 guests' hooks at once next to another
# writer of the same tables), lease-* (a guest whose lease comes after 'started': the detached
# waiter) and reconcile-* (forwards kept or put right after libvirt or an administrator changed
# things: the network hook, `apply`, `flush`). Sourced by those case files (run-case.sh has
# loaded lib.sh).

# ---------------------------------------------------------------------------------------------
# concurrent-*: guests g00..g19, each with one forward 3000+i -> 22. Only the first and the last
# have a namespace of their own, with listeners, for the data path.

VP_CONC_N=20

vp_conc_name() { printf 'g%02d' "$1"; }
vp_conc_ip() { echo "192.168.122.$((100 + $1))"; }
vp_conc_mac() { printf '52:54:00:00:01:%02d' "$1"; }
vp_conc_uuid() { printf 'c0ffee00-0000-4000-8000-0000000001%02d' "$1"; }
vp_conc_last() { echo $((VP_CONC_N - 1)); }

# vp_conc_setup: for a case's setup(): the namespaces of the first and last guest, the table,
# leases and domain XML of all 20, and a rule of another program that must stay as it is.
vp_conc_setup() {
	local i ns leases=()
	for i in 0 "$(vp_conc_last)"; do
		ns=$VP_TAG-$(vp_conc_name "$i")
		vp_make_guest "$ns" "$(vp_conc_ip "$i")" "vnet$((100 + i))" || vp_die "guest setup failed"
		vp_listen "$ns" "$(vp_conc_name "$i")"
		vp_wait_tcp "$VP_HOST" "$(vp_conc_ip "$i")" 22 "$(vp_conc_name "$i")" ||
			vp_die "$(vp_conc_name "$i")'s listener does not answer"
	done
	for i in $(seq 0 "$(vp_conc_last)"); do
		echo "$(vp_conc_name "$i")  tcp  $((3000 + i))  22"
	done | vp_write_table
	for i in $(seq 0 "$(vp_conc_last)"); do
		leases+=("$(vp_conc_mac "$i")=$(vp_conc_ip "$i")")
		vp_write_domain "$(vp_conc_name "$i")" "$(vp_conc_uuid "$i")" "$(vp_conc_mac "$i")" \
			"vnet$((100 + i))"
	done
	vp_write_leases "${leases[@]}"
	vp_conc_foreign_permanent || vp_die "cannot add the other program's rule"
}

# The other program's permanent rule: in FORWARD (iptables), in libvirt's forward chain, next to
# our accepts (nftables).
vp_conc_foreign_permanent() {
	if [ "$VP_KIND" = nftables ]; then
		vp_h nft add rule ip libvirt_network forward ip saddr 203.0.113.98 counter accept \
			comment '"foreign-permanent"'
	else
		vp_h "$IPT" -w -A FORWARD -s 203.0.113.98/32 -m comment --comment foreign-permanent \
			-j ACCEPT
	fi
}

# The ruleset where the guests' rules and the other program's live: the IPv4 tables (iptables)
# or every nftables table.
vp_conc_listing() {
	if [ "$VP_KIND" = nftables ]; then vp_h nft list ruleset; else vp_h "$IPT_SAVE"; fi
}

# vp_conc_writer_start: the other writer, in the host namespace. It adds and deletes a rule of
# its own in a loop (iptables: FORWARD, with the same xtables lock; nftables: libvirt's forward
# chain, deleted by its handle), never stopping between the two, until vp_conc_writer_stop.
VP_CONC_WRITER=
vp_conc_writer_start() {
	rm -f "$VP_TMP/writer.stop"
	# shellcheck disable=SC2016 # expanded by the inner shell
	vp_h bash -c 'once() {
			local h
			if [ "$1" = nftables ]; then
				h=$(nft -ae add rule ip libvirt_network forward ip saddr 203.0.113.99 accept |
					sed -n "s/.* # handle \([0-9][0-9]*\)\$/\1/p")
				[ -n "$h" ] && nft delete rule ip libvirt_network forward handle "$h"
			else
				"$2" -w -A FORWARD -s 203.0.113.99/32 -j ACCEPT &&
					"$2" -w -D FORWARD -s 203.0.113.99/32 -j ACCEPT
			fi
		}
		n=0
		while [ ! -e "$3" ]; do
			once "$1" "$2" || exit 1
			n=$((n + 1))
		done
		echo "$n" >"$4"' _ "$VP_KIND" "$IPT" "$VP_TMP/writer.stop" "$VP_TMP/writer.count" &
	VP_CONC_WRITER=$!
	VP_PIDS+=("$VP_CONC_WRITER")
}

vp_conc_writer_stop() {  # WHEN
	local rc
	touch "$VP_TMP/writer.stop"
	wait "$VP_CONC_WRITER"
	rc=$?
	vp_check_eq "$1: the other writer's add/delete loop never failed" "$rc" 0
	echo "# $1: the other writer ran $(cat "$VP_TMP/writer.count" 2>/dev/null) loops meanwhile"
}

# vp_conc_hooks OP SUBOP: OP for all guests at once; every hook exited 0, none wrote to stdout.
vp_conc_hooks() {
	local i pids=() bad=0
	for i in $(seq 0 "$(vp_conc_last)"); do
		(vp_hook "$(vp_conc_name "$i")" "$1" "$2"; echo $? >"$VP_TMP/rc.$i") &
		pids+=("$!")
	done
	wait "${pids[@]}"
	for i in $(seq 0 "$(vp_conc_last)"); do
		[ "$(cat "$VP_TMP/rc.$i" 2>/dev/null)" = 0 ] || bad=$((bad + 1))
	done
	vp_check_eq "$VP_CONC_N concurrent '$1': every hook exited 0" "$bad failed" "0 failed"
	vp_check_eq "$VP_CONC_N concurrent '$1': nothing on stdout" \
		"$(stat -c %s "$VP_TMP/hook.stdout" 2>/dev/null || echo 0)" 0
}

# Where each rule tagged TAG is in LISTING (vp_conc_listing), one a line: its chain (iptables),
# TABLE/CHAIN (nftables).
vp_conc_places() {  # LISTING TAG
	if [ "$VP_KIND" = nftables ]; then
		awk -v t="comment \"$2\"" '/^table /{ tb = $3 } /^\tchain /{ c = $2 }
			index($0, t) { print tb "/" c }' <<<"$1"
	else
		grep -F -- "$2" <<<"$1" | awk '{ print $2 }'
	fi
}

# The places of one guest's 4 rules (one forward), sorted, space separated.
vp_conc_expected_places() {
	if [ "$VP_KIND" = nftables ]; then
		echo "libvirt_network/forward virt_portfwd/output virt_portfwd/postrouting" \
			"virt_portfwd/prerouting "
	else
		echo "VIRT_PORTFWD_FWD VIRT_PORTFWD_OUT VIRT_PORTFWD_POST VIRT_PORTFWD_PRE "
	fi
}

# vp_conc_check_guest LISTING I: guest I's 4 rules are there once each, in the right places.
vp_conc_check_guest() {
	local tag n u places
	tag=virt-portfwd:$(vp_conc_uuid "$2")
	n=$(grep -cF -- "$tag" <<<"$1")
	u=$(grep -F -- "$tag" <<<"$1" | sort -u | grep -c .)
	places=$(vp_conc_places "$1" "$tag" | sort | tr '\n' ' ')
	if [ "$n" = 4 ] && [ "$u" = 4 ] && [ "$places" = "$(vp_conc_expected_places)" ]; then
		vp_ok "$(vp_conc_name "$2"): its 4 rules present exactly once"
	else
		vp_not_ok "$(vp_conc_name "$2"): its 4 rules present exactly once" \
			"$n tagged rules, $u distinct, in: $places" "$(grep -F -- "$tag" <<<"$1")"
	fi
}

# The hooks into our chains are there once: iptables, the jump from each built-in chain (in
# LISTING); nftables, libvirt's own jumps in its forward chain (where our accepts go, listed
# here: LISTING has the ip6 table's too) and our base chains.
vp_conc_check_jumps() {  # LISTING
	local i listing=$1
	if [ "$VP_KIND" = nftables ]; then
		listing=$(vp_h nft list chain ip libvirt_network forward)
		for i in guest_cross guest_input guest_output; do
			vp_check_eq "libvirt's jump forward -> $i exactly once" \
				"$(grep -c -- " jump $i\$" <<<"$listing")" 1
		done
		vp_check_eq "table ip virt_portfwd: its 3 base chains, once each" \
			"$(vp_h nft list table ip virt_portfwd | grep -c 'type nat hook')" 3
		return
	fi
	for i in PREROUTING:PRE OUTPUT:OUT POSTROUTING:POST FORWARD:FWD; do
		vp_check_eq "jump ${i%%:*} -> VIRT_PORTFWD_${i#*:} exactly once" \
			"$(grep -c -- "^-A ${i%%:*} .*-j VIRT_PORTFWD_${i#*:}\$" <<<"$listing")" 1
	done
}

# After the 20 concurrent starts: each guest's rules once, the hooks into our chains once, the
# other program's rules neither lost nor duplicated, every rule of ours tagged.
vp_conc_check_rules_once() {
	local listing i
	listing=$(vp_conc_listing)
	for i in $(seq 0 "$(vp_conc_last)"); do
		vp_conc_check_guest "$listing" "$i"
	done
	vp_conc_check_jumps "$listing"
	vp_check_eq "the permanent foreign rule is there exactly once" \
		"$(grep -c -- 'foreign-permanent' <<<"$listing")" 1
	vp_check_eq "the other writer's looping rule is gone (its last delete was kept)" \
		"$(grep -c -- '203.0.113.99' <<<"$listing")" 0
	vp_check_owned "after $VP_CONC_N concurrent starts"
}

# vp_conc_check_reach I: the client reaches guest I (one with a namespace) on its forward.
vp_conc_check_reach() {
	local port=$((3000 + $1)) name
	name=$(vp_conc_name "$1")
	vp_check_eq "data path: $VP_HOST_ADDR:$port reaches $name" \
		"$(vp_tcp_get "$VP_CLIENT" "$VP_HOST_ADDR" "$port")" "$name"
}

# ---------------------------------------------------------------------------------------------
# lease-*: guest1 with one forward, 2222 -> 22, whose lease may come late.

vp_lease_table() {  # guest1's table
	echo "guest1    tcp    2222        22" | vp_write_table
}

vp_lease_none_yet() {  # libvirt's leases file as before any guest got a lease: empty
	: >"$VP_ROOT/var/lib/libvirt/dnsmasq/virbr0.status"
}

vp_lease_came() {  # guest1's lease written, as libvirt's leases helper does
	vp_write_leases "$VP_G1_MAC=$VP_G1_IP"
}

# vp_lease_wait_forward_ms EXPECTED SECONDS: poll up to SECONDS for client -> 2222 to answer
# EXPECTED; prints the milliseconds it took.
vp_lease_wait_forward_ms() {  # EXPECTED SECONDS
	local t0 i
	t0=${EPOCHREALTIME//[!0-9]/}
	for ((i = 0; i < $2 * 10; i++)); do
		[ "$(vp_tcp_get "$VP_CLIENT" "$VP_HOST_ADDR" 2222)" = "$1" ] && break
		sleep 0.1
	done
	echo $(((${EPOCHREALTIME//[!0-9]/} - t0) / 1000))
}

vp_lease_waiters() {  # how many waiters guest1 has
	vp_waiters "$VP_G1_UUID"
}

# vp_lease_waiters_gone SECONDS: wait up to SECONDS for guest1's waiters to be gone (an exiting
# waiter may take a while on a busy machine, or under ASan); then print how many are left.
vp_lease_waiters_gone() {
	local i
	for ((i = 0; i < $1 * 10; i++)); do
		[ "$(vp_lease_waiters)" = 0 ] && break
		sleep 0.1
	done
	vp_lease_waiters
}

# ---------------------------------------------------------------------------------------------
# reconcile-*: guest1 (2222 -> 22) and guest2 (2322 -> 22) running, libvirt's status files
# written for both, as `apply` and the network hook read them.

vp_recon_table() {
	vp_write_table <<-'EOF'
	guest1    tcp    2222        22
	guest2    tcp    2322        22
	EOF
}

vp_recon_start() {  # the table written, both guests started and their status files there
	vp_recon_table
	vp_hook_ok guest1 started
	vp_hook_ok guest2 started
	vp_write_status guest1
	vp_write_status guest2
}

vp_recon_works() {  # DESCRIPTION: both guests reachable on their forwards
	vp_check_eq "$1: 2222 reaches guest1" "$(vp_tcp_get "$VP_CLIENT" "$VP_HOST_ADDR" 2222)" guest1
	vp_check_eq "$1: 2322 reaches guest2" "$(vp_tcp_get "$VP_CLIENT" "$VP_HOST_ADDR" 2322)" guest2
}

vp_recon_stop() {  # GUEST...: stopped as libvirt stops them, their status files gone
	local g
	for g in "$@"; do
		vp_hook_ok "$g" stopped end
		rm -f "$VP_ROOT/run/libvirt/qemu/$g.xml"
	done
}
