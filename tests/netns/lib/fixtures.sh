# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The fixture tree the hook reads (VIRT_PORTFWD_ROOT): the table, libvirt's network status, the
# leases, the domains' XML and status files; and the hook and the CLI run in the host namespace
# against it, as libvirt and an administrator run them.

vp_fixture_init() {
	mkdir -p "$VP_ROOT/etc/virt-portfwd" "$VP_ROOT/run/libvirt/network" \
		"$VP_ROOT/var/lib/libvirt/dnsmasq" "$VP_ROOT/hooks" || vp_die "mkdir failed"
	chmod -R 0755 "$VP_ROOT"
	# Multi-call binary: the name "qemu" makes it libvirt's qemu hook.
	ln -sf "$VP_BIN" "$VP_ROOT/hooks/qemu"
}

# vp_write_table: forwards.conf from stdin, root-owned 0644, replaced atomically.
vp_write_table() {
	local f=$VP_ROOT/etc/virt-portfwd/forwards.conf
	cat >"$f.tmp" && chown 0:0 "$f.tmp" && chmod 0644 "$f.tmp" && mv -f "$f.tmp" "$f"
}

# The table most cases use: guest1 with TCP, a port range, UDP and a from= restriction.
vp_full_table() {
	cat <<-'TABLE'
	# domain  proto  host-port   guest-port  options
	guest1    tcp    2222        22
	guest1    tcp    8080-8081   80-81
	guest1    udp    27015       27015
	guest1    tcp    2223        22          from=203.0.113.0/24
	TABLE
}

# vp_write_network [-6 nat|route] [--firewall nftables|none] [HOST ...]: the status XML of
# network "default" as libvirt writes it for VP_KIND. HOST is a static DHCP host: MAC=IP for
# IPv4, or KEY=VALUE=IP6 (KEY id, a DUID, or name) for DHCPv6. -6: dual stack, the IPv6 subnet
# NAT'd (nat, <nat ipv6='yes'/>) or routed (route). The <firewall> element of libvirt >= 10.4
# (backend nftables, with VP_LV_NFT_HANDLES) is there on kind nftables unless --firewall says
# otherwise; libvirt 9.0 and the iptables backend write none.
vp_write_network() {
	local f=$VP_ROOT/run/libvirt/network/default.xml v6= fw=none rest hosts='' hosts6='' natopt=''
	[ "${VP_KIND:-}" != nftables ] || fw=nftables
	while [ $# -gt 0 ]; do
		case "$1" in
		-6) v6=$2; shift 2 ;;
		--firewall) fw=$2; shift 2 ;;
		*=*=*)
			rest=${1#*=}
			hosts6="$hosts6        <host ${1%%=*}='${rest%=*}' ip='${rest##*=}'/>
"
			shift
			;;
		*)
			hosts="$hosts        <host mac='${1%%=*}' name='static-${1##*.}' ip='${1#*=}'/>
"
			shift
			;;
		esac
	done
	[ "$v6" != nat ] || natopt=" ipv6='yes'"
	{
		vp_network_head "$natopt" "$hosts"
		[ -z "$v6" ] || vp_network_ip6 "$hosts6"
		echo "  </network>"
		[ "$fw" != nftables ] || vp_network_firewall
		echo "</networkstatus>"
	} >"$f.tmp" && mv -f "$f.tmp" "$f"
}

# The status XML up to the end of the network's IPv4 <ip>. $1: the <nat> element's options; $2:
# its static DHCP hosts, as XML lines.
vp_network_head() {
	cat <<EOF
<!--
WARNING: THIS IS AN AUTO-GENERATED FILE. CHANGES TO IT ARE LIKELY TO BE
OVERWRITTEN AND LOST. Changes to this xml configuration should be made using:
  virsh net-edit default
or other application using the libvirt API.
-->

<networkstatus>
  <class_id bitmap='0-2'/>
  <floor sum='0'/>
  <network>
    <name>default</name>
    <uuid>9b2e4a63-6f52-4e4c-8e2a-0d1b5e8c0f11</uuid>
    <forward mode='nat'>
      <nat$1>
        <port start='1024' end='65535'/>
      </nat>
    </forward>
    <bridge name='virbr0' stp='on' delay='0'/>
    <mac address='52:54:00:5a:7e:01'/>
    <ip address='192.168.122.1' netmask='255.255.255.0'>
      <dhcp>
        <range start='192.168.122.2' end='192.168.122.254'/>
$2      </dhcp>
    </ip>
EOF
}

