# SPDX-License-Identifier: GPL-2.0-or-later
# faults-sigkill: the hook SIGKILLed (alone, or with the firewall tools of its process group) at
# random points of started, stopped and reconnect, 60 times (VP_KILLS): no rule of ours is ever
# untagged or there twice, never a DNAT of guest1 without its accepts, and the next started,
# stopped or apply converges exactly, the data path with it; guest2 is untouched.
# kinds: nft legacy nftables

# shellcheck source=../lib/faults.sh
. "$VP_LIB/faults.sh"

KILLS=${VP_KILLS:-60}   # SIGKILL iterations

ms_to_s() { printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)); }

# kill_once OP DELAY_MS MODE: start the hook for guest1 in a session of its own, SIGKILL it
# (MODE hook) or its whole process group, firewall tools included (MODE group), after DELAY_MS;
# MODE none: no kill. Prints the hook's exit status (137: killed before it finished) and how
# many milliseconds it ran. What it had started is let finish before the next invocation: a
# real next hook comes seconds later. The delay is a read timing out on a FIFO nobody writes, a
# builtin: sleep(1) would add its own start-up, on a busy host as long as a whole fast hook.
kill_once() {
	[ -p "$VP_TMP/never" ] || mkfifo "$VP_TMP/never" || return 1
	# shellcheck disable=SC2016 # expanded by the inner shell
	ip netns exec "$VP_HOST" env VIRT_PORTFWD_ROOT="$VP_ROOT" XTABLES_LOCKFILE="$VP_LOCK" bash -c '
		exec 3<>"$8"   # read-write: the open does not wait for a writer
		t0=${EPOCHREALTIME//[!0-9]/}
		setsid "$1" guest1 "$2" begin - <"$3" >>"$4" 2>>"$5" 3<&- &
		pid=$!
		exec 2>/dev/null   # no "Killed" job notices
		if [ "$7" != none ]; then
			read -r -t "$6" -u 3 _
			if [ "$7" = group ]; then kill -9 -- "-$pid"; else kill -9 "$pid"; fi 2>/dev/null
		fi
		wait "$pid"
		rc=$?
		t1=${EPOCHREALTIME//[!0-9]/}
		for _ in $(seq 200); do pgrep -s "$pid" >/dev/null || break; sleep 0.01; done
		echo "$rc $(((t1 - t0) / 1000))"' _ "$VP_ROOT/hooks/qemu" "$1" "$VP_FIX/guest1.xml" \
		"$VP_TMP/hook.stdout" "$VP_TMP/hook.stderr" "$(ms_to_s "$2")" "$3" "$VP_TMP/never"
}

# Converge to TARGET (running or stopped) the way libvirt or the administrator would: started
# or apply for a running guest, stopped or apply for a stopped one. Prints the hook's status.
converge() {  # TARGET METHOD
	local rc
	if [ "$1" = running ]; then
		vp_write_status guest1
	else
		rm -f "$VP_ROOT/run/libvirt/qemu/guest1.xml"
	fi
	case "$1:$2" in
	running:hook) vp_hook guest1 started ;;
	stopped:hook) vp_hook guest1 stopped end ;;
	*:apply) vp_cli_env -- apply >/dev/null ;;
	esac
	rc=$?
	echo "$rc"
}

