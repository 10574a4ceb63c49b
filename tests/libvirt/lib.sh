# Hermetic real-libvirt environment for the end-to-end suite (sourced by test-e2e.sh).
#
# Isolation, outermost first:
#  - a private PID + mount namespace (unshare --fork --kill-child): when the test ends, however it
#    ends, the kernel kills every process started inside (libvirtd, virtlogd, dnsmasq, qemu);
#  - in it, tmpfs over /run and overlays (upper layer on that tmpfs) over /etc, /usr/local,
#    /var/lib/libvirt, /var/log/libvirt and /var/cache/libvirt: libvirt's configuration, state,
#    the installed hook and the forward table are private copies, nothing is written to the
#    machine's files;
#  - two network namespaces made with `ip netns add` (their handles live in the private /run):
#    HOST runs libvirtd, so virbr0, dnsmasq and every firewall rule live there; CLIENT is the
#    outside world on a veth, 198.51.100.2 -> 198.51.100.1 and 2001:db8:1::2 -> 2001:db8:1::1
#    (documentation ranges).
# The machine's own firewall is never read or written: every iptables/nft call runs in HOST.

# Set by test-e2e.sh before this file is sourced: VP_SETUP, VP_BIN, VP_SRCDIR, VP_IMAGE.
VP_NET_PREFIX=192.168.122
VP_HOST_ADDR=198.51.100.1
VP_CLIENT_ADDR=198.51.100.2
# IPv6: the uplink, and libvirt's network (dual stack, NAT66) whose guests in VP_V6_GUESTS get a
# static address (the guest image has no DHCPv6 client).
VP_HOST_ADDR6=2001:db8:1::1
VP_CLIENT_ADDR6=2001:db8:1::2
VP_NET6_PREFIX=2001:db8:122
VP_RUN=/run/vp-e2e
VP_LOG=/var/log/libvirt/libvirtd.log
# Where the current case's part of VP_LOG starts (bytes): the runner moves it before each case,
# so that what a case reads of the hook's runs is its own.
VP_LOG_FROM=0
VP_TAP_N=0
VP_TAP_FAILED=0
VP_DIAG_LEFT=${VP_DIAG_LEFT:-6}

vp_note() { printf '# %s\n' "$*"; }
vp_die() { printf 'Bail out! %s\n' "$*"; exit 1; }

# --- TAP ---------------------------------------------------------------------------------------

# vp_ok STATUS DESCRIPTION...: STATUS 0 is a pass. The DESCRIPTION words are joined with a space
# (a long one is written over several lines). A failure prints the diagnostics.
vp_ok() {
	local st=$1
	shift
	VP_TAP_N=$((VP_TAP_N + 1))
	if [ "$st" -eq 0 ]; then
		printf 'ok %d - %s\n' "$VP_TAP_N" "$*"
	else
		printf 'not ok %d - %s\n' "$VP_TAP_N" "$*"
		VP_TAP_FAILED=$((VP_TAP_FAILED + 1))
		vp_diag "$*"
	fi
}

vp_done() {
	printf '1..%d\n' "$VP_TAP_N"
	vp_note "$((VP_TAP_N - VP_TAP_FAILED)) passed, $VP_TAP_FAILED failed"
}

vp_ms() { date +%s%3N; }

# --- namespaces and private file systems -------------------------------------------------------

# Re-exec the calling script inside a fresh PID + mount namespace (once).
vp_enter_private() {
	[ -n "${VP_E2E_INNER:-}" ] && return 0
	command -v unshare >/dev/null || vp_die "unshare (util-linux) not found"
	export VP_E2E_INNER=1 VP_E2E_ID=$$
	exec unshare --pid --fork --kill-child=SIGTERM --mount --mount-proc --propagation private \
		"$BASH" "$0" "$@"
}

# Overlay DIR with a writable layer kept in the private tmpfs.
vp_overlay() {
	local dir=$1 tag
	[ -d "$dir" ] || vp_die "$dir does not exist (run tests/libvirt/install-deps.sh)"
	tag=$(printf '%s' "$dir" | tr / _)
	mkdir -p "$VP_RUN/ov/$tag/up" "$VP_RUN/ov/$tag/work"
	mount -t overlay "vp-e2e$tag" \
		-o "lowerdir=$dir,upperdir=$VP_RUN/ov/$tag/up,workdir=$VP_RUN/ov/$tag/work" "$dir"
}

