/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Which NIC a forward targets, and the guest address behind it. Pure: every input is parsed
 * already, the caller reads the files. */
#include "resolve.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* A DUID has at most 128 bytes plus its 2-byte type. */
#define DUID_MAX 130u

const struct vp_nic *vp_pick_nic(const struct vp_domain *d, const struct vp_forward *f)
{
	if (!d || !f)
		return NULL;
	for (size_t i = 0; i < d->n_nics; i++) {
		const struct vp_nic *nic = &d->nics[i];
		if (f->nic[0]) {
			if (nic->mac[0] && strcasecmp(nic->mac, f->nic) == 0)
				return nic;
		} else if (f->network) {
			if (nic->type == VP_NIC_NETWORK && strcmp(nic->network, f->network) == 0)
				return nic;
		} else if (nic->type == VP_NIC_NETWORK) {
			return nic;
		}
	}
	return NULL;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* libvirt writes a DUID as colon-separated bytes of one or two hex digits ("0:3:0:1:52:54:..").
 * Returns the number of bytes, or -EINVAL. */
static int duid_parse(const char *s, uint8_t out[DUID_MAX])
{
	size_t n = 0;

	while (*s) {
		int hi = hex_value(*s), lo;
		if (hi < 0 || n >= DUID_MAX)
			return -EINVAL;
		s++;
		lo = hex_value(*s);
		if (lo >= 0) {
			hi = hi * 16 + lo;
			s++;
		}
		out[n++] = (uint8_t)hi;
		if (*s == ':' && s[1])
			s++;
		else if (*s)
			return -EINVAL;
	}
	return (int)n;
}

/* Whether a DHCPv6 host id names this MAC: a DUID-LLT (type 1) or DUID-LL (type 3) of an
 * Ethernet link layer (hardware type 1) carries the MAC in its last six bytes. Other DUID
 * types say nothing about which NIC they belong to. */
static bool duid_has_mac(const char *id, const char *mac)
{
	uint8_t duid[DUID_MAX];
	char buf[18];
	int n = duid_parse(id, duid);
	const uint8_t *m;

	if (!mac[0])
		return false;
	if (n == 14 && duid[0] == 0 && duid[1] == 1)
		m = duid + 8;
	else if (n == 10 && duid[0] == 0 && duid[1] == 3)
		m = duid + 4;
	else
		return false;
	if (duid[2] != 0 || duid[3] != 1)
		return false;
	snprintf(buf, sizeof(buf), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4],
	         m[5]);
	return strcasecmp(buf, mac) == 0;
}

static bool host_matches(const struct vp_host *h, const struct vp_domain *d,
                         const struct vp_nic *nic, int family)
{
	if (h->ip.family != family)
		return false;
	if (family == AF_INET)
		return nic->mac[0] && strcasecmp(h->mac, nic->mac) == 0;
	/* A DHCPv6 reservation by DUID (id=) only: one by name is given by dnsmasq to whichever
	 * client sends that host name, and any guest can send any name. */
	(void)d;
	return h->id[0] && duid_has_mac(h->id, nic->mac);
}

static const struct vp_host *static_host(const struct vp_domain *d, const struct vp_nic *nic,
                                         const struct vp_network *net, int family)
{
	if (!net)
		return NULL;
	for (size_t i = 0; i < net->n_hosts; i++)
		if (host_matches(&net->hosts[i], d, nic, family))
			return &net->hosts[i];
	return NULL;
}

/* The NIC's lease: its unexpired leases of this family (inside the network's subnets when the
 * network is known: a lease left over from a different addressing of the bridge does not
 * count), the newest of them when they all give one address. Leases with different addresses
 * for one MAC are ambiguous (-ENOTUNIQ, *ret_other: another address): a guest can take a
 * neighbour's MAC in its DHCP request and get a lease of its own under it, and the forward must
 * not follow it there. -ENOENT: no lease. */
