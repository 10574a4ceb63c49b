# SPDX-License-Identifier: GPL-2.0-or-later
# firewalld [fwd]: on a host with a real firewalld (setup firewalld: Debian's firewalld on its
# nftables backend, libvirt's iptables backend through iptables-nft, libvirt registered with it)
# the forwards survive what firewalld < 2.0 does to the iptables tables: the seed's own
# `firewall-cmd --permanent --add-port=2222/tcp; firewall-cmd --reload`, a `--complete-reload`
# and firewalld restarting. Each wipes every iptables table; libvirt puts its rules back (it
# listens for firewalld on D-Bus) and runs no hook. Nobody starts the watcher here: the hooks
# did when the network and the guests started, as on a user's host. The doctor passes after all
# of it. With the watcher killed, a reload leaves the forwards dead; the next hook run starts a
# new one. Only the firewalld setup has a firewalld: the others do not run this case
# (test-e2e.sh).

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
# own back, no hook runs). Then a hook run (reconnect, as at a libvirtd restart) starts a new
# watcher, which the last reload of the case relies on.
fwd_without_watcher() {
	local pid lv0 _
	pid=$(pgrep -f -- "virt-portfwd watch-firewalld")
	lv0=$(fwd_libvirt_rules)
	kill "$pid" && while vp_pid_alive "$pid"; do sleep 0.1; done
	vp_in_host firewall-cmd -q --reload
	for _ in $(seq 1 600); do
		[ "$(fwd_libvirt_rules)" -ge "$lv0" ] && break
		sleep 0.05
	done
	[ "$(fwd_libvirt_rules)" -ge "$lv0" ] && [ -z "$(vp_our_rules)" ] &&
		vp_tcp_closed "$VP_CNS" "$HOST" 2222
	vp_ok $? "[fwd] the watcher killed, then a reload: libvirt's $lv0 rules are back, none of" \
		"ours, host:2222 dead"
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

# The handles nf_tables gave our forward chain and its rules: made anew, they get new ones.
fwd_handles() {
	ip netns exec "$VP_HNS" nft -a list chain ip filter VIRT_PORTFWD_FWD 2>/dev/null |
		grep -o 'handle [0-9]*' | tr '\n' ' '
}

# libvirt's rules in HOST (IPv4 and IPv6): those in or jumping to a LIBVIRT_ chain.
fwd_libvirt_rules() {
	# shellcheck disable=SC2016 # expanded by the inner shell
	ip netns exec "$VP_HNS" sh -c 'iptables-nft-save; ip6tables-nft-save' 2>/dev/null |
		grep -c '^-A .*LIBVIRT_'
}

# fwd_survives BEFORE WHAT COMMAND...: run COMMAND (it wipes the iptables tables); our rules are
# made anew, the same as BEFORE and first, without any hook run, and every forward answers
# again. How long after the command began and after it returned they were back is measured.
fwd_survives() {
	local before=$1 what=$2 h0 hooks lv0 t_cmd t0 t1 rc back=-1 lv=-1 _
	shift 2
	h0=$(fwd_handles)
	lv0=$(fwd_libvirt_rules)
	hooks=$(vp_hook_log | grep -c ' run ')
	t_cmd=$(vp_ms)
	"$@"
	rc=$?
	t0=$(vp_ms)
	vp_ok $rc "[fwd] $what (exit $rc, $((t0 - t_cmd)) ms)"
	for _ in $(seq 1 600); do
		[ "$lv" -lt 0 ] && [ "$(fwd_libvirt_rules)" -ge "$lv0" ] && lv=$(($(vp_ms) - t0))
		if [ "$(our_rules_sorted)" = "$before" ] && vp_forward_ours_first &&
			vp_forward_ours_first 6; then
			back=$(($(vp_ms) - t0))
			break
		fi
		sleep 0.05
	done
	t1=$(vp_ms)
	[ "$back" -ge 0 ] && [ "$(fwd_handles)" != "$h0" ] &&
		[ "$(vp_hook_log | grep -c ' run ')" = "$hooks" ]
	vp_ok $? "[fwd] after $what: our rules were made anew, the same as before, ours first" \
		"(IPv4, IPv6), with no hook run, ${back} ms after the command returned" \
		"($((t0 + back - t_cmd)) ms after it began; libvirt's $lv0 rules were back after $lv ms)"
	diff_notes "$before" "$(our_rules_sorted)"
	forwards_work
	vp_ok $? "[fwd] after $what: every forward answers ($FORWARDS, $(($(vp_ms) - t1)) ms more)"
}