# VP_LIBVIRT=SERIES (test-e2e.sh fetched its tree into VP_LIBVIRT_TREE): that libvirt's /usr laid
# read-only over the machine's, so that every libvirt program, library, helper and driver module
# is the series' own. Before the /usr/local overlay, which would be hidden under it.
vp_libvirt_overlay() {
	[ -n "${VP_LIBVIRT:-}" ] || return 0
	mount -t overlay vp-e2e-libvirt -o "lowerdir=$VP_LIBVIRT_TREE/usr:/usr" /usr ||
		vp_die "cannot lay libvirt $VP_LIBVIRT ($VP_LIBVIRT_TREE) over /usr"
}

vp_mount_private() {
	mount -t tmpfs -o mode=0755 vp-e2e-run /run || vp_die "cannot mount a private /run"
	mkdir -p "$VP_RUN" /run/lock /run/libvirt
	vp_libvirt_overlay
	local d
	for d in /etc /usr/local /var/lib/libvirt /var/log/libvirt /var/cache/libvirt; do
		vp_overlay "$d" || vp_die "cannot overlay $d"
	done
}

vp_netns_setup() {
	VP_HNS=vp-host-$VP_E2E_ID
	VP_CNS=vp-client-$VP_E2E_ID
	if ! ip netns add "$VP_HNS" || ! ip netns add "$VP_CNS"; then
		vp_die "ip netns add failed"
	fi
	ip -n "$VP_HNS" link set lo up
	ip -n "$VP_CNS" link set lo up
	# The veth is created inside HOST: no interface ever appears in the machine's namespace.
	ip -n "$VP_HNS" link add up0 type veth peer name up0 netns "$VP_CNS" || vp_die "veth failed"
	ip -n "$VP_HNS" addr add "$VP_HOST_ADDR/24" dev up0
	ip -n "$VP_CNS" addr add "$VP_CLIENT_ADDR/24" dev up0
	# nodad: usable at once, no wait for duplicate address detection.
	ip -n "$VP_HNS" addr add "$VP_HOST_ADDR6/64" dev up0 nodad
	ip -n "$VP_CNS" addr add "$VP_CLIENT_ADDR6/64" dev up0 nodad
	ip -n "$VP_HNS" link set up0 up
	ip -n "$VP_CNS" link set up0 up
}

# Run a command in HOST with libvirtd's environment (same PATH, so the same iptables).
vp_in_host() {
	ip netns exec "$VP_HNS" env -i PATH="$VP_PATH" HOME=/root LC_ALL=C "$@"
}
vp_in_client() { ip netns exec "$VP_CNS" "$@"; }

# Firewall helpers (setup, listings, resets, the self-check) and the doctor's.
. "$(dirname "${BASH_SOURCE[0]}")/lib-fw.sh"
. "$(dirname "${BASH_SOURCE[0]}")/lib-doctor.sh"

# --- libvirt -----------------------------------------------------------------------------------

