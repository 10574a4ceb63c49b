/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libvirt network status XML -> struct vp_network.
 *
 * Parsed with the guarded reader of xml.c, like the domain XML: the file is written by
 * libvirt, but static host names and ids in it come from whoever may edit networks. */
#include "network.h"

#include <errno.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "xml.h"

/* VP_MAX_HOSTS reservations plus libvirt's firewall removal commands (about a dozen elements
 * per rule) stay well below this. */
#define NETWORK_MAX_ELEMENTS 400000ul

static int parse_addr_prop(const xmlNode *n, const char *name, struct vp_addr *ret, bool *present)
{
	xmlChar *v;
	int r = vp_xml_get_prop(n, name, &v);

	if (r < 0)
		return r;
	*present = v != NULL;
	if (v)
		r = vp_addr_parse((const char *)v, strlen((const char *)v), ret);
	xmlFree(v);
	return r;
}

/* <forward mode=..>; no <forward> at all is an isolated network. */
static int forward_mode(const xmlNode *fwd, enum vp_fwmode *ret)
{
	xmlChar *m;
	int r;

	if (!fwd) {
		*ret = VP_FWMODE_NONE;
		return 0;
	}
	r = vp_xml_get_prop(fwd, "mode", &m);
	if (r < 0)
		return r;
	if (!m || xmlStrEqual(m, (const xmlChar *)"nat"))
		*ret = VP_FWMODE_NAT;   /* libvirt's default when mode is left out */
	else if (xmlStrEqual(m, (const xmlChar *)"route"))
		*ret = VP_FWMODE_ROUTE;
	else if (xmlStrEqual(m, (const xmlChar *)"open"))
		*ret = VP_FWMODE_OPEN;
	else
		*ret = VP_FWMODE_OTHER;
	xmlFree(m);
	return 0;
}

/* libvirt's default for an IPv4 <ip> without netmask or prefix: the classful prefix. */
static int classful_prefix(const struct vp_addr *a, unsigned *ret)
{
	uint8_t first = ((const uint8_t *)&a->v4)[0];

	if (first < 128)
		*ret = 8;
	else if (first < 192)
		*ret = 16;
	else if (first < 224)
		*ret = 24;
	else
		return -EINVAL;
	return 0;
}

static int mask_prefix(const xmlChar *mask, const struct vp_addr *a, unsigned *ret)
{
	struct vp_addr m;

	if (vp_addr_parse((const char *)mask, strlen((const char *)mask), &m) < 0 ||
	    m.family != AF_INET || a->family != AF_INET)
		return -EINVAL;
	return vp_netmask_to_prefix(&m, ret);
}

/* Prefix length of an <ip>: prefix=, or netmask= (IPv4 only), else libvirt's defaults
 * (classful for IPv4, 64 for IPv6). Both prefix= and netmask= is an error, as in libvirt. */
static int ip_prefix(const xmlNode *ipn, const struct vp_addr *a, unsigned *ret)
{
	xmlChar *prefix = NULL, *mask = NULL;
	unsigned long p;
	int r = vp_xml_get_prop(ipn, "prefix", &prefix);

	if (r >= 0)
		r = vp_xml_get_prop(ipn, "netmask", &mask);
	if (r < 0)
		goto out;
	if (prefix && mask) {
		r = -EINVAL;
	} else if (prefix) {
		r = vp_parse_uint((const char *)prefix, strlen((const char *)prefix), 0,
		                  a->family == AF_INET ? 32 : 128, &p) < 0 ? -EINVAL : 0;
		if (r >= 0)
			*ret = (unsigned)p;
	} else if (mask) {
		r = mask_prefix(mask, a, ret);
	} else if (a->family == AF_INET6) {
		*ret = 64;
	} else {
		r = classful_prefix(a, ret);
	}
out:
	xmlFree(prefix);
	xmlFree(mask);
	return r;
}

