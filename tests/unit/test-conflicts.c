/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Other tools' DNATs (conflicts.c) from rules as those tools write them and as iptables-save or
 * nft list them: Docker's iptables chain DOCKER (IPv4, IPv6, a host address, a range), its
 * nftables table docker-bridges (moby's nftablesdoc), netavark's iptables chains and its inet
 * table, firewalld's forward-ports in iptables and nftables; then which forwards they clash
 * with (protocol, family, address, overlapping ranges). */
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "conflicts.h"
#include "tap.h"

static struct vp_other_dnats found;

static int xt(const char *listing, int family, const char *chain, const char *spec)
{
	struct vp_other_src src = {listing, family, "nat", chain, 1};
	return vp_other_dnat_xt(&found, &src, spec);
}

static int nft(int family, const char *table, const char *chain, const char *rule)
{
	struct vp_other_src src = {"nftables", family, table, chain, 2};
	return vp_other_dnat_nft(&found, &src, rule);
}

/* The last finding as "TOOL PROTO FAMILY ADDR PORT-END WHERE". */
static const char *last(void)
{
	static char s[512];
	char a[VP_ADDR_STRLEN] = "any";
	const struct vp_other_dnat *d = found.n ? &found.d[found.n - 1] : NULL;

	if (!d)
		return "none";
	if (d->addr.family)
		vp_addr_str(&d->addr, a);
	snprintf(s, sizeof(s), "%s %s %s %s %u-%u %s", d->tool, vp_proto_name(d->proto),
	         d->family == AF_INET ? "4" : d->family == AF_INET6 ? "6" : "46", a, d->port,
	         d->port_end, d->where);
	return s;
}

static void docker_iptables(void)
{
	tap_ok(xt("iptables-nft", AF_INET, "DOCKER", "! -i docker0 -p tcp -m tcp --dport 8080 -j "
	          "DNAT --to-destination 172.17.0.2:80") == 1, "Docker: a published port");
	tap_streq(last(), "Docker tcp 4 any 8080-8080 iptables-nft nat DOCKER rule 1",
	          "Docker: tool, protocol, family, any address, port, where");
	xt("iptables-legacy", AF_INET, "DOCKER", "-d 127.0.0.1/32 ! -i docker0 -p tcp -m tcp "
	   "--dport 8081 -j DNAT --to-destination 172.17.0.2:80");
	tap_streq(last(), "Docker tcp 4 127.0.0.1 8081-8081 iptables-legacy nat DOCKER rule 1",
	          "Docker: a port published on 127.0.0.1");
	xt("iptables-nft", AF_INET6, "DOCKER", "! -i docker0 -p udp -m udp --dport 5353 -j DNAT "
	   "--to-destination [fd00:d0c::2]:53");
	tap_streq(last(), "Docker udp 6 any 5353-5353 iptables-nft nat DOCKER rule 1",
	          "Docker: IPv6, udp");
	xt("iptables-nft", AF_INET, "DOCKER", "! -i docker0 -p tcp -m tcp --dport 8000:8010 -j DNAT "
	   "--to-destination 172.17.0.3:8000-8010");
	tap_streq(last(), "Docker tcp 4 any 8000-8010 iptables-nft nat DOCKER rule 1",
	          "Docker: a published range");
	tap_ok(xt("iptables-nft", AF_INET, "DOCKER", "-i docker0 -j RETURN") == 0,
	       "Docker: its RETURN is no DNAT");
	tap_ok(xt("iptables-nft", AF_INET, "PREROUTING", "-m addrtype --dst-type LOCAL -j DOCKER")
	       == 0, "Docker: its jump from PREROUTING is no DNAT");
	tap_ok(xt("iptables-nft", AF_INET, "PREROUTING", "-p tcp -m tcp --dport 80 -j DNAT "
	          "--to-destination 10.0.0.2") == 0, "a user's DNAT in PREROUTING: no known tool's");
	tap_ok(xt("iptables-nft", AF_INET, "DOCKER", "-p tcp -m tcp ! --dport 80 -j DNAT "
	          "--to-destination 10.0.0.2") == 0, "a negated port is not read as a port");
	tap_ok(xt("iptables-nft", AF_INET, "DOCKER", "-p tcp -m multiport --dports 80,443,9000:9001 "
	          "-j DNAT --to-destination 10.0.0.2") == 1 && found.d[found.n - 3].port == 80 &&
	       found.d[found.n - 2].port == 443 && found.d[found.n - 1].port_end == 9001,
	       "multiport: each port and range");
}

static void docker_nftables(void)
{
	tap_ok(nft(AF_INET, "docker-bridges", "nat-prerouting-and-output", "iifname != \"bridge1\" "
	           "tcp dport 8080 counter dnat to 192.0.2.2:80 comment \"DNAT\"") == 1,
	       "Docker nftables: the published port");
	tap_streq(last(), "Docker tcp 4 any 8080-8080 nftables ip docker-bridges "
	          "nat-prerouting-and-output rule 2", "Docker nftables: what and where");
	nft(AF_INET6, "docker-bridges", "nat-prerouting-and-output", "ip6 daddr ::1 iifname != "
	    "\"docker0\" tcp dport 8443 counter dnat to [fd00::2]:443 comment \"DNAT\"");
	tap_streq(last(), "Docker tcp 6 ::1 8443-8443 nftables ip6 docker-bridges "
	          "nat-prerouting-and-output rule 2", "Docker nftables: IPv6 on an address");
	tap_ok(nft(AF_INET, "docker-bridges", "nat-PREROUTING", "fib daddr type local counter jump "
	           "nat-prerouting-and-output") == 0, "Docker nftables: the jump is no DNAT");
	tap_ok(nft(AF_INET, "docker-bridges", "filter-forward-in__bridge1", "ip daddr 192.0.2.2 "
	           "tcp dport 80 counter accept") == 0, "Docker nftables: the accept is no DNAT");
}

static void netavark(void)
{
	tap_ok(xt("iptables-nft", AF_INET, "NETAVARK-DN-1D8721804F16F", "-d 192.168.1.5/32 -p tcp "
	          "-m tcp --dport 8080 -j DNAT --to-destination 10.88.0.2:80") == 1,
	       "netavark iptables: the DNAT in its NETAVARK-DN chain");
	tap_streq(last(), "netavark tcp 4 192.168.1.5 8080-8080 iptables-nft nat "
	          "NETAVARK-DN-1D8721804F16F rule 1", "netavark iptables: on a host address");
	xt("iptables-nft", AF_INET, "NETAVARK-DN-1D8721804F16F", "-p udp -m udp --dport 7000:7002 "
	   "-j DNAT --to-destination 10.88.0.2:7000-7002/7000");
	tap_streq(last(), "netavark udp 4 any 7000-7002 iptables-nft nat NETAVARK-DN-1D8721804F16F "
	          "rule 1", "netavark iptables: a range");
	tap_ok(xt("iptables-nft", AF_INET, "NETAVARK-HOSTPORT-DNAT", "-p tcp -m tcp --dport 8080 "
	          "-m comment --comment \"dnat name: podman id: 0123\" -j NETAVARK-DN-1D8721804F16F")
	       == 0, "netavark iptables: the jump to the DN chain is no DNAT");
	tap_ok(nft(0, "netavark", "nv_2f259bab_10_88_0_0_nm16_dnat", "ip daddr 192.168.188.25 tcp "
	           "dport 8080 ct mark set meta mark | 0x00001000 dnat ip to 10.88.0.14:8080") == 1,
	       "netavark nftables: its dnat chain");
	tap_streq(last(), "netavark tcp 4 192.168.188.25 8080-8080 nftables inet netavark "
	          "nv_2f259bab_10_88_0_0_nm16_dnat rule 2",
	          "netavark nftables: inet, family by address");
	nft(0, "netavark", "nv_2f259bab_fd10_88_a__nm64_dnat", "tcp dport 9090 ct mark set meta mark "
	    "| 0x00001000 dnat ip6 to [fd10:88:a::2]:90");
	tap_streq(last(), "netavark tcp 6 any 9090-9090 nftables inet netavark "
	          "nv_2f259bab_fd10_88_a__nm64_dnat rule 2", "netavark nftables: family by dnat ip6");
	tap_ok(nft(0, "netavark", "NETAVARK-HOSTPORT-DNAT", "ip daddr 10.89.3.1 meta l4proto { tcp, "
	           "udp } th dport 53 dnat ip to 10.89.3.1:5533") == 1 && found.n >= 2 &&
	       found.d[found.n - 2].proto == IPPROTO_TCP && found.d[found.n - 1].proto == IPPROTO_UDP,
	       "netavark nftables: the DNS DNAT, tcp and udp");
	tap_ok(nft(0, "netavark", "nv_2f259bab_10_88_0_0_nm16_dnat", "ip saddr 10.88.0.0/16 ip daddr "
	           "192.168.188.25 tcp dport 8080 jump NETAVARK-HOSTPORT-SETMARK") == 0,
	       "netavark nftables: the setmark jump is no DNAT");
}

static void firewalld(void)
{
	tap_ok(nft(0, "firewalld", "nat_PRE_public_allow", "meta nfproto ipv4 tcp dport 8080 dnat ip "
	           "to 192.168.122.10:80") == 1, "firewalld nftables: a forward-port");
	tap_streq(last(), "firewalld tcp 4 any 8080-8080 nftables inet firewalld nat_PRE_public_allow "
	          "rule 2", "firewalld nftables: what and where");
	nft(0, "firewalld", "nat_PRE_public_allow", "meta nfproto ipv6 udp dport { 5000-5001, 6000 } "
	    "redirect to :53");
	tap_streq(last(), "firewalld udp 6 any 6000-6000 nftables inet firewalld nat_PRE_public_allow "
	          "rule 2", "firewalld nftables: a set of ports, redirect to a local port");
	tap_ok(nft(0, "firewalld", "filter_FWD_public_allow", "ct status dnat accept") == 0,
	       "firewalld nftables: ct status dnat is no DNAT");
	tap_ok(nft(0, "firewalld", "nat_PRE_public_allow", "tcp dport != 22 dnat ip to 10.0.0.1") == 0,
	       "firewalld nftables: a negated port is no finding");
	tap_ok(xt("iptables-legacy", AF_INET, "PRE_public_allow", "-p tcp -m tcp --dport 8080 -j DNAT "
	          "--to-destination 192.168.122.10:80") == 1, "firewalld iptables: PRE_public_allow");
	tap_ok(xt("iptables-legacy", AF_INET, "PRE_public_allow", "-p tcp -m tcp --dport 8081 -j "
	          "REDIRECT --to-ports 80") == 1, "firewalld iptables: a redirect");
	tap_ok(nft(0, "mine", "prerouting", "tcp dport 8080 dnat ip to 10.0.0.2") == 0,
	       "a table of nobody known: no finding");
}

static struct vp_forward fwd(int proto, int family, const char *addr, unsigned lo, unsigned hi)
{
	struct vp_forward f = {.proto = proto, .family = family, .host_port = (uint16_t)lo,
	                       .host_port_end = (uint16_t)hi, .local = true};

	if (addr)
		vp_addr_parse(addr, strlen(addr), &f.host_addr);
	return f;
}

static void conflicts(void)
{
	struct vp_forward f;

	vp_other_dnats_free(&found);
	xt("iptables-nft", AF_INET, "DOCKER", "-p tcp -m tcp --dport 8000:8010 -j DNAT "
	   "--to-destination 172.17.0.3:8000-8010");
	xt("iptables-nft", AF_INET, "DOCKER", "-d 127.0.0.1/32 -p tcp -m tcp --dport 9000 -j DNAT "
	   "--to-destination 172.17.0.3:80");
	nft(0, "netavark", "nv_x_dnat", "ip daddr 192.0.2.5 udp dport 7000 dnat ip to 10.88.0.2:7");
	f = fwd(IPPROTO_TCP, AF_INET, NULL, 7990, 8000);
	tap_ok(vp_other_dnat_conflict(&found, &f) == &found.d[0],
	       "a range overlapping Docker's by one port");
	f = fwd(IPPROTO_TCP, AF_INET, NULL, 8011, 8020);
	tap_ok(!vp_other_dnat_conflict(&found, &f), "a range just after Docker's: none");
	f = fwd(IPPROTO_UDP, AF_INET, NULL, 8005, 8005);
	tap_ok(!vp_other_dnat_conflict(&found, &f), "the other protocol: none");
	f = fwd(IPPROTO_TCP, AF_INET6, NULL, 8005, 8005);
	tap_ok(!vp_other_dnat_conflict(&found, &f), "the other family: none");
	f = fwd(IPPROTO_TCP, AF_INET, "198.51.100.1", 8005, 8005);
	tap_ok(vp_other_dnat_conflict(&found, &f) != NULL, "an ADDR: forward, Docker on any address");
	f = fwd(IPPROTO_UDP, AF_INET, "198.51.100.1", 7000, 7000);
	tap_ok(!vp_other_dnat_conflict(&found, &f), "two different addresses: none");
	f = fwd(IPPROTO_UDP, AF_INET, NULL, 7000, 7000);
	tap_ok(vp_other_dnat_conflict(&found, &f) == &found.d[2],
	       "any address vs netavark's on 192.0.2.5");
	f = fwd(IPPROTO_TCP, AF_INET, NULL, 9000, 9000);
	tap_ok(vp_other_dnat_conflict(&found, &f) == &found.d[1], "Docker on 127.0.0.1, local=yes");
	f.local = false;
	tap_ok(!vp_other_dnat_conflict(&found, &f), "Docker on 127.0.0.1, local=no: none");
	{
		char s[128];
		tap_streq(vp_other_dnat_ports_str(&found.d[0], s, sizeof(s)), "tcp ports 8000-8010",
		          "a range, said");
		tap_streq(vp_other_dnat_ports_str(&found.d[1], s, sizeof(s)), "tcp port 9000 on 127.0.0.1",
		          "one port on an address, said");
	}
}

int main(void)
{
	docker_iptables();
	docker_nftables();
	netavark();
	firewalld();
	conflicts();
	vp_other_dnats_free(&found);
	vp_other_dnats_free(&found);
	tap_ok(found.n == 0 && !found.d, "vp_other_dnats_free twice: safe");
	return tap_done();
}