vp_virsh() { virsh -q -c qemu:///system "$@"; }

vp_libvirt_config() {
	local b
	# Start from an empty libvirt: no domains, networks, autostart links or hooks of the machine's.
	rm -rf /etc/libvirt/qemu/*.xml /etc/libvirt/qemu/autostart /etc/libvirt/qemu/networks/*.xml \
		/etc/libvirt/qemu/networks/autostart/* /etc/libvirt/hooks /var/lib/libvirt/dnsmasq \
		/var/lib/libvirt/qemu/* /var/log/libvirt/qemu/* /etc/virt-portfwd
	mkdir -p /etc/libvirt/hooks /etc/virt-portfwd
	# qemu as root without security driver or cgroups: no systemd/cgroup manager on this machine.
	cat >/etc/libvirt/qemu.conf <<-'EOF'
	user = "root"
	group = "root"
	dynamic_ownership = 0
	security_driver = "none"
	cgroup_controllers = [ ]
	namespaces = [ ]
	EOF
	b=iptables
	[ "$VP_SETUP" = nftables ] && b=nftables
	printf 'firewall_backend = "%s"\n' "$b" >/etc/libvirt/network.conf
	# util.command at debug level records every command libvirtd runs, with its exit status and
	# stderr: the hook's log lines and libvirt's own iptables calls, for the diagnostics.
	cat >/etc/libvirt/libvirtd.conf <<-EOF
	log_filters = "1:util.command 1:util.hook 3:*"
	log_outputs = "1:file:$VP_LOG"
	EOF
}

# Install the hook the way the README's install does (`meson install`): the binary in
# /usr/local/sbin (overlaid), then the project's own install script links it into
# /etc/libvirt/hooks (qemu and network, or qemu.d/ and network.d/). libvirtd reads hooks at start.
vp_install_hook() {
	local bin=/usr/local/sbin/virt-portfwd script=$VP_SRCDIR/hook/install-hook.sh
	mkdir -p /usr/local/sbin
	# shellcheck disable=SC2153 # VP_BIN comes from test-e2e.sh (meson sets it)
	install -m 0755 "$VP_BIN" "$bin" || return 1
	if [ -f "$script" ]; then
		sh "$script" "$bin" /etc/libvirt/hooks 2>&1 | sed 's/^/# install: /'
	else
		ln -s "$bin" /etc/libvirt/hooks/qemu && ln -s "$bin" /etc/libvirt/hooks/network
	fi
	[ -x /etc/libvirt/hooks/qemu ] && [ -x /etc/libvirt/hooks/network ]
}

# Alive and not a zombie (daemons are reparented to this script, their PID namespace's init,
# and stay zombies until it reaps them).
vp_pid_alive() {
	local stat
	[ -n "$1" ] && stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[ "${stat%% *}" != Z ]
}

# A liveness wait (60 s): libvirtd starts in a second or two, far slower on a loaded machine.
vp_wait_libvirtd() {
	local _
	for _ in $(seq 1 600); do
		vp_virsh version >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

vp_start_daemons() {
	if ! vp_pid_alive "$(cat /run/virtlogd.pid 2>/dev/null)"; then
		vp_in_host virtlogd -d || return 1
	fi
	vp_in_host libvirtd -d || return 1
	vp_wait_libvirtd
}

# --- firewalld (setup firewalld) ---------------------------------------------------------------

# A private system bus (dbus-daemon with Debian's system configuration: its socket is
# /run/dbus/system_bus_socket in the private /run) and a real firewalld in HOST on it, started
# before libvirtd so that libvirtd registers its network with it (zone libvirt), as on a
# firewalld host. Its log goes to VP_RUN; both die with the PID namespace.
vp_firewalld_start() {
	if [ ! -S /run/dbus/system_bus_socket ]; then
		mkdir -p /run/dbus
		dbus-daemon --system --fork 2>>"$VP_RUN/dbus.log" || return 1
	fi
	vp_in_host firewalld --log-target file --log-file "$VP_RUN/firewalld.log" || return 1
	vp_firewalld_wait
}

# Until firewalld answers on the bus (a liveness wait, 60 s).
vp_firewalld_wait() {
	local _
	for _ in $(seq 1 600); do
		[ "$(vp_in_host firewall-cmd --state 2>/dev/null)" = running ] && return 0
		sleep 0.1
	done
	return 1
}

# SIGTERM to firewalld, then until it is gone (it cleans its rules up on the way out).
vp_firewalld_stop() {
	local pid _
	pid=$(cat /run/firewalld.pid 2>/dev/null) && vp_pid_alive "$pid" || return 1
	kill -TERM "$pid"
	for _ in $(seq 1 300); do
		vp_pid_alive "$pid" || return 0
		sleep 0.1
	done
	return 1
}

vp_stop_libvirtd() {
	local pid _
	pid=$(cat /run/libvirtd.pid 2>/dev/null) || return 0
	vp_pid_alive "$pid" || return 0
	kill -TERM "$pid"
	for _ in $(seq 1 100); do
		vp_pid_alive "$pid" || return 0
		sleep 0.1
	done
	vp_note "libvirtd ($pid) ignored SIGTERM for 10 s, killing it"
	kill -KILL "$pid" 2>/dev/null
	while vp_pid_alive "$pid"; do sleep 0.1; done
}

# Guest N: fixed MAC vp_mac N. Guests listed in VP_STATIC_GUESTS get a static DHCP host entry
# (mac -> ip, the hook resolves it from the network's status XML at once); the others get a
# dynamic lease from the range, which the hook only knows once dnsmasq wrote it (issue 3: test
# both). One more guest, VP_IP_GUEST, is reserved by name only (dnsmasq matches the hostname the
# guest sends): the hook cannot resolve it by MAC, so its table entry names the address (ip=).
# The guests in VP_V6_GUESTS also have an IPv6 address, vp_gip6 N, set on their kernel command
# line; those in VP_V6_STATIC_GUESTS have a DHCPv6 reservation of it by DUID-LL (0:3:0:1:MAC),
# which the hook resolves from the network's status XML; the others need ip= in the table.
VP_STATIC_GUESTS="1 2 3 4 5 8 9"
VP_IP_GUEST=g-ip
VP_IP_GUEST_ADDR=$VP_NET_PREFIX.50
VP_V6_GUESTS="1 2"
VP_V6_STATIC_GUESTS="2"
vp_mac() { printf '52:54:00:e2:e0:%02x' "$1"; }
vp_gip() { printf '%s.%d' "$VP_NET_PREFIX" $((10 + $1)); }
vp_gip6() { printf '%s::%d' "$VP_NET6_PREFIX" $((10 + $1)); }
vp_in_list() { [[ " $2 " == *" $1 "* ]]; }

# The network is dual stack: IPv4 as before, and an IPv6 subnet with NAT66 (libvirt >= 6.5),
# a DHCPv6 range and router advertisements by dnsmasq. IPv4 behaviour is the same as on an
# IPv4-only network; libvirt adds its ip6 rules and turns IPv6 forwarding on in HOST.
vp_define_network() {
	local n hosts="" hosts6=""
	for n in $VP_STATIC_GUESTS; do
		hosts+="<host mac='$(vp_mac "$n")' name='g$n' ip='$(vp_gip "$n")'/>"
	done
	hosts+="<host name='$VP_IP_GUEST' ip='$VP_IP_GUEST_ADDR'/>"
	for n in $VP_V6_STATIC_GUESTS; do
		hosts6+="<host id='0:3:0:1:$(vp_mac "$n")' ip='$(vp_gip6 "$n")'/>"
	done
	cat >"$VP_RUN/net-default.xml" <<-EOF
	<network>
	  <name>default</name>
	  <forward mode='nat'>
	    <nat ipv6='yes'/>
	  </forward>
	  <bridge name='virbr0' stp='off' delay='0'/>
	  <ip address='$VP_NET_PREFIX.1' netmask='255.255.255.0'>
	    <dhcp>
	      <range start='$VP_NET_PREFIX.100' end='$VP_NET_PREFIX.254'/>
	      $hosts
	    </dhcp>
	  </ip>
	  <ip family='ipv6' address='$VP_NET6_PREFIX::1' prefix='64'>
	    <dhcp>
	      <range start='$VP_NET6_PREFIX::100' end='$VP_NET6_PREFIX::1ff'/>
	      $hosts6
	    </dhcp>
	  </ip>
	</network>
	EOF
	vp_virsh net-define "$VP_RUN/net-default.xml" >/dev/null && vp_virsh net-start default >/dev/null
}

# vp_define_guest N [NAME [OPTIONS]]: NAME defaults to gN; the MAC is always vp_mac N. OPTIONS
# are more kernel command line words for the guest's init (vpclaim=, vpsshkey=, vpip4=, vpslaac=:
# build-image.sh).
vp_define_guest() {
	local n=$1 name=${2:-g$1} v6="" more=${3:+ $3} features=""
	vp_in_list "$n" "$VP_V6_GUESTS" && v6=" vpip6=$(vp_gip6 "$n")/64 vpgw6=$VP_NET6_PREFIX::1"
	# libvirt 9.0 starts a guest without <acpi/> with `-no-acpi`, which the QEMU installed beside
	# libvirt 11.3 (10.0, bookworm-backports) refuses: "-no-acpi: invalid option". 11.3's guests
	# stay as they were.
	[ "${VP_LIBVIRT:-}" = 9.0 ] && features="<features><acpi/></features>"
	cat >"$VP_RUN/$name.xml" <<-EOF
	<domain type='qemu'>
	  <name>$name</name>
	  <memory unit='MiB'>128</memory>
	  <vcpu>1</vcpu>
	  <os>
	    <type arch='x86_64' machine='pc'>hvm</type>
	    <kernel>$VP_IMAGE/vmlinuz</kernel>
	    <initrd>$VP_IMAGE/initrd.gz</initrd>
	    <cmdline>console=ttyS0 quiet panic=-1 vpname=$name$v6$more</cmdline>
	  </os>
	  $features
	  <on_poweroff>destroy</on_poweroff>
	  <on_reboot>destroy</on_reboot>
	  <on_crash>destroy</on_crash>
	  <devices>
	    <emulator>/usr/bin/qemu-system-x86_64</emulator>
	    <interface type='network'>
	      <source network='default'/>
	      <mac address='$(vp_mac "$n")'/>
	      <model type='virtio'/>
	      <rom enabled='no'/>
	    </interface>
	    <serial type='file'>
	      <source path='$VP_RUN/console-$name.log'/>
	      <target port='0'/>
	    </serial>
	    <controller type='usb' model='none'/>
	    <memballoon model='none'/>
	  </devices>
	</domain>
	EOF
	vp_virsh define "$VP_RUN/$name.xml" >/dev/null
}

# Start guest NAME; prints how long `virsh start` took, in ms. The console is reset first so a
# VP-READY line is always from this boot.
vp_start_guest() {
	local t0 rc
	: >"$VP_RUN/console-$1.log"
	t0=$(vp_ms)
	vp_virsh start "$1" >/dev/null
	rc=$?
	echo $(($(vp_ms) - t0))
	return $rc
}

# Wait until guest NAME printed VP-READY (booted, DHCP lease, listeners up). A liveness wait:
# a boot takes ~8 s under TCG on an idle machine, far more on a loaded one (default 120 s).
vp_wait_ready() {
	local name=$1 timeout=${2:-120} _
	for _ in $(seq 1 $((timeout * 5))); do
		grep -q "^VP-READY $name " "$VP_RUN/console-$name.log" 2>/dev/null && return 0
		sleep 0.2
	done
	return 1
}

vp_destroy_all() {
	local d
	for d in $(vp_virsh list --name 2>/dev/null); do
		timeout 30 virsh -q -c qemu:///system destroy "$d" >/dev/null 2>&1
	done
}

# Run the installed hook by hand, exactly as libvirt does: NAME OP SUB EXTRA, domain XML on stdin.
# Output: the hook's stdout (must stay empty); its stderr goes to $VP_RUN/hook-manual.log.
vp_run_hook() {
	local name=$1 op=$2 xml
	xml=$(vp_virsh dumpxml "$name") || return 1
	printf '%s\n' "$xml" | vp_in_host /etc/libvirt/hooks/qemu "$name" "$op" begin - \
		2>>"$VP_RUN/hook-manual.log"
}

# --- traffic ------------------------------------------------------------------------------------

# vp_sock PROTO ADDR PORT: socat's address for it, IPv4 or IPv6 (TCP6:[ADDR]:PORT).
vp_sock() {
	case "$2" in
	*:*) printf '%s6:[%s]:%s' "$1" "$2" "$3" ;;
	*) printf '%s:%s:%s' "$1" "$2" "$3" ;;
	esac
}

# vp_http NS ADDR PORT [PATH]: the last line of the HTTP answer (the serving guest's name).
vp_http() {
	local ns=$1 addr=$2 port=$3 path=${4:-/}
	printf 'GET %s HTTP/1.0\r\n\r\n' "$path" |
		ip netns exec "$ns" timeout 12 socat -t 5 -T 10 - "$(vp_sock TCP "$addr" "$port"),connect-timeout=3" 2>/dev/null |
		tail -n 1 | tr -d '\r'
}

# vp_udp NS ADDR PORT MSG: the echo ("NAME MSG") or nothing. Nothing means no echo came in 3 s;
# an echo ends the wait at once. (socat alone would wait its whole -t after the message was sent,
# echo or not: the message's writer keeps socat's input open instead, until the echo is in OUT
# or the 3 s are over; socat's -T 3 bounds it as before.)
vp_udp() {
	local out i
	out=$(mktemp "$VP_RUN/udp.XXXXXX") || return 1
	{
		printf '%s' "$4"
		for i in $(seq 1 30); do
			[ -s "$out" ] && break
			sleep 0.1
		done
	} | ip netns exec "$1" timeout 6 socat -t 0.2 -T 3 - "$(vp_sock UDP "$2" "$3")" >"$out" 2>/dev/null
	cat "$out"
	rm -f "$out"
}

# Poll until client -> ADDR:PORT answers with EXPECT; TIMEOUT in seconds.
vp_wait_http() {
	local ns=$1 addr=$2 port=$3 expect=$4 timeout=${5:-60} t_end
	t_end=$(($(date +%s) + timeout))
	while [ "$(date +%s)" -lt "$t_end" ]; do
		[ "$(vp_http "$ns" "$addr" "$port")" = "$expect" ] && return 0
		sleep 0.2
	done
	return 1
}

# A TCP port is closed when the connection fails outright (refused or no route): no answer.
vp_tcp_closed() {
	printf 'GET / HTTP/1.0\r\n\r\n' |
		ip netns exec "$1" timeout 6 socat -T 3 - "$(vp_sock TCP "$2" "$3"),connect-timeout=3" >/dev/null 2>&1 && return 1
	return 0
}

# --- lease waiters ------------------------------------------------------------------------------

# PIDs of running lease waiters (`virt-portfwd __wait-lease UUID SECONDS`), all or one guest's.
# This script runs in its own PID namespace: only waiters of this test's libvirtd are seen.
vp_waiters() {
	pgrep -f -- "__wait-lease${1:+ $1}" 2>/dev/null | tr '\n' ' ' | sed 's/ $//'
	return 0
}

# Until no waiter (of UUID, or any) is left, at most TIMEOUT seconds (default 2): a waiter that
# was told to stop exits within a second.
vp_no_waiter() {
	local t_end=$(($(vp_ms) + ${2:-2} * 1000))
	while [ -n "$(vp_waiters "${1:-}")" ]; do
		[ "$(vp_ms)" -ge "$t_end" ] && return 1
		sleep 0.1
	done
	return 0
}

# --- diagnostics --------------------------------------------------------------------------------

# The hook's invocations from libvirtd's log since VP_LOG_FROM (the current case's), each with its
# exit status and stderr (libvirt logs a command's "About to run" and "Result" records on the
# same thread; records can span lines).
vp_hook_log() {
	tail -c +$((VP_LOG_FROM + 1)) "$VP_LOG" 2>/dev/null | awk '
	/^[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] / {
		split($0, f, ": "); thread = f[2]; keep = 0
		if ($0 ~ /About to run .*hooks\/(qemu|network)/) { hook[thread] = 1; keep = 1 }
		else if ($0 ~ /Result / && hook[thread]) { hook[thread] = 0; keep = 1 }
	}
	keep { print }' |
		sed -E -e 's/^([^ ]+ [^ ]+): ([0-9]+): debug : [^:]+:[0-9]+ : /\1 [\2] /' -e 's/About to run .* HOME=[^ ]* /run /'
}

# How long libvirtd's last run of the hook for NAME OP took, in ms (from its log's timestamps;
# hooks of different guests run concurrently, so a run is paired with the Result of its thread).
vp_hook_ms() {
	vp_hook_log | awk -v pat="hooks/qemu $1 $2 " '
	function ms(t, a) { split(t, a, ":"); return ((a[1] * 60 + a[2]) * 60 + a[3]) * 1000 }
	index($0, pat) { t0 = ms(substr($2, 1, 12)); th = $3; want = 1; next }
	want && $3 == th && $4 == "Result" { d = ms(substr($2, 1, 12)) - t0; want = 0 }
	END { if (d == "") exit 1; printf "%d\n", d }'
}

# How many runs of the hook for NAME OP libvirtd has completed so far (run paired with Result).
vp_hook_count() {
	vp_hook_log | awk -v pat="hooks/qemu $1 $2 " '
	index($0, pat) { want[$3] = 1; next }
	want[$3] && $4 == "Result" { n++; want[$3] = 0 }
	END { print n + 0 }'
}

# Diagnostics are long: full for the first few failures, then a pointer.
vp_diag() {
	local f
	if [ "$VP_DIAG_LEFT" -le 0 ]; then
		vp_note "(diagnostics printed for earlier failures; VP_KEEP=1 keeps the environment)"
		return 0
	fi
	VP_DIAG_LEFT=$((VP_DIAG_LEFT - 1))
	vp_note "---- diagnostics for: $1"
	vp_note "hook invocations seen by libvirtd (last 40 lines):"
	vp_hook_log | tail -n 40 | sed 's/^/#   /'
	if [ -s "$VP_RUN/hook-manual.log" ]; then
		vp_note "hook stderr from manual runs (last 20 lines):"
		tail -n 20 "$VP_RUN/hook-manual.log" | sed 's/^/#   /'
	fi
	# The setup's own flavour, and the other one when it holds anything (a rule in the wrong
	# flavour counts packets but never overrides libvirt's REJECT).
	local t other=legacy
	[ "$VP_SETUP" = legacy ] && other=nft
	vp_note "rules in the host namespace (iptables-save, $VP_SETUP):"
	vp_in_host iptables-save 2>&1 | grep -vE '^#' | sed -E 's/ \[[0-9]+:[0-9]+\]$//; s/^/#   /'
	vp_note "IPv6 rules in the host namespace (ip6tables-save, $VP_SETUP):"
	vp_in_host ip6tables-save 2>&1 | grep -vE '^#' | sed -E 's/ \[[0-9]+:[0-9]+\]$//; s/^/#   /'
	t=$(ip netns exec "$VP_HNS" "iptables-$other-save" 2>&1 | grep -vE '^#')
	[ -n "$t" ] && vp_note "rules in the $other tables too:" && printf '%s\n' "$t" | sed 's/^/#   /'
	vp_note "nf_tables tables: $(ip netns exec "$VP_HNS" nft list tables 2>&1 | tr '\n' ' ')"
	if [ "$VP_SETUP" = nftables ]; then
		vp_note "ours (nft), and libvirt's forward chains:"
		{ vp_our_rules; vp_nft_forward_rules 4; vp_nft_forward_rules 6; } | sed 's/^/#   /'
	fi
	vp_note "leases (/var/lib/libvirt/dnsmasq/virbr0.status):"
	sed 's/^/#   /' /var/lib/libvirt/dnsmasq/virbr0.status 2>/dev/null
	for f in "$VP_RUN"/console-*.log; do
		[ -s "$f" ] || continue
		vp_note "console ${f##*/} (last 8 lines):"
		tr -d '\r' <"$f" | grep -v '^\s*$' | tail -n 8 | sed 's/^/#   /'
	done
	vp_note "running guests: $(vp_virsh list --name 2>/dev/null | tr '\n' ' ')"
	vp_note "lease waiters: $(pgrep -af -- __wait-lease 2>/dev/null | tr '\n' ';')"
	vp_note "---- end of diagnostics"
}

