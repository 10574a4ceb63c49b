/* SPDX-License-Identifier: GPL-2.0-or-later */
/* One guest's forwards, from the table to the rules: each forward's NIC and network, the guest's
 * address, the planned rules; what cannot be resolved yet is skipped with a log line. */
#include "pipeline.h"

#include <errno.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "metadata.h"
#include "neigh.h"
#include "util.h"

/* A log line, unless the caller decides without logging (status, the doctor). */
#define SAY(p, ...)                                                                              \
	do {                                                                                     \
		if (!(p)->quiet)                                                                 \
			vp_log(__VA_ARGS__);                                                     \
	} while (0)

/* The network's status and leases through the cache; each failure logged once, here. */
static struct vp_netinfo *net_get(struct vp_pipeline *p, const char *name)
{
	struct vp_netinfo *n = vp_netcache_get(p->cache ? p->cache : &p->nets, name);
	bool fresh = n && n->leases_r == 1;

	if (n && n->r < 0 && fresh) {
		SAY(p, LOG_WARNING, "cannot read the status of network %s (%s): is it running?",
		       name, strerror(-n->r));
		n->leases_r = n->r;   /* said once */
	}
	return n;
}

static const struct vp_leases *leases_get(const struct vp_pipeline *p, struct vp_netinfo *n)
{
	bool fresh = n->leases_r == 1;
	const struct vp_leases *l = vp_netinfo_leases(n);

	if (!l && fresh && n->leases_r != -ENOENT)
		SAY(p, LOG_WARNING, "cannot use the lease file of %s (%s)", n->net.bridge,
		       strerror(-n->leases_r));
	return l;
}

static const char *fwd_where(const struct vp_forward *f, char *buf, size_t n)
{
	vp_forward_where(f, buf, n);
	return buf;
}

/* The NIC and network of dc->f: VP_SKIP_NONE when the address can be looked for. */
static enum vp_skip reach_network(struct vp_pipeline *p, const struct vp_domain *d,
                                  struct vp_decision *dc, const char *where)
{
	dc->nic = vp_pick_nic(d, dc->f);
	if (!dc->nic) {
		SAY(p, LOG_WARNING, "%s: guest %s has no NIC matching this forward, ignoring", where,
		       d->name);
		return VP_SKIP_NO_NIC;
	}
	if (dc->nic->type != VP_NIC_NETWORK) {
		SAY(p, LOG_NOTICE, "%s: NIC %s of %s is not on a libvirt network (a bridged NIC is on "
		       "the LAN already, no forward needed), ignoring", where, dc->nic->mac, d->name);
		return VP_SKIP_NOT_NETWORK;
	}
	dc->net = net_get(p, dc->nic->network);
	if (!dc->net) {   /* net_get said nothing: a name no file can have, or a full cache */
		SAY(p, LOG_WARNING, "%s: network %s of %s cannot be looked up (a name that cannot be a "
		       "file name, or more than %u networks for one guest), ignoring", where,
		       dc->nic->network, d->name, VP_NETCACHE_MAX);
		return VP_SKIP_NET_DOWN;
	}
	if (dc->net->r < 0)
		return VP_SKIP_NET_DOWN;
	if (dc->net->net.mode != VP_FWMODE_NAT) {
		SAY(p, LOG_WARNING, "%s: NIC %s of %s is on network %s, whose forward mode is %s, not "
		       "nat: port forwards are for NAT networks, ignoring", where, dc->nic->mac,
		       d->name, dc->net->name, vp_fwmode_name(dc->net->net.mode));
		return VP_SKIP_NOT_NAT;
	}
	return VP_SKIP_NONE;
}

/* Whether ip= of a forward of another guest in the table names a (into by). */
static bool held_by_option(const struct vp_table *t, const struct vp_domain *d,
                           const struct vp_addr *a, char *by, size_t bysz)
{
	for (size_t i = 0; t && i < t->n; i++) {
		const struct vp_forward *g = &t->fwd[i];
		if (g->ip.family && vp_addr_equal(&g->ip, a) && !vp_forward_matches(g, d->name, d->uuid)) {
			snprintf(by, bysz, "ip= of guest %s (%s:%u)", g->domain, g->file ? g->file : "?",
			         g->line);
			return true;
		}
	}
	return false;
}

