# SPDX-License-Identifier: GPL-2.0-or-later
# hostile-exec: what the hook and the CLI run is only the firewall tools, by absolute path, and the
# hook's own lease waiter, never a shell (seen by libc, by strace and in the source), and every fd the code makes
# is O_CLOEXEC, so none leaks into what it runs.
# kinds: nft legacy nftables

# shellcheck source=../lib/hostile.sh
. "$VP_LIB/hostile.sh"

SRC=${VP_SRCDIR:-$(cd "$VP_LIB/../../.." && pwd)}
vp_faultinj
# The programs the hook may run: the iptables tools, and itself as the lease waiter.
IPT_TOOL='ip6?tables(-nft|-legacy)?(-save|-restore)?'

# What the hook and the CLI ask libc to run, into LOG: guest1's started, reconnect and stopped;
# guest2 without a lease (its waiter is spawned); apply, status and flush.
exec_log_run() {  # LOG
	local op cmd env=("${VP_FAULTINJ_ENV[@]}" "VP_FAULT_EXECLOG=$1")
	vp_write_status guest1
	for op in started reconnect stopped; do
		vp_hook_env guest1 "$op" begin "${env[@]}"
	done
	vp_write_leases "$VP_G1_MAC=$VP_G1_IP"
	vp_hook_env guest2 started begin "${env[@]}"
	vp_hook_env guest2 stopped end "${env[@]}"
	vp_write_leases "$VP_G1_MAC=$VP_G1_IP" "$VP_G2_MAC=$VP_G2_IP"
	for cmd in apply status flush; do
		vp_cli_env "${env[@]}" -- "$cmd" >/dev/null
	done
	rm -f "$VP_ROOT/run/libvirt/qemu/guest1.xml"
	echo "# programs the hook and the CLI asked libc to run:"
	awk '{ print $1, $2 }' "$1" 2>/dev/null | sort | uniq -c | sed 's/^/#   /'
}

# What guest1's started and stopped execve, traced: the paths, one a line.
exec_strace() {
	local op n=0
	vp_write_status guest1
	for op in "started begin" "stopped end"; do
		n=$((n + 1))
		# shellcheck disable=SC2086 # OP is the operation and its sub-operation
		ip netns exec "$VP_HOST" env VIRT_PORTFWD_ROOT="$VP_ROOT" XTABLES_LOCKFILE="$VP_LOCK" \
			strace -f -qq -e trace=execve -e signal=none -o "$VP_TMP/strace.$n" \
			"$VP_ROOT/hooks/qemu" guest1 $op - <"$VP_FIX/guest1.xml" 2>/dev/null
	done
	rm -f "$VP_ROOT/run/libvirt/qemu/guest1.xml"
	cat "$VP_TMP/strace.1" "$VP_TMP/strace.2" | sed -n 's/.*execve("\([^"]*\)".*/\1/p'
}

# Calls in lib/ and hook/ that run a shell or a command line.
exec_shell_offenders() {
	local re='\b(system|popen|execl|execlp|execle|wordexp)\s*\(|"/bin/(ba|da)?sh"|"sh", *"-c"'
	grep -n -E "$re" "$SRC"/lib/*.c "$SRC"/hook/*.c
}

# Calls in lib/ and hook/ that make an fd without asking for O_CLOEXEC; the calls that cannot ask
# (dup, pipe, fopen without "e", mkstemp, ...) are not to be used at all; dup2 only onto stdio.
exec_cloexec_offenders() {
	# (^|[^[:alnum:]_]) is the word start: mawk has no \<.
	local w='(^|[^[:alnum:]_])' can cannot stdio
	can='open|openat|dup3|pipe2|socket|accept4|inotify_init1|memfd_create|epoll_create1'
	can="$w($can|eventfd|signalfd|timerfd_create|fcntl)[(]"
	cannot='dup|pipe|accept|inotify_init|creat|fopen|fdopen|epoll_create|mkstemp|mkstemps'
	cannot="$w($cannot|tmpfile)[(]"
	stdio='dup2[(][^,]*, *(STDIN_FILENO|STDOUT_FILENO|STDERR_FILENO|[012])[)]'
	awk -v can="$can" -v cannot="$cannot" -v dup2="${w}dup2[(]" -v stdio="$stdio" '
		FNR == 1 { on = 0 }
		$0 ~ can { on = 1; stmt = ""; at = FILENAME ":" FNR }
		$0 ~ cannot || ($0 ~ dup2 && $0 !~ stdio) { print FILENAME ":" FNR ": " $0 }
		on {
			stmt = stmt $0
			if ($0 ~ /;/) {
				on = 0
				if (stmt ~ /fcntl\(/ && stmt !~ /F_DUPFD/) next
				if (stmt !~ /CLOEXEC/) print at ": " stmt
			}
		}
	' "$SRC"/lib/*.c "$SRC"/hook/*.c
}

run() {
	local log=$VP_TMP/exec.log bad
	hostile_table "guest1 tcp 2222 22" "guest2 tcp 2322 22"
	exec_log_run "$log"
	bad=$(grep -v -E "^posix_spawn (/usr/sbin/$IPT_TOOL|/proc/self/exe) " "$log" 2>/dev/null)
	vp_check_eq "exec log: only iptables tools from /usr/sbin, by absolute path (never a PATH \
search), and the lease waiter; no shell, no system/popen" "$bad" ""
	vp_check "exec log: the waiter was among them (the log works)" grep -q "/proc/self/exe" "$log"
	if command -v strace >/dev/null; then
		bad=$(exec_strace | grep -v -E "^($VP_ROOT/hooks/qemu|/proc/self/exe|.*/$IPT_TOOL)$")
		vp_check_eq "strace: every execve of started and stopped is the hook or an iptables tool" \
			"$bad" ""
	else
		vp_ok "strace: every execve is the hook or an iptables tool # SKIP strace not installed"
	fi
	vp_check_eq "source: no system(), popen(), exec of a shell in lib/ and hook/" \
		"$(exec_shell_offenders)" ""
	hostile_check_unchanged "no shell"
	vp_check_eq "source: every fd made in lib/ and hook/ is O_CLOEXEC (dup2 onto stdio aside)" \
		"$(exec_cloexec_offenders)" ""
}
