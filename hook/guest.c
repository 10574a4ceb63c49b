/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "guest.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "detect.h"
#include "fw.h"
#include "inputs.h"
#include "leases.h"
#include "log.h"
#include "network.h"
#include "plan.h"
#include "resolve.h"
#include "run.h"
#include "state.h"
#include "xml.h"

#define LOCK_WAIT_MS 30000
struct pipeline {
	struct vp_netcache nets;
	struct vp_target *targets;
	size_t n_targets;
	unsigned pending;           /* forwards whose guest address is not known yet */
};

int vp_ctx_load(struct vp_ctx *c, const char *path, bool any_owner)
{
	int r;

	c->now = time(NULL);
	r = vp_table_open(&c->table, path, any_owner);
	c->table_ok = r == 0;
	return r;
}

void vp_ctx_free(struct vp_ctx *c)
{
	if (c)
		vp_table_free(&c->table);
}

/* The network's status and leases through the cache; each failure logged once, here. */
static struct vp_netinfo *net_get(struct pipeline *p, const char *name)
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

static void pipeline_free(struct pipeline *p)
{
	vp_netcache_free(&p->nets);
	free(p->targets);
}

static const char *fwd_where(const struct vp_forward *f, char *buf, size_t n)
{
	snprintf(buf, n, "%s:%u", f->file ? f->file : "?", f->line);
	return buf;
}