run() {
	local i op mode delay rc t_start t_stop killed=0 target method snap=$VP_TMP/snap.kill
	local s_run=$VP_TMP/snap.run running=0 conv_bad=() owned_bad=() half_bad=() rc_bad=()
	local path_bad=() sampled=0 p want n_full n owned seen_none=0 seen_part=0 seen_full=0 t _
	faults_start_g2
	# How long each takes unkilled: the fastest of 3 runs, so that most kills land mid-run.
	t_start=999999 t_stop=999999
	for _ in 1 2 3; do
		read -r rc t < <(kill_once started 0 none)
		[ "$t" -lt "$t_start" ] && t_start=$t
		vp_snapshot "$s_run"
		n_full=$(vp_g1_rules)
		read -r rc t < <(kill_once stopped 0 none)
		[ "$t" -lt "$t_stop" ] && t_stop=$t
	done
	echo "# measured: SIGKILL: an unkilled started takes ${t_start} ms, stopped ${t_stop} ms"
	for ((i = 1; i <= KILLS; i++)); do
		if [ "$running" = 1 ]; then op=stopped; else op=started; fi
		[ $((i % 5)) = 0 ] && op=reconnect
		# Anywhere from before the hook starts to about when it would have finished.
		if [ "$op" = stopped ]; then t=$t_stop; else t=$t_start; fi
		delay=$((RANDOM % (t + 1)))
		if [ $((i % 2)) = 0 ]; then mode=group; else mode=hook; fi
		read -r rc _ < <(kill_once "$op" "$delay" "$mode")
		[ "$rc" = 137 ] && killed=$((killed + 1))
		# One listing of guest1's rules serves the count and the half-made check.
		owned=$(vp_rules_owned "$VP_G1_UUID")
		n=$(grep -c . <<<"$owned")
		if [ "$n" = 0 ]; then seen_none=$((seen_none + 1))
		elif [ "$n" = "$n_full" ]; then seen_full=$((seen_full + 1))
		else seen_part=$((seen_part + 1)); fi
		p=$(vp_owned_problems)
		[ -z "$p" ] || owned_bad+=("after kill $i ($op at ${delay} ms, $mode): $p")
		# Never a DNAT of guest1 without its accept: that would be a forward half made.
		if [ "$VP_KIND" != nftables ] && [ "$(grep -c -- '-j DNAT' <<<"$owned")" -gt 0 ] &&
			[ "$(grep -c -- '-j ACCEPT' <<<"$owned")" -lt 3 ]; then
			half_bad+=("after kill $i ($op at ${delay} ms): DNAT without its accepts")
		fi
		if [ $((RANDOM % 2)) = 0 ]; then target=running; running=1; else
			target=stopped; running=0; fi
		if [ $((RANDOM % 2)) = 0 ]; then method=hook; else method=apply; fi
		rc=$(converge "$target" "$method")
		[ "$rc" = 0 ] || rc_bad+=("iteration $i: $target by $method exited $rc")
		vp_snapshot "$snap"
		if [ "$target" = running ]; then want=$s_run; else want=$FAULTS_S_G2; fi
		cmp -s "$want" "$snap" ||
			conv_bad+=("kill $i ($op at ${delay} ms, $mode), then $target by $method:"
				"$(diff -u "$want" "$snap" | tail -n +3)")
		p=$(vp_owned_problems)
		[ -z "$p" ] || owned_bad+=("after converging $i: $p")
		if [ $((i % 4)) = 0 ]; then
			sampled=$((sampled + 1))
			if [ "$target" = running ]; then want=guest1; else want=; fi
			[ "$(vp_tcp_get "$VP_CLIENT" "$VP_HOST_ADDR" 2222)" = "$want" ] ||
				path_bad+=("iteration $i: 2222 should give '$want' ($target)")
		fi
	done
	echo "# measured: SIGKILL: $killed of $KILLS hooks were killed before they finished"
	echo "# measured: SIGKILL: guest1 had no rule after $seen_none kills, all $n_full after" \
		"$seen_full, some after $seen_part"
	vp_check "SIGKILL: at least a quarter of the $KILLS hooks were killed mid-run ($killed)" \
		test "$killed" -ge $((KILLS / 4))
	vp_check_eq "SIGKILL: no rule of ours untagged or twice, after any kill or convergence" \
		"${owned_bad[*]}" ""
	vp_check_eq "SIGKILL: never a DNAT of guest1 without its accepts" "${half_bad[*]}" ""
	vp_check_eq "SIGKILL: every started/stopped/apply after a kill exited 0" "${rc_bad[*]}" ""
	p="SIGKILL: after each of $KILLS kills, the next started/stopped/apply converged exactly"
	if [ ${#conv_bad[@]} -eq 0 ]; then vp_ok "$p"; else vp_not_ok "$p" "${conv_bad[@]}"; fi
	vp_check_eq "SIGKILL: the data path matched in $sampled sampled iterations" "${path_bad[*]}" ""
	rm -f "$VP_ROOT/run/libvirt/qemu/guest1.xml"
	vp_hook_ok guest1 stopped end
	faults_check_g2_only "SIGKILL: stopped at the end"
	vp_check_eq "SIGKILL: no state of guest1 left" "$(faults_g1_state)" absent
	faults_stop_g2
}