/* A leased address that is another's: nothing is installed for it. */
static enum vp_skip check_held(struct vp_pipeline *p, time_t now, const struct vp_domain *d,
                               struct vp_decision *dc, const char *where)
{
	char a[VP_ADDR_STRLEN];

	if ((dc->src != VP_SRC_LEASE && dc->src != VP_SRC_NEIGHBOUR) ||
	    (!vp_addr_held(dc->nic, &dc->net->net, vp_netinfo_leases(dc->net), now, &dc->addr,
	                   dc->held, sizeof(dc->held)) &&
	     !held_by_option(p->table, d, &dc->addr, dc->held, sizeof(dc->held))))
		return VP_SKIP_NONE;
	SAY(p, LOG_WARNING, "%s: NIC %s of %s has a %s for %s, held by %s: another guest "
	    "may be using its MAC; nothing is installed for this forward (a static DHCP host or ip= "
	    "settles it)", where, dc->nic->mac, d->name, dc->src == VP_SRC_LEASE ? "DHCP lease" :
	    "neighbour entry", vp_addr_str(&dc->addr, a), dc->held);
	return VP_SKIP_HELD;
}

/* The neighbour table's two ambiguities (vp_neigh_pick's -ENOTUNIQ, -EADDRINUSE): logged, and
 * nothing is installed. */
static enum vp_skip neigh_ambiguous(struct vp_pipeline *p, const struct vp_domain *d,
                                    struct vp_decision *dc, const char *where, int r,
                                    const struct vp_neigh_pick *pk)
{
	const char *br = dc->net->net.bridge;
	char a[VP_ADDR_STRLEN], b[VP_ADDR_STRLEN];

	dc->addr = pk->addr;
	dc->src = VP_SRC_NEIGHBOUR;
	if (r == -ENOTUNIQ) {
		dc->other = pk->other;
		SAY(p, LOG_WARNING, "%s: NIC %s of %s answers for two addresses on %s (%s, %s): another "
		    "guest may be using its MAC; nothing is installed for this forward (a static DHCP "
		    "host or ip= settles it)", where, dc->nic->mac, d->name, br,
		    vp_addr_str(&pk->addr, a), vp_addr_str(&pk->other, b));
		return VP_SKIP_AMBIGUOUS;
	}
	snprintf(dc->held, sizeof(dc->held), "the neighbour entry of MAC %s", pk->other_mac);
	SAY(p, LOG_WARNING, "%s: address %s of NIC %s of %s is also seen for MAC %s on %s: nothing "
	    "is installed for this forward (a static DHCP host or ip= settles it)", where,
	    vp_addr_str(&pk->addr, a), dc->nic->mac, d->name, pk->other_mac, br);
	return VP_SKIP_HELD;
}

/* The neighbour table's address for dc->nic on its bridge (neigh.h), once libvirt's files gave
 * none: r is 0 with dc->addr set, -ENOENT or -errno (no address yet), or ambiguous (logged, and
 * its skip in *ret_skip). */
static int ask_neighbours(struct vp_pipeline *p, const struct vp_domain *d,
                          struct vp_decision *dc, const char *where, enum vp_skip *ret_skip)
{
	const struct vp_network *net = &dc->net->net;
	struct vp_neighs t = {0};
	struct vp_neigh_pick pk;
	int ifindex, r;

	if (!vp_network_subnet(net, dc->f->family, NULL))
		return -ENOENT;   /* no subnet of the family: nothing there could be used */
	ifindex = (int)if_nametoindex(net->bridge);
	r = ifindex > 0 ? vp_neigh_dump(ifindex, dc->f->family, &t) : -ENODEV;
	if (r == 0)
		r = vp_neigh_pick(&t, dc->nic->mac, net, dc->f->family, &pk);
	else if (r != -ENODEV)
		SAY(p, LOG_WARNING, "%s: cannot read the neighbour table of %s (%s)", where,
		    net->bridge, strerror(-r));
	vp_neighs_free(&t);
	if (r == 0) {
		dc->addr = pk.addr;
		dc->src = VP_SRC_NEIGHBOUR;
	} else if (r == -ENOTUNIQ || r == -EADDRINUSE) {
		*ret_skip = neigh_ambiguous(p, d, dc, where, r, &pk);
	}
	return r;
}