# The network's IPv6 <ip>; $1: its DHCPv6 reservations, as XML lines.
vp_network_ip6() {
	cat <<EOF
    <ip family='ipv6' address='$VP6_GW' prefix='64'>
      <dhcp>
        <range start='$VP6_RANGE_START' end='$VP6_RANGE_END'/>
$1      </dhcp>
    </ip>
EOF
}

# The <firewall> element libvirt >= 10.4 saves after the <network>: backend nftables, and the
# commands that delete its per-network rules by handle (VP_LV_NFT_HANDLES).
vp_network_firewall() {
	local e fam chain h layer a
	echo "  <firewall name='fwRemoval' backend='nftables'>"
	echo "    <group>"
	for e in "${VP_LV_NFT_HANDLES[@]}"; do
		read -r fam chain h <<<"$e"
		layer=ipv4
		[ "$fam" = ip ] || layer=ipv6
		echo "      <action layer='$layer'>"
		echo "        <args>"
		for a in delete rule "$fam" libvirt_network "$chain" handle "$h"; do
			echo "          <item>$a</item>"
		done
		echo "        </args>"
		echo "      </action>"
	done
	echo "    </group>"
	echo "  </firewall>"
}

# vp_write_leases MAC=IP ...: virbr0.status as libvirt_leaseshelper writes it, one hour left.
vp_write_leases() {
	local l sep='' exp
	exp=$(($(date +%s) + 3600))
	{
		echo "["
		for l in "$@"; do
			printf '%s  {\n    "ip-address": "%s",\n    "mac-address": "%s",\n' \
				"$sep" "${l#*=}" "${l%%=*}"
			printf '    "hostname": "h%s",\n    "client-id": "01:%s",\n    "expiry-time": %s\n  }' \
				"${l##*.}" "${l%%=*}" "$exp"
			sep=",
"
		done
		echo
		echo "]"
	} >"$VP_ROOT/var/lib/libvirt/dnsmasq/virbr0.status"
}

# vp_write_leases46 MAC=IP ...: virbr0.status with DHCPv4 and DHCPv6 leases (an IPv6 address
# makes a DHCPv6 entry: iaid, and a DUID-LL client-id), in libvirt_leaseshelper's field order.
vp_write_leases46() {
	local l sep='' exp mac ip
	exp=$(($(date +%s) + 3600))
	{
		echo "["
		for l in "$@"; do
			mac=${l%%=*} ip=${l#*=}
			printf '%s  {\n' "$sep"
			case "$ip" in
			*:*)
				printf '    "iaid": "%s",\n    "ip-address": "%s",\n    "mac-address": "%s",\n' \
					"$((0x${mac##*:}))" "$ip" "$mac"
				printf '    "hostname": "h%s",\n    "client-id": "00:03:00:01:%s",\n' \
					"${ip##*:}" "$mac"
				;;
			*)
				printf '    "ip-address": "%s",\n    "mac-address": "%s",\n' "$ip" "$mac"
				printf '    "hostname": "h%s",\n    "client-id": "01:%s",\n' "${ip##*.}" "$mac"
				;;
			esac
			printf '    "expiry-time": %s\n  }' "$exp"
			sep=",
"
		done
		echo
		echo "]"
	} >"$VP_ROOT/var/lib/libvirt/dnsmasq/virbr0.status"
}

# vp_write_domain NAME UUID MAC VNET: live domain XML ($VP_FIX/NAME.xml) with one NIC on default.
vp_write_domain() {
	cat >"$VP_FIX/$1.xml" <<EOF
<domain type='qemu' id='7'>
  <name>$1</name>
  <uuid>$2</uuid>
  <memory unit='KiB'>131072</memory>
  <currentMemory unit='KiB'>131072</currentMemory>
  <vcpu placement='static'>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc-i440fx-7.2'>hvm</type>
    <boot dev='hd'/>
  </os>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <interface type='network'>
      <mac address='$3'/>
      <source network='default' portid='5f0c2a1e-0000-4000-8000-${2##*-}' bridge='virbr0'/>
      <target dev='$4'/>
      <model type='virtio'/>
      <alias name='net0'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x03' function='0x0'/>
    </interface>
    <serial type='pty'>
      <target type='isa-serial' port='0'/>
    </serial>
  </devices>
</domain>
EOF
}