# --- cleanup ------------------------------------------------------------------------------------

# VP_KEEP=1: leave everything running for debugging until the test is killed.
vp_keep_wait() {
	[ "${VP_KEEP:-0}" = 1 ] || return 0
	vp_note "VP_KEEP=1: environment kept. From the machine's namespace:"
	vp_note "  nsenter --all --target \$(cat /proc/$VP_E2E_ID/task/$VP_E2E_ID/children)"
	vp_note "  then: virsh list; ip netns exec $VP_HNS iptables-save; less $VP_LOG; ls $VP_RUN"
	vp_note "  kill \$(cat /proc/$VP_E2E_ID/task/$VP_E2E_ID/children) to clean up"
	VP_KEEP=0
	sleep infinity &
	VP_SLEEP_PID=$!
	# This script is the PID namespace's init: only trapped signals reach it.
	trap 'kill "$VP_SLEEP_PID" 2>/dev/null' TERM INT
	wait "$VP_SLEEP_PID"
	trap - TERM INT
}

vp_cleanup() {
	local pid
	trap - EXIT TERM INT
	vp_keep_wait
	vp_destroy_all
	vp_virsh net-destroy default >/dev/null 2>&1
	vp_stop_libvirtd
	# shellcheck disable=SC2013 # pid files hold one number each
	for pid in $(cat /run/virtlogd.pid /run/libvirt/network/*.pid 2>/dev/null); do
		kill -TERM "$pid" 2>/dev/null
	done
	[ -n "${VP_CNS:-}" ] && ip netns del "$VP_CNS" 2>/dev/null
	[ -n "${VP_HNS:-}" ] && ip netns del "$VP_HNS" 2>/dev/null
	# Anything still alive dies with this PID namespace when the script (its init) exits.
	return 0
}
