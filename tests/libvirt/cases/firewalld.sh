# SPDX-License-Identifier: GPL-2.0-or-later
# firewalld [fwd]: on a host with a real firewalld (Debian's firewalld on its nftables backend,
# libvirt registered with it) the forwards survive the seed's own `firewall-cmd --permanent
# --add-port=2222/tcp; firewall-cmd --reload`, a `--complete-reload` and firewalld restarting.
# - setup firewalld (libvirt's iptables backend through iptables-nft): each of them wipes every
#   iptables table, as firewalld < 2.0 does; libvirt puts its rules back (it listens for
#   firewalld on D-Bus) and runs no hook, our watcher puts ours back. With the watcher killed, a
#   reload leaves the forwards dead; the next hook run starts a new one.
# - setup firewalld-nftables (libvirt's own nftables backend): firewalld flushes the iptables
#   tables and its own, not libvirt's table or ours: our rules stay as they were, handles and
#   all, and with the watcher killed too; firewalld's own forward chain (a base chain on the
#   same hook) lets the forwarded connections through.
# Nobody starts the watcher here: the hooks did when the network and the guests started, as on
# a user's host. The doctor passes after all of it. Only the firewalld setups have a firewalld:
# the others do not run this case (test-e2e.sh).

# Whether firewalld's reloads take our rules away (they are in the iptables tables).
FWD_WIPED=1
[ "$VP_SETUP" != nftables ] || FWD_WIPED=0

run() {
	local before
	pair_up
	vp_ok $? "[fwd] g1 and g2 are up and their forwards answer ($FORWARDS)"
	before=$(our_rules_sorted)
	fwd_watcher
	fwd_survives "$before" "firewall-cmd --permanent --add-port=2222/tcp; firewall-cmd --reload" \
		fwd_seed_reload
	fwd_survives "$before" "firewall-cmd --complete-reload" \
		vp_in_host firewall-cmd -q --complete-reload
	fwd_survives "$before" "firewalld restarted" fwd_restart
	fwd_watcher
	vp_doctor_healthy "[fwd] the doctor passes on the firewalld host after all of it"
	fwd_without_watcher
	vp_in_host firewall-cmd -q --permanent --remove-port=2222/tcp
	fwd_survives "$before" "the port removed again, firewall-cmd --reload" \
		vp_in_host firewall-cmd -q --reload
	guests_gone g1 g2
}

# Exactly one watcher runs in this PID namespace, and the test started none.
fwd_watcher() {
	local pids
	pids=$(pgrep -f -- "virt-portfwd watch-firewalld" | tr '\n' ' ')
	[ "$(wc -w <<<"$pids")" -eq 1 ]
	vp_ok $? "[fwd] one firewalld watcher runs, started by the hooks (pid $pids)"
}

# What the watcher is for: without it a reload takes our rules away for good (libvirt puts its
# own back, no hook runs); on libvirt's nftables backend it takes none of them. Then a hook run
# (reconnect, as at a libvirtd restart) starts a new watcher, which the last reload of the case
# relies on.
fwd_without_watcher() {
	local pid lv0 lh0 h0 _
	pid=$(pgrep -f -- "virt-portfwd watch-firewalld")
	lv0=$(fwd_libvirt_rules)
	lh0=$(fwd_libvirt_handles)
	h0=$(fwd_handles)
	kill "$pid" && while vp_pid_alive "$pid"; do sleep 0.1; done
	vp_in_host firewall-cmd -q --reload
	for _ in $(seq 1 600); do
		fwd_libvirt_back "$lv0" "$lh0" && break
		sleep 0.05
	done
	if [ "$FWD_WIPED" = 1 ]; then
		[ "$(fwd_libvirt_rules)" -ge "$lv0" ] && [ -z "$(vp_our_rules)" ] &&
			vp_tcp_closed "$VP_CNS" "$HOST" 2222
		vp_ok $? "[fwd] the watcher killed, then a reload: libvirt's $lv0 rules are back, none" \
			"of ours, host:2222 dead"
	else
		fwd_libvirt_back "$lv0" "$lh0" && [ "$(fwd_handles)" = "$h0" ] &&
			[ -n "$h0" ] && forwards_work
		vp_ok $? "[fwd] the watcher killed, then a reload: libvirt's $lv0 rules and ours as they" \
			"were (same handles), every forward answers ($FORWARDS)"
	fi
	vp_run_hook g1 reconnect >/dev/null && vp_wait_http "$VP_CNS" "$HOST" 2222 g1 30
	vp_ok $? "[fwd] the hook's reconnect for g1 puts g1's forwards back"
	fwd_watcher
}

fwd_seed_reload() {
	vp_in_host firewall-cmd -q --permanent --add-port=2222/tcp &&
		vp_in_host firewall-cmd -q --reload
}

fwd_restart() {
	vp_firewalld_stop && vp_firewalld_start
}