/* The guest's address for dc->f on its network: VP_SKIP_NONE when it is known and inside. */
/* Leases of the NIC's MAC that disagree: the address our rules send to now stays while its
 * lease is valid (a neighbour claiming the MAC gets the newer lease, the owner keeps its own);
 * true when it does (dc->addr is it). */
static bool keep_installed(struct vp_pipeline *p, time_t now, const struct vp_domain *d,
                           struct vp_decision *dc, const char *where)
{
	char a[VP_ADDR_STRLEN], b[VP_ADDR_STRLEN];

	for (size_t i = 0; i < p->n_installed; i++) {
		const struct vp_state_addr *in = &p->installed[i];
		if (strcasecmp(in->mac, dc->nic->mac) || in->ip.family != dc->f->family ||
		    !vp_lease_holds(dc->nic, &dc->net->net, vp_netinfo_leases(dc->net), now, &in->ip))
			continue;
		dc->other = vp_addr_equal(&dc->addr, &in->ip) ? dc->other : dc->addr;
		dc->addr = in->ip;
		dc->src = VP_SRC_LEASE;
		SAY(p, LOG_WARNING, "%s: NIC %s of %s has unexpired DHCP leases with different "
		    "addresses (%s, %s on %s): another guest may be using its MAC; the forward stays on "
		    "%s, where it is installed, while that lease is valid", where, dc->nic->mac, d->name,
		    vp_addr_str(&dc->addr, a), vp_addr_str(&dc->other, b), dc->net->name,
		    vp_addr_str(&dc->addr, a));
		return true;
	}
	return false;
}

static enum vp_skip find_address(struct vp_pipeline *p, time_t now, const struct vp_domain *d,
                                 struct vp_decision *dc, const char *where)
{
	struct vp_netinfo *n = dc->net;

	char a[VP_ADDR_STRLEN], b[VP_ADDR_STRLEN];
	int r = vp_resolve(dc->f, d, dc->nic, &n->net, leases_get(p, n), now, &dc->addr, &dc->src,
	                   &dc->other);

	if (r == -ENOTUNIQ && keep_installed(p, now, d, dc, where))
		r = 0;
	if (r == -ENOTUNIQ) {
		SAY(p, LOG_WARNING, "%s: NIC %s of %s has unexpired DHCP leases with different addresses "
		    "(%s, %s on %s): another guest may be using its MAC; nothing is installed for this "
		    "forward (a static DHCP host or ip= settles it)", where, dc->nic->mac, d->name,
		    vp_addr_str(&dc->addr, a), vp_addr_str(&dc->other, b), n->name);
		return VP_SKIP_AMBIGUOUS;
	}
	/* ip= of the other family means no address here, not "ask the neighbours" */
	if (r == -ENOENT && !dc->f->ip.family) {
		enum vp_skip skip = VP_SKIP_NONE;
		r = ask_neighbours(p, d, dc, where, &skip);
		if (skip != VP_SKIP_NONE)
			return skip;
	}
	if (r < 0) {
		if (dc->f->family == AF_INET6)
			SAY(p, LOG_NOTICE, "%s: no IPv6 address for %s (NIC %s on %s) yet: no DHCPv6 lease, "
			       "static host or neighbour entry; a guest using SLAAC is found once it "
			       "talks, or give its address with ip=", where, d->name, dc->nic->mac,
			       n->name);
		else
			SAY(p, LOG_NOTICE, "%s: no address for %s (NIC %s on %s) yet", where, d->name,
			       dc->nic->mac, n->name);
		p->pending++;
		return VP_SKIP_NO_ADDRESS;
	}
	if (!vp_network_subnet(&n->net, dc->f->family, &dc->addr)) {
		SAY(p, LOG_WARNING, "%s: address of %s is outside network %s, ignoring", where, d->name,
		       n->name);
		return VP_SKIP_OUTSIDE;
	}
	return VP_SKIP_NONE;
}