# vp_write_status NAME: libvirt's live status file of a running guest ($VP_FIX/NAME.xml inside
# <domstatus>), what `apply` and the network hook read.
vp_write_status() {
	mkdir -p "$VP_ROOT/run/libvirt/qemu"
	{
		echo "<domstatus state='running' reason='booted' pid='4242'>"
		echo "  <monitor path='/var/lib/libvirt/qemu/domain-7-x/monitor.sock' type='unix'/>"
		cat "$VP_FIX/$1.xml"
		echo "</domstatus>"
	} >"$VP_ROOT/run/libvirt/qemu/$1.xml"
}

# ---------------------------------------------------------------------------------------------
# The hook and the CLI

# vp_hook DOMAIN OP [SUBOP]: call the qemu hook as libvirt does, in the host namespace, with
# $VP_FIX/DOMAIN.xml on stdin. stderr is appended to hook.stderr; stdout goes to hook.stdout
# (it must stay empty). Returns the hook's exit status.
vp_hook() {
	local dom=$1 op=$2 sub=${3:-begin}
	echo "--- $dom $op $sub" >>"$VP_TMP/hook.stderr"
	ip netns exec "$VP_HOST" env VIRT_PORTFWD_ROOT="$VP_ROOT" XTABLES_LOCKFILE="$VP_LOCK" \
		"$VP_ROOT/hooks/qemu" "$dom" "$op" "$sub" - \
		<"$VP_FIX/$dom.xml" >>"$VP_TMP/hook.stdout" 2>>"$VP_TMP/hook.stderr"
}

# vp_hook_ok DOMAIN OP [SUBOP]: assert exit 0 and nothing on stdout.
vp_hook_ok() {
	local rc before after
	before=$(stat -c %s "$VP_TMP/hook.stdout" 2>/dev/null || echo 0)
	vp_hook "$@"
	rc=$?
	after=$(stat -c %s "$VP_TMP/hook.stdout" 2>/dev/null || echo 0)
	vp_check_eq "hook $1 $2: exit status 0" "$rc" 0
	vp_check_eq "hook $1 $2: nothing on stdout" "$after" "$before"
}

# vp_hook_env DOMAIN OP SUBOP [VAR=VALUE ...]: vp_hook with more environment. The exit status is
# the hook's (ip netns exec and env pass it through).
vp_hook_env() {
	local dom=$1 op=$2 sub=$3
	shift 3
	echo "--- $dom $op $sub $*" >>"$VP_TMP/hook.stderr"
	# A hook that hangs is killed after VP_HOOK_TIMEOUT seconds (exit status 137), if set.
	${VP_HOOK_TIMEOUT:+timeout -s KILL "$VP_HOOK_TIMEOUT"} \
		ip netns exec "$VP_HOST" env VIRT_PORTFWD_ROOT="$VP_ROOT" XTABLES_LOCKFILE="$VP_LOCK" \
		"$@" "$VP_ROOT/hooks/qemu" "$dom" "$op" "$sub" - \
		<"$VP_FIX/$dom.xml" >>"$VP_TMP/hook.stdout" 2>>"$VP_TMP/hook.stderr"
}

# vp_network_hook OP [VAR=VALUE ...]: libvirt's network hook for network "default", with more
# environment; its exit status.
vp_network_hook() {
	local op=$1
	shift
	ln -sf "$VP_BIN" "$VP_ROOT/hooks/network"
	echo "--- network default $op $*" >>"$VP_TMP/hook.stderr"
	ip netns exec "$VP_HOST" env VIRT_PORTFWD_ROOT="$VP_ROOT" XTABLES_LOCKFILE="$VP_LOCK" \
		"$@" "$VP_ROOT/hooks/network" default "$op" begin - </dev/null \
		>>"$VP_TMP/hook.stdout" 2>>"$VP_TMP/hook.stderr"
}