# The handles nf_tables gave our rules (iptables-nft: our forward chain and its rules; nftables:
# our tables and our rules in libvirt's): made anew, they get new ones.
fwd_handles() {
	if [ "$VP_SETUP" = nftables ]; then
		ip netns exec "$VP_HNS" nft -a list ruleset 2>/dev/null |
			awk '/^table / { ours = ($3 ~ /portfwd/) } ours || /virt-portfwd/' |
			grep -o 'handle [0-9]*' | tr '\n' ' '
		return
	fi
	ip netns exec "$VP_HNS" nft -a list chain ip filter VIRT_PORTFWD_FWD 2>/dev/null |
		grep -o 'handle [0-9]*' | tr '\n' ' '
}

# libvirt's rules in its libvirt_network tables (nftables), with their handles.
fwd_libvirt_nft() {
	# shellcheck disable=SC2016 # expanded by the inner shell
	ip netns exec "$VP_HNS" sh -c 'nft -a list table ip libvirt_network;
		nft -a list table ip6 libvirt_network' 2>/dev/null |
		grep -v virt-portfwd | grep $'^\t\t.*# handle'
}

# The handles of libvirt's rules (nftables; nothing on iptables-nft, where a reload wipes them).
fwd_libvirt_handles() {
	[ "$VP_SETUP" != nftables ] || fwd_libvirt_nft | grep -o 'handle [0-9]*$' | tr '\n' ' '
}

# fwd_libvirt_back LV0 LH0: libvirt's rules are all back after a reload: as many as LV0 (all of
# them were wiped on iptables-nft). On libvirt's nftables backend, which firewalld does not
# touch, libvirt deletes its rules and inserts them again one by one when firewalld reloads (a
# guest's reject before its accept, for a moment): their handles are no longer LH0.
fwd_libvirt_back() {
	[ "$(fwd_libvirt_rules)" -ge "$1" ] || return 1
	[ "$VP_SETUP" != nftables ] || [ "$(fwd_libvirt_handles)" != "$2" ]
}

# libvirt's rules in HOST (IPv4 and IPv6): those in or jumping to a LIBVIRT_ chain
# (iptables-nft), or in its libvirt_network tables (nftables).
fwd_libvirt_rules() {
	if [ "$VP_SETUP" = nftables ]; then
		fwd_libvirt_nft | grep -c .
		return
	fi
	# shellcheck disable=SC2016 # expanded by the inner shell
	ip netns exec "$VP_HNS" sh -c 'iptables-nft-save; ip6tables-nft-save' 2>/dev/null |
		grep -c '^-A .*LIBVIRT_'
}

# fwd_survives BEFORE WHAT COMMAND...: run COMMAND (it wipes the iptables tables); our rules are
# made anew (FWD_WIPED; else they stay, same handles), the same as BEFORE and first, without any
# hook run, and every forward answers again. How long after the command began and after it
# returned they were back is measured.
fwd_survives() {
	local before=$1 what=$2 h0 hooks lv0 lh0 t_cmd t0 t1 rc back=-1 lv=-1 _
	shift 2
	h0=$(fwd_handles)
	lv0=$(fwd_libvirt_rules)
	lh0=$(fwd_libvirt_handles)
	hooks=$(vp_hook_log | grep -c ' run ')
	t_cmd=$(vp_ms)
	"$@"
	rc=$?
	t0=$(vp_ms)
	vp_ok $rc "[fwd] $what (exit $rc, $((t0 - t_cmd)) ms)"
	for _ in $(seq 1 600); do
		[ "$lv" -lt 0 ] && fwd_libvirt_back "$lv0" "$lh0" && lv=$(($(vp_ms) - t0))
		if [ "$back" -lt 0 ] && [ "$(our_rules_sorted)" = "$before" ] && vp_forward_ours_first &&
			vp_forward_ours_first 6; then
			back=$(($(vp_ms) - t0))
		fi
		[ "$back" -ge 0 ] && [ "$lv" -ge 0 ] && break
		sleep 0.05
	done
	t1=$(vp_ms)
	[ "$back" -ge 0 ] && [ "$lv" -ge 0 ] && [ -n "$h0" ] &&
		[ "$(vp_hook_log | grep -c ' run ')" = "$hooks" ] &&
		if [ "$FWD_WIPED" = 1 ]; then [ "$(fwd_handles)" != "$h0" ]; else [ "$(fwd_handles)" = "$h0" ]; fi
	vp_ok $? "[fwd] after $what: our rules were $([ "$FWD_WIPED" = 1 ] && echo "made anew" ||
		echo "left as they were"), the same as before, ours first" \
		"(IPv4, IPv6), with no hook run, ${back} ms after the command returned" \
		"($((t0 + back - t_cmd)) ms after it began; libvirt's $lv0 rules were made anew" \
		"after $lv ms)"
	diff_notes "$before" "$(our_rules_sorted)"
	forwards_work
	vp_ok $? "[fwd] after $what: every forward answers ($FORWARDS, $(($(vp_ms) - t1)) ms more)"
}