/* family='ipv4'|'ipv6' must agree with the address when given. */
static int ip_family(const xmlNode *ipn, const struct vp_addr *a)
{
	xmlChar *f;
	int r = vp_xml_get_prop(ipn, "family", &f);

	if (r < 0 || !f)
		return r;
	if (!(xmlStrEqual(f, (const xmlChar *)"ipv4") && a->family == AF_INET) &&
	    !(xmlStrEqual(f, (const xmlChar *)"ipv6") && a->family == AF_INET6))
		r = -EINVAL;
	xmlFree(f);
	return r;
}

static int parse_subnet(const xmlNode *ipn, struct vp_subnet *ret)
{
	struct vp_addr a;
	unsigned prefix;
	bool present;
	int r = parse_addr_prop(ipn, "address", &a, &present);

	if (r < 0)
		return r == -ENOMEM ? r : -EINVAL;
	if (!present)
		return -EINVAL;
	r = ip_family(ipn, &a);
	if (r >= 0)
		r = ip_prefix(ipn, &a, &prefix);
	if (r < 0)
		return r;
	ret->gateway = a;
	vp_cidr_from(&a, prefix, &ret->net);
	return 0;
}

/* One <host>: 1 when stored, 0 when skipped (no ip=: nothing to forward to), or -errno. */
static int parse_host(const xmlNode *hn, int family, struct vp_host *ret)
{
	struct vp_host h = {0};
	bool present;
	int r = parse_addr_prop(hn, "ip", &h.ip, &present);

	if (r < 0)
		return r == -ENOMEM ? r : -EINVAL;
	if (!present)
		return 0;
	if (h.ip.family != family)
		return -EINVAL;
	r = vp_xml_mac_prop(hn, "mac", h.mac);
	if (r >= 0)
		r = vp_xml_copy_prop(hn, "name", h.name, sizeof(h.name));
	if (r >= 0)
		r = vp_xml_copy_prop(hn, "id", h.id, sizeof(h.id));
	if (r < 0)
		return r;
	*ret = h;
	return 1;
}

static int parse_hosts(const xmlNode *ipn, int family, struct vp_network *n)
{
	const xmlNode *dhcp = vp_xml_child(ipn, "dhcp");

	for (const xmlNode *h = vp_xml_first(dhcp); h; h = vp_xml_next(h)) {
		if (!vp_xml_is_elem(h, "host"))
			continue;
		int r = parse_host(h, family, &n->hosts[n->n_hosts]);
		if (r < 0)
			return r;
		n->n_hosts += (size_t)r;
	}
	return 0;
}

/* Count first, so one allocation holds every reservation and the bound is checked before. */
static int count_hosts(const xmlNode *net, size_t *ret)
{
	size_t n = 0;

	for (const xmlNode *ipn = vp_xml_first(net); ipn; ipn = vp_xml_next(ipn)) {
		if (!vp_xml_is_elem(ipn, "ip"))
			continue;
		for (const xmlNode *h = vp_xml_first(vp_xml_child(ipn, "dhcp")); h; h = vp_xml_next(h))
			if (vp_xml_is_elem(h, "host") && ++n > VP_MAX_HOSTS)
				return -E2BIG;
	}
	*ret = n;
	return 0;
}

static int parse_ips(const xmlNode *net, struct vp_network *n)
{
	size_t nhosts;
	int r = count_hosts(net, &nhosts);

	if (r < 0)
		return r;
	if (nhosts) {
		n->hosts = calloc(nhosts, sizeof(*n->hosts));
		if (!n->hosts)
			return -ENOMEM;
	}
	for (const xmlNode *ipn = vp_xml_first(net); ipn; ipn = vp_xml_next(ipn)) {
		if (!vp_xml_is_elem(ipn, "ip"))
			continue;
		if (n->n_subnets >= VP_MAX_SUBNETS)
			return -E2BIG;
		r = parse_subnet(ipn, &n->subnets[n->n_subnets]);
		if (r < 0)
			return r;
		r = parse_hosts(ipn, n->subnets[n->n_subnets].gateway.family, n);
		if (r < 0)
			return r;
		n->n_subnets++;
	}
	return 0;
}

/* libvirt >= 10.4 saves the commands that undo its rules as <firewall backend='..'> in the
 * status file. Look beside the <network>, one wrapper level below the status root, and inside
 * the <network>, so a move between libvirt versions does not hide it. */