# Microseconds the hook takes for DOMAIN OP, measured inside the host namespace (so the cost of
# `ip netns exec` is not counted); best of 5 runs, since the machine may be busy.
vp_hook_us() {
	local dom=$1 op=$2
	# shellcheck disable=SC2016 # expanded by the inner shell
	ip netns exec "$VP_HOST" env VIRT_PORTFWD_ROOT="$VP_ROOT" XTABLES_LOCKFILE="$VP_LOCK" \
		bash -c 'best=999999999
		for i in 1 2 3 4 5; do
			t0=${EPOCHREALTIME//[!0-9]/}
			"$1" "$2" "$3" begin - <"$4" >/dev/null 2>>"$5"
			t1=${EPOCHREALTIME//[!0-9]/}
			us=$((t1 - t0))
			[ $us -lt $best ] && best=$us
		done
		echo $best' _ "$VP_ROOT/hooks/qemu" "$dom" "$op" "$VP_FIX/$dom.xml" "$VP_TMP/hook.stderr"
}

# vp_cli CMD...: virt-portfwd CMD... in the host namespace with the fixture tree. stdout is the
# command's; stderr is appended to hook.stderr. Returns its exit status.
vp_cli() {
	ip netns exec "$VP_HOST" env VIRT_PORTFWD_ROOT="$VP_ROOT" XTABLES_LOCKFILE="$VP_LOCK" \
		"$VP_BIN" "$@" 2>>"$VP_TMP/hook.stderr"
}

# vp_cli_env [VAR=VALUE ...] -- ARGS...: the CLI in the host namespace, stderr to hook.stderr.
vp_cli_env() {
	local envs=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		envs+=("$1")
		shift
	done
	shift
	echo "--- cli $* ${envs[*]}" >>"$VP_TMP/hook.stderr"
	ip netns exec "$VP_HOST" env VIRT_PORTFWD_ROOT="$VP_ROOT" XTABLES_LOCKFILE="$VP_LOCK" \
		"${envs[@]}" "$VP_BIN" "$@" 2>>"$VP_TMP/hook.stderr"
}

# The hook's log (every hook and CLI run of the case appends its stderr): mark=$(vp_log_mark),
# then vp_log_since "$mark" prints what was logged after the mark.
vp_log_mark() { wc -l <"$VP_TMP/hook.stderr"; }
vp_log_since() { tail -n +"$(($1 + 1))" "$VP_TMP/hook.stderr"; }

# vp_faultinj: VP_FAULTINJ_ENV, the environment that LD_PRELOADs the test-only fault library
# (shims/faultinj.c, built by meson under VP_BUILDDIR) into the hook; it does nothing unless a
# VP_FAULT_* variable asks. An ASan build checks that its runtime is loaded first: the
# preloaded library comes first, so that check is turned off.
vp_faultinj() {
	local lib=${VP_BUILDDIR:-}/tests/netns/vp-faultinj.so
	[ -f "$lib" ] || vp_die "the fault library $lib is missing (meson builds it; set VP_BUILDDIR)"
	lib=$(readlink -f "$lib")
	VP_FAULTINJ_ENV=("LD_PRELOAD=$lib"
		"ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0")
}

# vp_waiter_pids UUID: the pids of UUID's lease waiters alive in the host namespace, one a line
# (other tests running at the same time use the same UUIDs in their own namespaces; an empty
# UUID: every waiter). Zombies aside, and children of a waiter: under ASan, LeakSanitizer's
# tracer is a clone() of the exiting waiter with the same command line.
vp_waiter_pids() {
	local pid found=" "
	for pid in $(ip netns pids "$VP_HOST" 2>/dev/null); do
		tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -q -- "__wait-lease $1" &&
			found="$found$pid "
	done
	for pid in $found; do
		[ "$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null)" = Z ] && continue
		case $found in *" $(awk '{ print $4 }' "/proc/$pid/stat" 2>/dev/null) "*) continue ;; esac
		echo "$pid"
	done
}

# vp_waiters UUID: how many lease waiters UUID has (vp_waiter_pids).
vp_waiters() {
	vp_waiter_pids "$1" | grep -c .
}

# vp_check_not_in_table SNAPSHOT: a guest the table does not name (guest2) changes nothing on
# started and stopped, and its started costs about what the hook doing nothing (prepare) does.
vp_check_not_in_table() {
	local us base snap=$VP_TMP/snap.guest2
	vp_hook_ok guest2 started
	vp_snapshot "$snap"
	vp_check_same_file "guest not in the table, started: ruleset unchanged" "$1" "$snap"
	base=$(vp_hook_us guest2 prepare)
	us=$(vp_hook_us guest2 started)
	vp_check_ratio "guest not in the table: started costs about what prepare does, in µs, best of 5" \
		"$us" "$base" 10
	vp_hook_ok guest2 stopped end
	vp_snapshot "$snap"
	vp_check_same_file "guest not in the table, stopped: ruleset unchanged" "$1" "$snap"
}