/* Decide one forward: a target, or the reason it is left out (logged). 0 or -ENOMEM. */
static int decide(struct vp_pipeline *p, time_t now, const struct vp_domain *d,
                  const struct vp_forward *f)
{
	char where[512], a[VP_ADDR_STRLEN];
	struct vp_decision dc = {.f = f, .target = SIZE_MAX};

	if (vp_grow(&p->dec, &p->cap_dec, p->n_dec + 1, sizeof(*p->dec)) < 0 ||
	    vp_grow(&p->targets, &p->cap_targets, p->n_targets + 1, sizeof(*p->targets)) < 0)
		return -ENOMEM;
	fwd_where(f, where, sizeof(where));
	dc.skip = reach_network(p, d, &dc, where);
	if (dc.skip == VP_SKIP_NONE)
		dc.skip = find_address(p, now, d, &dc, where);
	if (dc.skip == VP_SKIP_NONE)
		dc.skip = check_held(p, now, d, &dc, where);
	if (dc.skip == VP_SKIP_NONE) {
		dc.target = p->n_targets;
		p->targets[p->n_targets++] = (struct vp_target){
			.f = f, .guest = dc.addr, .bridge = dc.net->net.bridge,
			.subnet = vp_network_subnet(&dc.net->net, f->family, &dc.addr)};
		SAY(p, LOG_DEBUG, "%s: %s -> %s (%s)", where, d->name, vp_addr_str(&dc.addr, a),
		       vp_addr_source_name(dc.src));
	}
	p->dec[p->n_dec++] = dc;
	return 0;
}

/* The forwards of d's metadata that may join the table's (p->meta); each refusal logged. */
static int load_metadata(struct vp_pipeline *p, const struct vp_table *t,
                         const struct vp_domain *d)
{
	struct vp_diags dg = {0};
	int r = vp_metadata_forwards(t, d, &p->meta, &dg);

	for (size_t i = 0; i < dg.n; i++)
		SAY(p, LOG_ERR, "%s", dg.msg[i]);
	if (r == -EINVAL)
		SAY(p, LOG_ERR, "the forwards in the metadata of %s have errors: none of them is "
		    "installed", d->name);
	vp_diags_free(&dg);
	return r == -ENOMEM ? r : 0;
}

int vp_pipeline_run(struct vp_pipeline *p, const struct vp_table *t, time_t now,
                    const struct vp_domain *d, struct vp_ruleset *rs)
{
	int r = vp_ruleset_init(rs, d->uuid);

	p->table = t;
	if (r == 0)
		r = load_metadata(p, t, d);
	for (size_t i = 0; r == 0 && i < t->n; i++)
		if (vp_forward_matches(&t->fwd[i], d->name, d->uuid))
			r = decide(p, now, d, &t->fwd[i]);
	for (size_t i = 0; r == 0 && i < p->meta.n; i++)
		r = decide(p, now, d, &p->meta.fwd[i]);
	if (r == 0)
		r = vp_plan(p->targets, p->n_targets, rs);
	if (r < 0)
		SAY(p, LOG_ERR, "planning the forwards of %s failed: %s", d->name, strerror(-r));
	return r;
}

size_t vp_pipeline_addrs(const struct vp_pipeline *p, struct vp_state_addr *out, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < p->n_dec; i++) {
		const struct vp_decision *dc = &p->dec[i];
		bool seen = false;
		if (dc->target == SIZE_MAX || !dc->nic || !dc->nic->mac[0])
			continue;
		for (size_t j = 0; j < n && !seen; j++)
			seen = !strcmp(out[j].mac, dc->nic->mac) && vp_addr_equal(&out[j].ip, &dc->addr);
		if (!seen && n < max) {
			snprintf(out[n].mac, sizeof(out[n].mac), "%s", dc->nic->mac);
			out[n++].ip = dc->addr;
		}
	}
	return n;
}

const struct vp_network *vp_pipeline_network(const struct vp_pipeline *p)
{
	for (size_t i = 0; i < p->n_dec; i++)
		if (p->dec[i].target == 0)
			return &p->dec[i].net->net;
	return NULL;
}

void vp_pipeline_free(struct vp_pipeline *p)
{
	if (!p)
		return;
	vp_netcache_free(&p->nets);
	vp_table_free(&p->meta);
	free(p->targets);
	free(p->dec);
	*p = (struct vp_pipeline){.cache = p->cache, .quiet = p->quiet};
}