/* Resolve one forward into a target; 0 (added or skipped with a log line) or -ENOMEM. */
static int add_target(struct pipeline *p, const struct vp_ctx *c, const struct vp_domain *d,
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
	if (vp_resolve(f, d, nic, &n->net, leases_get(n), c->now, &t.guest, &src) < 0) {
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

static unsigned ruleset_families(const struct vp_ruleset *rs)
{
	unsigned f = 0;
	for (size_t i = 0; i < rs->n; i++)
		f |= rs->r[i].family == AF_INET6 ? VP_FAM_V6 : VP_FAM_V4;
	return f;
}

/* The rules in the syntax of the backend that would write them. */
static void dry_run_render(const struct vp_backend *b, const struct vp_ruleset *rs, int family,
                           struct vp_buf *out)
{
#ifdef HAVE_LIBNFTABLES
	if (b == &vp_backend_nft) {
		vp_render_nft(rs, family, out);
		return;
	}
#endif
	(void)b;
	vp_render_xt(rs, family, out);
}

static void dry_run_print(struct vp_ctx *c, const struct vp_backend *b, const char *why,
                          const struct vp_ruleset *rs)
{
	vp_buf_printf(c->out, "# %s: backend %s (%s)\n", rs->owner, b ? b->name : "none", why);
	for (int fam = 0; fam < 2; fam++) {
		struct vp_buf lines = {0};
		dry_run_render(b, rs, fam ? AF_INET6 : AF_INET, &lines);
		if (lines.len)
			vp_buf_printf(c->out, "# %s\n%s", fam ? "IPv6" : "IPv4", lines.s);
		vp_buf_free(&lines);
	}
}

/* The guest's rules were installed by another backend (`set backend` changed, or libvirt moved
 * to nftables): take them out of there first, so nothing of ours is left where we no longer look. */
static int leave_old_backend(const struct vp_state *old, const struct vp_backend *b,
                             const char *owner)
{
	const struct vp_backend *ob = vp_backend_by_name(old->backend);
	struct vp_ruleset none = {0};
	struct vp_fw_opts o = {.families = old->families};
	int r;

	if (!ob || ob == b)
		return 0;
	memcpy(none.owner, owner, sizeof(none.owner));
	r = ob->apply(&none, &o);
	if (r < 0)
		vp_log(LOG_ERR, "removing the rules of %s from %s (the backend they were installed "
		       "with) failed: %s", owner, ob->name, strerror(-r));
	return r;
}

/* Apply rs under our lock, keeping the state file in step: the intent (old | new families)
 * is recorded before the change, so an interrupted run can still be cleaned up. */
static int commit(const struct vp_backend *b, const struct vp_domain *d, const char *network,
                  const struct vp_ruleset *rs)
{
	struct vp_state old, st;
	int dirfd, lockfd = -1, r;
	bool fresh = false;

	dirfd = vp_state_open_dir();
	if (dirfd < 0) {
		vp_log(LOG_ERR, "state directory " VP_STATE_DIR ": %s", strerror(-dirfd));
		return dirfd;
	}
	lockfd = r = vp_lock(dirfd, LOCK_WAIT_MS);
	if (r == -ETIMEDOUT)
		vp_log(LOG_ERR, "our lock " VP_STATE_DIR "/lock is still held by another process "
		       "after %u ms", LOCK_WAIT_MS);
	if (r < 0)
		goto out;
	vp_spawn_hold(lockfd);
	memset(&st, 0, sizeof(st));
	snprintf(st.backend, sizeof(st.backend), "%s", b->name);
	snprintf(st.name, sizeof(st.name), "%s", d->name);
	snprintf(st.network, sizeof(st.network), "%s", network ? network : "");
	st.families = ruleset_families(rs);
	if (vp_state_read(dirfd, d->uuid, &old) == 0) {
		r = leave_old_backend(&old, b, rs->owner);
		if (r < 0)
			goto out;
		if (!strcmp(old.backend, b->name))
			st.families |= old.families;
	} else {
		fresh = true;
	}
	if (rs->n && (r = vp_state_write(dirfd, d->uuid, &st)) < 0)
		goto out;
	/* No state before: no rule anywhere, none to read. Marked only once the state is written,
	 * so that a state that cannot be written leaves no file of the guest behind. */
	if (rs->n && fresh)
		vp_rules_mark_new(dirfd, d->uuid);
	struct vp_fw_opts o = {.lock_wait_ms = 0, .families = st.families};
	r = b->apply(rs, &o);
	/* After a failure the state stays as it was written above, naming every family that may
	 * still hold rules (a rollback is best effort, a removal may stop halfway): apply and
	 * flush find the guest there and finish the job. */
	if (r == 0 && !rs->n) {
		vp_state_remove(dirfd, d->uuid);
		vp_state_drop(dirfd, d->uuid, "rules");   /* a backend that keeps none left "none" */
		vp_state_drop(dirfd, d->uuid, "doctor");  /* counters of rules that are gone */
	} else if (r == 0 && st.families != ruleset_families(rs)) {
		st.families = ruleset_families(rs);   /* families left behind are empty now */
		vp_state_write(dirfd, d->uuid, &st);
	}
out:
	if (r < 0)
		vp_log(LOG_ERR, "applying the forwards of %s failed: %s", d->name, strerror(-r));
	vp_spawn_hold(-1);
	if (lockfd >= 0)
		close(lockfd);
	close(dirfd);
	return r;
}

static bool state_exists(const char *uuid)
{
	struct vp_state st;
	int dirfd = vp_state_open_dir(), r;

	if (dirfd < 0)
		return false;
	r = vp_state_read(dirfd, uuid, &st);
	close(dirfd);
	return r == 0;
}

static int build_rules(struct vp_ctx *c, const struct vp_domain *d, struct pipeline *p,
                       struct vp_ruleset *rs)
{
	int r = vp_ruleset_init(rs, d->uuid);

	for (size_t i = 0; r == 0 && i < c->table.n; i++)
		if (vp_forward_matches(&c->table.fwd[i], d->name, d->uuid))
			r = add_target(p, c, d, &c->table.fwd[i]);
	if (r == 0)
		r = vp_plan(p->targets, p->n_targets, rs);
	if (r < 0)
		vp_log(LOG_ERR, "planning the forwards of %s failed: %s", d->name, strerror(-r));
	return r;
}

int vp_guest_install(struct vp_ctx *c, const struct vp_domain *d)
{
	struct pipeline p = {0};
	struct vp_ruleset rs = {0};
	const struct vp_backend *b = NULL;
	const struct vp_network *net = NULL;
	char why[256] = "";
	int r;

	if (!c->table_ok)
		return -EINVAL;
	if (!vp_table_has_domain(&c->table, d->name, d->uuid) && !c->dry_run &&
	    !state_exists(d->uuid))
		return 0;   /* not ours: no firewall I/O at all */
	r = build_rules(c, d, &p, &rs);
	c->pending = p.pending;
	if (r < 0)
		goto out;
	/* No address yet and nothing installed (a new guest before its lease): no detection, no
	 * firewall I/O; the waiter comes back when there is something to do. */
	if (!rs.n && !c->dry_run && !state_exists(d->uuid))
		goto out;
	if (p.n_targets)
		for (size_t i = 0; i < p.nets.len && !net; i++)
			if (p.nets.n[i].r == 0 && !strcmp(p.nets.n[i].net.bridge, p.targets[0].bridge))
				net = &p.nets.n[i].net;
	r = vp_detect(net, c->table.set.backend, &b, why, sizeof(why));
	if (r < 0) {
		vp_log(LOG_ERR, "%s: %s", d->name, why);
		goto out;
	}
	if (c->dry_run) {
		dry_run_print(c, b, why, &rs);
		goto out;
	}
	vp_log(LOG_DEBUG, "%s: %zu rules, backend %s (%s)", d->name, rs.n, b->name, why);
	/* Every XML is parsed: libxml2 and its ICU go before libnftables comes (the peak stays
	 * under 10 MiB with 100 forwards). */
	if (c->one_guest && b->memory_hungry)
		vp_xml_unload();
	r = commit(b, d, net ? net->name : NULL, &rs);
	if (r == 0)
		vp_log(LOG_INFO, "%s: %zu forwards installed (%zu rules, %s)%s", d->name, p.n_targets,
		       rs.n, b->name, p.pending ? "; some wait for the guest's address" : "");
out:
	vp_ruleset_free(&rs);
	pipeline_free(&p);
	return r;
}

/* No state, but a run killed while writing it may have left its temporary files: removed under
 * our lock (its holder may be writing them right now), when there is still no state. */
static void sweep_debris(int dirfd, const char *uuid)
{
	struct vp_state st;
	int lockfd;

	if (!vp_state_has_debris(dirfd, uuid))
		return;
	lockfd = vp_lock(dirfd, LOCK_WAIT_MS);
	if (lockfd < 0)
		return;
	if (vp_state_read(dirfd, uuid, &st) == -ENOENT)
		vp_state_sweep(dirfd, uuid);
	close(lockfd);
}

int vp_guest_remove(struct vp_ctx *c, const char *uuid)
{
	struct vp_state st;
	struct vp_ruleset rs;
	struct vp_domain d = {0};
	const struct vp_backend *b;
	int dirfd = vp_state_open_dir(), r;

	if (dirfd < 0)
		return dirfd;
	r = vp_state_read(dirfd, uuid, &st);
	if (r == -ENOENT && !c->dry_run)
		sweep_debris(dirfd, uuid);
	close(dirfd);
	if (r == -ENOENT)
		return 0;   /* nothing of this guest is installed */
	if (r < 0)
		return r;
	b = vp_backend_by_name(st.backend);
	if (!b) {
		vp_log(LOG_ERR, "unknown backend '%s' in the state of %s", st.backend, uuid);
		return -EINVAL;
	}
	if (c->dry_run) {
		vp_buf_printf(c->out, "# remove every rule owned by " VP_OWNER_PREFIX "%s (%s)\n", uuid,
		              b->name);
		return 0;
	}
	r = vp_ruleset_init(&rs, uuid);
	if (r < 0)
		return r;
	snprintf(d.uuid, sizeof(d.uuid), "%s", uuid);
	snprintf(d.name, sizeof(d.name), "%s", st.name);
	r = commit(b, &d, NULL, &rs);
	if (r == 0)
		vp_log(LOG_INFO, "%s: forwards removed", st.name);
	return r;
}

void vp_describe_forward(struct vp_buf *out, const struct vp_forward *f)
{
	char a[VP_ADDR_STRLEN];
	bool v6 = f->family == AF_INET6;

	vp_buf_printf(out, "  %-4s ", vp_proto_name(f->proto));
	if (f->host_addr.family)
		vp_buf_printf(out, v6 ? "[%s]:" : "%s:", vp_addr_str(&f->host_addr, a));
	else if (v6)
		vp_buf_printf(out, "[::]:");
	vp_buf_printf(out, "%u", f->host_port);
	if (f->host_port_end != f->host_port)
		vp_buf_printf(out, "-%u", f->host_port_end);
	vp_buf_printf(out, " -> ");
}