static const xmlNode *find_firewall(const xmlNode *root, const xmlNode *net)
{
	const xmlNode *fw = NULL;

	if (root != net) {
		fw = vp_xml_child(root, "firewall");
		for (const xmlNode *c = vp_xml_first(root); c && !fw; c = vp_xml_next(c))
			if (c != net)
				fw = vp_xml_child(c, "firewall");
	}
	return fw ? fw : vp_xml_child(net, "firewall");
}

static int firewall_backend(const xmlNode *fw, enum vp_libvirt_fw *ret)
{
	xmlChar *b;
	int r = vp_xml_get_prop(fw, "backend", &b);

	if (r < 0)
		return r;
	*ret = xmlStrEqual(b, (const xmlChar *)"iptables") ? VP_LVFW_IPTABLES
	       : xmlStrEqual(b, (const xmlChar *)"nftables") ? VP_LVFW_NFTABLES : VP_LVFW_UNKNOWN;
	xmlFree(b);
	return 0;
}

bool vp_ifname_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= IFNAMSIZ || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (; *s; s++)
		if (*s < 0x21 || *s > 0x7e || strchr("/:\"'\\", *s))
			return false;
	return true;
}

static int parse_network(const xmlNode *root, const xmlNode *net, struct vp_network *n)
{
	const xmlNode *name = vp_xml_child(net, "name");
	int r;

	if (!name)
		return -EINVAL;
	r = vp_xml_copy_text(name, n->name, sizeof(n->name));
	if (r >= 0)
		r = vp_xml_copy_prop(vp_xml_child(net, "bridge"), "name", n->bridge, sizeof(n->bridge));
	if (r >= 0 && (!n->name[0] || !vp_ifname_valid(n->bridge)))
		r = -EINVAL;
	if (r >= 0)
		r = forward_mode(vp_xml_child(net, "forward"), &n->mode);
	if (r >= 0)
		r = parse_ips(net, n);
	if (r >= 0)
		r = firewall_backend(find_firewall(root, net), &n->fw);
	return r;
}

int vp_network_parse(const char *buf, size_t len, struct vp_network *ret)
{
	struct vp_network n = {0};
	xmlDocPtr doc = NULL;
	const xmlNode *root, *net;
	int r;

	if (!buf || !ret || len == 0)
		return -EINVAL;
	if (len > VP_NETWORK_XML_MAX)
		return -E2BIG;
	r = vp_xml_read(buf, len, NETWORK_MAX_ELEMENTS, &doc);
	if (r < 0)
		goto out;
	root = xmlDocGetRootElement(doc);
	net = vp_xml_is_elem(root, "networkstatus") ? vp_xml_child(root, "network") : root;
	if (!vp_xml_is_elem(net, "network")) {
		r = -EINVAL;
		goto out;
	}
	r = parse_network(root, net, &n);
	if (r < 0)
		goto out;
	*ret = n;
	n = (struct vp_network){0};
out:
	vp_network_free(&n);
	xmlFreeDoc(doc);
	return r;
}

void vp_network_free(struct vp_network *n)
{
	if (!n)
		return;
	free(n->hosts);
	n->hosts = NULL;
	n->n_hosts = 0;
}

const struct vp_subnet *vp_network_subnet(const struct vp_network *n, int family,
                                          const struct vp_addr *a)
{
	if (!n)
		return NULL;
	for (size_t i = 0; i < n->n_subnets && i < VP_MAX_SUBNETS; i++) {
		const struct vp_subnet *s = &n->subnets[i];
		if (s->net.addr.family == family && (!a || vp_cidr_contains(&s->net, a)))
			return s;
	}
	return NULL;
}

const char *vp_fwmode_name(enum vp_fwmode m)
{
	switch (m) {
	case VP_FWMODE_NAT: return "nat";
	case VP_FWMODE_ROUTE: return "route";
	case VP_FWMODE_OPEN: return "open";
	case VP_FWMODE_NONE: return "none (isolated)";
	case VP_FWMODE_OTHER: break;
	}
	return "a bridge or device mode";
}