static int lease_for(const struct vp_nic *nic, const struct vp_network *net,
                     const struct vp_leases *leases, int family, time_t now,
                     const struct vp_lease **ret, struct vp_addr *ret_other)
{
	const struct vp_lease *best = NULL;
	bool ambiguous = false;

	if (!leases || !nic->mac[0])
		return -ENOENT;
	for (size_t i = 0; i < leases->n; i++) {
		const struct vp_lease *c = &leases->l[i];
		if (c->ip.family != family || strcasecmp(c->mac, nic->mac) != 0)
			continue;
		if ((c->expiry != 0 && c->expiry <= (int64_t)now) ||
		    (net && !vp_network_subnet(net, family, &c->ip)))
			continue;
		if (best && !vp_addr_equal(&c->ip, &best->ip)) {
			ambiguous = true;
			*ret_other = vp_lease_newer(c, best) ? best->ip : c->ip;
		}
		if (!best || vp_lease_newer(c, best))
			best = c;
	}
	*ret = best;
	return !best ? -ENOENT : ambiguous ? -ENOTUNIQ : 0;
}

int vp_resolve(const struct vp_forward *f, const struct vp_domain *d, const struct vp_nic *nic,
               const struct vp_network *net, const struct vp_leases *leases, time_t now,
               struct vp_addr *ret, enum vp_addr_source *ret_src, struct vp_addr *ret_other)
{
	const struct vp_host *h;
	const struct vp_lease *l = NULL;
	struct vp_addr other;
	int r;

	if (!f || !ret || !ret_src)
		return -EINVAL;
	/* ip= is the administrator's word: never fall back to libvirt's view behind it, even
	 * when it is of the other family (then this forward has no address). */
	if (f->ip.family) {
		if (f->ip.family != f->family)
			return -ENOENT;
		*ret = f->ip;
		*ret_src = VP_SRC_OPTION;
		return 0;
	}
	if (!nic)
		return -ENOENT;
	h = static_host(d, nic, net, f->family);
	if (h) {
		*ret = h->ip;
		*ret_src = VP_SRC_STATIC;
		return 0;
	}
	r = lease_for(nic, net, leases, f->family, now, &l, &other);
	if (r == -ENOTUNIQ) {
		*ret = l->ip;      /* the newest, and another: both for the log */
		if (ret_other)
			*ret_other = other;
	}
	if (r < 0)
		return r;
	*ret = l->ip;
	*ret_src = VP_SRC_LEASE;
	return 0;
}

bool vp_lease_holds(const struct vp_nic *nic, const struct vp_network *net,
                    const struct vp_leases *leases, time_t now, const struct vp_addr *a)
{
	for (size_t i = 0; leases && nic->mac[0] && i < leases->n; i++) {
		const struct vp_lease *l = &leases->l[i];
		if (vp_addr_equal(&l->ip, a) && strcasecmp(l->mac, nic->mac) == 0 &&
		    (l->expiry == 0 || l->expiry > (int64_t)now) &&
		    (!net || vp_network_subnet(net, a->family, a)))
			return true;
	}
	return false;
}

static bool host_of_other(const struct vp_host *h, const struct vp_nic *nic)
{
	if (h->ip.family == AF_INET)
		return !nic->mac[0] || strcasecmp(h->mac, nic->mac) != 0;
	/* IPv6: a reservation by id= names its MAC; one by name only is anyone's (above) */
	return h->id[0] && !duid_has_mac(h->id, nic->mac);
}

bool vp_addr_held(const struct vp_nic *nic, const struct vp_network *net,
                  const struct vp_leases *leases, time_t now, const struct vp_addr *a, char *by,
                  size_t bysz)
{
	for (size_t i = 0; net && i < net->n_hosts; i++) {
		const struct vp_host *h = &net->hosts[i];
		if (vp_addr_equal(&h->ip, a) && host_of_other(h, nic)) {
			snprintf(by, bysz, "the static DHCP host %s%s", h->mac[0] ? "of MAC " : "id=",
			         h->mac[0] ? h->mac : h->id);
			return true;
		}
	}
	for (size_t i = 0; leases && i < leases->n; i++) {
		const struct vp_lease *l = &leases->l[i];
		if (vp_addr_equal(&l->ip, a) && l->mac[0] && strcasecmp(l->mac, nic->mac) != 0 &&
		    (l->expiry == 0 || l->expiry > (int64_t)now)) {
			snprintf(by, bysz, "the lease of MAC %s", l->mac);
			return true;
		}
	}
	return false;
}

const char *vp_addr_source_name(enum vp_addr_source s)
{
	switch (s) {
	case VP_SRC_OPTION:
		return "ip=";
	case VP_SRC_STATIC:
		return "static host";
	case VP_SRC_LEASE:
		return "lease";
	case VP_SRC_NEIGHBOUR:
		return "neighbour";
	case VP_SRC_NONE:
		break;
	}
	return "none";
}
