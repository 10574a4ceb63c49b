/* SPDX-License-Identifier: GPL-2.0-or-later */
/* One guest's forwards, from the table to the rules: each forward's NIC and network, the guest's
 * address, the planned rules; what cannot be resolved yet is skipped with a log line. */
#include "pipeline.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "resolve.h"

/* The network's status and leases through the cache; each failure logged once, here. */
static struct vp_netinfo *net_get(struct vp_pipeline *p, const char *name)
{
	struct vp_netinfo *n = vp_netcache_get(&p->nets, name);
	bool fresh = n && n->leases_r == 1;

	if (n && n->r < 0 && fresh) {
		vp_log(LOG_WARNING, "cannot read the status of network %s (%s): is it running?",
		       name, strerror(-n->r));
		n->leases_r = n->r;   /* said once */
	}
	return n;
}

static const struct vp_leases *leases_get(struct vp_netinfo *n)
{
	bool fresh = n->leases_r == 1;
	const struct vp_leases *l = vp_netinfo_leases(n);

	if (!l && fresh && n->leases_r != -ENOENT)
		vp_log(LOG_WARNING, "cannot use the lease file of %s (%s)", n->net.bridge,
		       strerror(-n->leases_r));
	return l;
}


static const char *fwd_where(const struct vp_forward *f, char *buf, size_t n)
{
	snprintf(buf, n, "%s:%u", f->file ? f->file : "?", f->line);
	return buf;
}

/* Resolve one forward into a target; 0 (added or skipped with a log line) or -ENOMEM. */
static int add_target(struct vp_pipeline *p, time_t now, const struct vp_domain *d,
                      const struct vp_forward *f)
{
	char where[512];
	const struct vp_nic *nic = vp_pick_nic(d, f);
	struct vp_target t = {.f = f};
	enum vp_addr_source src;
	struct vp_netinfo *n;

	fwd_where(f, where, sizeof(where));
	if (!nic) {
		vp_log(LOG_WARNING, "%s: guest %s has no NIC matching this forward, ignoring", where, d->name);
		return 0;
	}
	if (nic->type != VP_NIC_NETWORK) {
		vp_log(LOG_NOTICE, "%s: NIC %s of %s is not on a libvirt network (a bridged NIC is on "
		       "the LAN already, no forward needed), ignoring", where, nic->mac, d->name);
		return 0;
	}
	n = net_get(p, nic->network);
	if (!n || n->r < 0)
		return 0;
	if (vp_resolve(f, d, nic, &n->net, leases_get(n), now, &t.guest, &src) < 0) {
		if (f->family == AF_INET6)
			vp_log(LOG_NOTICE, "%s: no IPv6 address for %s (NIC %s on %s) yet: no DHCPv6 lease "
			       "or static host; a guest using SLAAC only is not in libvirt's files, give "
			       "its address with ip=", where, d->name, nic->mac, n->name);
		else
			vp_log(LOG_NOTICE, "%s: no address for %s (NIC %s on %s) yet", where, d->name,
			       nic->mac, n->name);
		p->pending++;
		return 0;
	}
	t.subnet = vp_network_subnet(&n->net, f->family, &t.guest);
	t.bridge = n->net.bridge;
	if (!t.subnet) {
		vp_log(LOG_WARNING, "%s: address of %s is outside network %s, ignoring", where, d->name,
		       n->name);
		return 0;
	}
	struct vp_target *nt = realloc(p->targets, (p->n_targets + 1) * sizeof(*nt));
	if (!nt)
		return -ENOMEM;
	p->targets = nt;
	p->targets[p->n_targets++] = t;
	char a[VP_ADDR_STRLEN];
	vp_log(LOG_DEBUG, "%s: %s -> %s (%s)", where, d->name, vp_addr_str(&t.guest, a),
	       vp_addr_source_name(src));
	return 0;
}

int vp_pipeline_run(struct vp_pipeline *p, const struct vp_table *t, time_t now,
                    const struct vp_domain *d, struct vp_ruleset *rs)
{
	int r = vp_ruleset_init(rs, d->uuid);

	for (size_t i = 0; r == 0 && i < t->n; i++)
		if (vp_forward_matches(&t->fwd[i], d->name, d->uuid))
			r = add_target(p, now, d, &t->fwd[i]);
	if (r == 0)
		r = vp_plan(p->targets, p->n_targets, rs);
	if (r < 0)
		vp_log(LOG_ERR, "planning the forwards of %s failed: %s", d->name, strerror(-r));
	return r;
}

const struct vp_network *vp_pipeline_network(const struct vp_pipeline *p)
{
	for (size_t i = 0; p->n_targets && i < p->nets.len; i++)
		if (p->nets.n[i].r == 0 && !strcmp(p->nets.n[i].net.bridge, p->targets[0].bridge))
			return &p->nets.n[i].net;
	return NULL;
}

void vp_pipeline_free(struct vp_pipeline *p)
{
	if (!p)
		return;
	vp_netcache_free(&p->nets);
	free(p->targets);
	p->targets = NULL;
	p->n_targets = 0;
}
