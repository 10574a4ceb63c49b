# SPDX-License-Identifier: GPL-2.0-or-later
# check-warnings: `virt-portfwd check`, run in the host namespace, warns at the table line's
# file:line:col of each forward the hook would skip or whose DNAT would take traffic that is not
# its own: one into a network that is not NAT (named by network=, with only the network's
# persistent config; or the NIC's, of a running guest's status file), an ADDR: that is not the
# host's, a host port a local TCP or UDP socket holds (IPv4, a dual-stack [::] socket, loopback).
# What is not warned of: the host's own address, a loopback socket when local=no, a NAT network.
# Warnings keep exit 0, --strict makes them exit 1; a clean table gives no warning at all.
# kinds: nft legacy nftables

setup() {
	local H=$VP_HOST
	vp_bg "$H" socat TCP4-LISTEN:2500,reuseaddr,fork SYSTEM:true
	vp_bg "$H" socat UDP4-RECVFROM:2600,fork SYSTEM:true
	vp_bg "$H" socat TCP6-LISTEN:2700,reuseaddr,fork SYSTEM:true
	vp_bg "$H" socat TCP4-LISTEN:2800,bind=127.0.0.1,reuseaddr,fork SYSTEM:true
	vp_bg "$H" socat TCP4-LISTEN:2801,bind=127.0.0.1,reuseaddr,fork SYSTEM:true
	wait_bound tcp 2500 && wait_bound udp 2600 && wait_bound tcp6 2700 &&
		wait_bound tcp 2800 && wait_bound tcp 2801
}

# wait_bound FILE PORT: until the host namespace's /proc/net/FILE has a socket on PORT (~5 s).
wait_bound() {
	local _ hex
	hex=$(printf ':%04X ' "$2")
	for _ in $(seq 50); do
		ip netns exec "$VP_HOST" cat "/proc/net/$1" | grep -q "^ *[0-9]*: [0-9A-F]*$hex" &&
			return 0
		sleep 0.1
	done
	return 1
}

# Network NAME (bridge BR, forward element FWD) as a persistent config or a status file.
net_xml() {  # FILE NAME BR FWD
	mkdir -p "$(dirname "$1")"
	printf "<network>\n  <name>%s</name>\n  %s\n  <bridge name='%s'/>\n</network>\n" \
		"$2" "$4" "$3" >"$1"
}

run() {
	local T=$VP_ROOT/etc/virt-portfwd/forwards.conf mark out rc want
	net_xml "$VP_ROOT/etc/libvirt/qemu/networks/routed.xml" routed virbr9 "<forward mode='route'/>"
	net_xml "$VP_ROOT/run/libvirt/network/iso.xml" iso virbr8 ""
	vp_write_domain guest3 c0ffee00-0000-4000-8000-00000000000c 52:54:00:00:00:0c vnet9
	sed -i "s/<source network='default'/<source network='iso'/" "$VP_FIX/guest3.xml"
	vp_write_status guest3
	vp_write_table <<-'TABLE'
	guest1     tcp 2300              22 network=routed
	guest3     tcp 2301              22
	guest1     tcp 203.0.113.9:2400  22
	guest1     tcp 198.51.100.1:2401 22
	guest1     tcp 2500              22
	guest1     udp 2600              2600
	guest1     tcp 2700              22
	guest1     tcp 2800              22 local=no
	guest1     tcp 2801              22
	guest1     tcp 2302              22 network=default
	TABLE
	mark=$(vp_log_mark)
	out=$(vp_cli check)
	rc=$?
	vp_check_eq "check: exit 0 with warnings" "$rc" 0
	vp_check_eq "check: the summary counts the warnings" "$out" \
		"10 forwards for 2 guests, no errors, 7 warnings"
	want="virt-portfwd: $T:1:16: warning: network routed is in forward mode route, not nat: the hook skips this forward (port forwards are for NAT networks)
virt-portfwd: $T:2:16: warning: network iso is in forward mode none (isolated), not nat: the hook skips this forward (port forwards are for NAT networks)
virt-portfwd: $T:3:16: warning: 203.0.113.9 is not an address of this host: the forward's DNAT would also take traffic routed through the host to it
virt-portfwd: $T:5:16: warning: a local process listens on tcp port 2500 at 0.0.0.0: the forward's DNAT takes its traffic
virt-portfwd: $T:6:16: warning: a local process listens on udp port 2600 at 0.0.0.0: the forward's DNAT takes its traffic
virt-portfwd: $T:7:16: warning: a local process listens on tcp port 2700 at [::]: the forward's DNAT takes its traffic
virt-portfwd: $T:9:16: warning: a local process listens on tcp port 2801 at 127.0.0.1: the forward's DNAT takes its traffic"
	vp_check_eq "check: each warning, exactly, at its file:line:col" "$(vp_log_since "$mark")" \
		"$want"
	vp_cli check --strict >/dev/null
	vp_check_eq "check --strict: exit 1 on a warning" "$?" 1

	vp_full_table | vp_write_table
	vp_write_status guest1
	mark=$(vp_log_mark)
	out=$(vp_cli check --strict)
	rc=$?
	vp_check_eq "clean table, guest1 running on the NAT network: exit 0 with --strict" "$rc" 0
	vp_check_eq "clean table: no warning counted" "$out" "4 forwards for 1 guests, no errors"
	vp_check_eq "clean table: nothing on stderr" "$(vp_log_since "$mark")" ""
	rm -f "$VP_ROOT/run/libvirt/qemu/guest1.xml" "$VP_ROOT/run/libvirt/qemu/guest3.xml" \
		"$VP_ROOT/run/libvirt/network/iso.xml"
	rm -rf "$VP_ROOT/etc/libvirt"
}
