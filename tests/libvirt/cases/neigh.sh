# SPDX-License-Identifier: GPL-2.0-or-later
# neigh [17]: addresses libvirt does not know (issue 17, item 4), with a real libvirtd and real
# guests. g11 has its IPv4 address set inside it (vpip4, outside the DHCP range, no lease, no
# static host, no ip=): its forward works once it has talked, the address taken from the host's
# neighbour table (ARP), which status and the doctor say. g12 is dual stack, IPv4 by a dynamic
# lease and IPv6 by SLAAC (vpslaac), on a network of the case's own, `slaac`: libvirt's dnsmasq
# advertises a prefix for SLAAC only where the network has no DHCPv6 range (on `default` its
# advertisements say "managed"). g12's IPv6 forward reaches it on its SLAAC address (NDP), its
# IPv4 one on its lease. The table gets their lines for the case only.

NB_G11_IP=$VP_NET_PREFIX.60
NB_NET4=192.168.123
NB_NET6=2001:db8:123

# The network `slaac`: NAT in both families like `default`, DHCPv4, IPv6 advertised for SLAAC.
slaac_network() {
	cat >"$VP_RUN/net-slaac.xml" <<-EOF
	<network>
	  <name>slaac</name>
	  <forward mode='nat'><nat ipv6='yes'/></forward>
	  <bridge name='virbr1' stp='off' delay='0'/>
	  <ip address='$NB_NET4.1' netmask='255.255.255.0'>
	    <dhcp><range start='$NB_NET4.100' end='$NB_NET4.254'/></dhcp>
	  </ip>
	  <ip family='ipv6' address='$NB_NET6::1' prefix='64'/>
	</network>
	EOF
	vp_virsh net-define "$VP_RUN/net-slaac.xml" >/dev/null && vp_virsh net-start slaac >/dev/null
}

slaac_network_gone() {
	vp_virsh net-destroy slaac >/dev/null 2>&1
	vp_virsh net-undefine slaac >/dev/null 2>&1
}

run() {
	local r ip6
	printf 'g11  tcp  2260  22\ng12  tcp  2262  22\ng12  tcp  [::]:2261  22\n' >>"$TABLE"
	vp_define_guest 11 g11 "vpip4=$NB_G11_IP/24 vpgw4=$VP_NET_PREFIX.1"
	slaac_network
	vp_ok $? "[17] network slaac (IPv6 without DHCPv6: SLAAC) started"
	# g12 as vp_define_guest makes it, but on network slaac.
	vp_define_guest 12 g12 "vpslaac=1 vpgw6=$NB_NET6::1" && vp_virsh undefine g12 >/dev/null &&
		sed -i "s/network='default'/network='slaac'/" "$VP_RUN/g12.xml" &&
		vp_virsh define "$VP_RUN/g12.xml" >/dev/null
	vp_start_guest g11 >/dev/null && vp_start_guest g12 >/dev/null &&
		vp_wait_ready g11 && vp_wait_ready g12
	vp_ok $? "[17] g11 (IPv4 set inside, no DHCP) and g12 (SLAAC) booted"
	! has_lease 11
	vp_ok $? "[17] g11 has no DHCP lease (its address is its own: $(console_ready g11))"
	vp_wait_http "$VP_CNS" "$HOST" 2260 g11 60
	vp_ok $? "[17] client -> host:2260 reaches g11 at $NB_G11_IP, learnt from the neighbour table"
	r=$(vp_in_host /usr/local/sbin/virt-portfwd status 2>>"$VP_RUN/hook-manual.log")
	grep -qF "$NB_G11_IP:22 (neighbour, default)" <<<"$r"
	vp_ok $? "[17] status: g11's address came from the neighbour table" \
		"($(grep -F "$NB_G11_IP" <<<"$r" | head -n 1 | tr -s ' '))"
	vp_in_host /usr/local/sbin/virt-portfwd doctor g11 >"$VP_RUN/doctor.out" 2>>"$VP_RUN/hook-manual.log"
	grep -qF "$NB_G11_IP, from the host's neighbour table on virbr0" "$VP_RUN/doctor.out"
	vp_ok $? "[17] doctor: g11's address is from the host's neighbour table on virbr0"
	ip6=$(console_ready g12 | cut -d ' ' -f 2)
	ip6=${ip6%/*}
	[[ "$ip6" == "$NB_NET6":* ]] && [ "$ip6" != "$NB_NET6::1" ]
	vp_ok $? "[17] g12 has a SLAAC address in the network's prefix ('$ip6')"
	vp_wait_http "$VP_CNS" "$HOST6" 2261 g12 60
	vp_ok $? "[17] client -> [$HOST6]:2261 reaches g12 on its SLAAC address $ip6 (NDP)"
	r=$(vp_http "$VP_CNS" "$HOST" 2262)
	[ "$r" = g12 ]
	vp_ok $? "[17] client -> host:2262 reaches g12 on its DHCP lease ('$r')"
	r=$(vp_in_host /usr/local/sbin/virt-portfwd status 2>>"$VP_RUN/hook-manual.log")
	grep -qF "[$ip6]:22 (neighbour, slaac)" <<<"$r"
	vp_ok $? "[17] status: g12's IPv6 address came from the neighbour table" \
		"($(grep -F "$ip6" <<<"$r" | head -n 1 | tr -s ' '))"
	guests_gone g11 g12
	slaac_network_gone
	table_restore
	vp_tcp_closed "$VP_CNS" "$HOST" 2260 && vp_tcp_closed "$VP_CNS" "$HOST6" 2261
	vp_ok $? "[17] g11 and g12 gone: host:2260 and [host]:2261 are closed"
}
