/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The engine: one guest's transaction. The pipeline decides the rules; under our lock the state
 * records the intent, the backend applies with its previous record and returns the new one, and
 * the state is brought in step. Nothing else writes a guest's state. */
#include "engine.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ct-follow.h"
#include "detect.h"
#include "fw.h"
#include "lock.h"
#include "log.h"
#include "pipeline.h"
#include "state.h"
#include "xml.h"

#define LOCK_WAIT_MS 30000
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

static unsigned ruleset_families(const struct vp_ruleset *rs)
{
	unsigned f = 0;
	for (size_t i = 0; i < rs->n; i++)
		f |= rs->r[i].family == AF_INET6 ? VP_FAM_V6 : VP_FAM_V4;
	return f;
}

static void dry_run_print(struct vp_ctx *c, const struct vp_backend *b, const char *why,
                          const struct vp_ruleset *rs)
{
	vp_buf_printf(c->out, "# %s: backend %s (%s)\n", rs->owner, b ? b->name : "none", why);
	for (int fam = 0; fam < 2; fam++) {
		struct vp_buf lines = {0};
		if (b)
			b->render(rs, fam ? AF_INET6 : AF_INET, &lines);
		if (lines.len)
			vp_buf_printf(c->out, "# %s\n%s", fam ? "IPv6" : "IPv4", lines.s);
		vp_buf_free(&lines);
	}
}

/* b->apply with the guest's record: the previous one handed over, "unknown" on disk while the
 * change runs (and after a failure: the next change reads what is there), the new one kept. A
 * removal drops it. */
static int backend_apply(int dirfd, const char *uuid, const struct vp_backend *b,
                         const struct vp_ruleset *rs, const struct vp_fw_opts *o)
{
	struct vp_record prev = {.kind = VP_RULES_UNKNOWN}, next = {.kind = VP_RULES_UNKNOWN};
	int r;

	if (b->records) {
		vp_rules_read(dirfd, uuid, b->name, &prev);
		if (vp_rules_write(dirfd, uuid, b->name, NULL) < 0)
			vp_record_free(&prev);
	}
	r = b->apply(rs, o, &prev, &next);
	if (b->records && r == 0 && !rs->n)
		vp_state_drop(dirfd, uuid, "rules");
	else if (b->records && r == 0 && next.kind == VP_RULES_KNOWN)
		vp_rules_write(dirfd, uuid, b->name, next.body);
	vp_record_free(&prev);
	vp_record_free(&next);
	return r;
}

/* The guest's rules were installed by another backend (`set backend` changed, or libvirt moved
 * to nftables): take them out of there first, so nothing of ours is left where we no longer look. */
static int leave_old_backend(int dirfd, int lockfd, const char *uuid, const struct vp_state *old,
                             const struct vp_backend *b, const char *owner)
{
	const struct vp_backend *ob = vp_backend_by_name(old->backend);
	struct vp_ruleset none = {0};
	struct vp_fw_opts o = {.families = old->families, .hold_fd = lockfd};
	int r;

	if (!ob || ob == b)
		return 0;
	memcpy(none.owner, owner, sizeof(none.owner));
	r = backend_apply(dirfd, uuid, ob, &none, &o);
	if (r < 0)
		vp_log(LOG_ERR, "removing the rules of %s from %s (the backend they were installed "
		       "with) failed: %s", owner, ob->name, strerror(-r));
	return r;
}

/* Every rule of the guest is gone: its state and side files go. */
static void drop_guest(int dirfd, const char *uuid)
{
	vp_state_remove(dirfd, uuid);
	vp_state_drop(dirfd, uuid, "rules");    /* a backend that keeps none left "none" */
	vp_state_drop(dirfd, uuid, "doctor");   /* counters of rules that are gone */
}

/* Apply rs under our lock, keeping the state file in step: the intent (old | new families)
 * is recorded before the change, so an interrupted run can still be cleaned up. */
int vp_engine_commit(const struct vp_backend *b, const struct vp_domain *d, const char *network,
                     const struct vp_ruleset *rs, bool (*recheck)(const struct vp_domain *d))
{
	struct vp_state old, st;
	int dirfd, lockfd = -1, r;
	bool fresh = false;

	dirfd = vp_state_open_dir();
	if (dirfd < 0) {
		vp_log(LOG_ERR, "state directory " VP_STATE_DIR ": %s", strerror(-dirfd));
		return dirfd;
	}
	/* A backend whose library is unavailable changes nothing: no state claims rules for it. */
	r = b->load ? b->load() : 0;
	if (r < 0)
		goto out;
	lockfd = r = vp_lock(dirfd, LOCK_WAIT_MS);
	if (r == -ETIMEDOUT)
		vp_log(LOG_ERR, "our lock " VP_STATE_DIR "/lock is still held by another process "
		       "after %u ms", LOCK_WAIT_MS);
	if (r < 0)
		goto out;
	if (rs->n && recheck && !recheck(d)) {
		vp_log(LOG_NOTICE, "%s: stopped meanwhile: nothing installed", d->name);
		r = 1;
		goto out;
	}
	memset(&st, 0, sizeof(st));
	snprintf(st.backend, sizeof(st.backend), "%s", b->name);
	snprintf(st.name, sizeof(st.name), "%s", d->name);
	snprintf(st.network, sizeof(st.network), "%s", network ? network : "");
	st.families = ruleset_families(rs);
	if (vp_state_read(dirfd, d->uuid, &old) == 0) {
		r = leave_old_backend(dirfd, lockfd, d->uuid, &old, b, rs->owner);
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
	struct vp_fw_opts o = {.families = st.families, .hold_fd = lockfd};
	r = backend_apply(dirfd, d->uuid, b, rs, &o);
	if (r == 0)
		vp_ct_follow(dirfd, d->uuid, d->name, rs);   /* flows of removed DNATs end */
	/* After a failure the state stays as it was written above, naming every family that may
	 * still hold rules (a rollback is best effort, a removal may stop halfway): apply and
	 * flush find the guest there and finish the job. */
	if (r == 0 && !rs->n) {
		drop_guest(dirfd, d->uuid);
	} else if (r == 0 && st.families != ruleset_families(rs)) {
		st.families = ruleset_families(rs);   /* families left behind are empty now */
		vp_state_write(dirfd, d->uuid, &st);
	}
out:
	if (r < 0)
		vp_log(LOG_ERR, "applying the forwards of %s failed: %s", d->name, strerror(-r));
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

int vp_guest_install(struct vp_ctx *c, const struct vp_domain *d)
{
	struct vp_pipeline p = {0};
	struct vp_ruleset rs = {0};
	const struct vp_backend *b = NULL;
	const struct vp_network *net = NULL;
	char why[256] = "";
	int r;

	c->pending = 0;   /* this guest's, not the one before it (apply goes through them all) */
	if (!c->table_ok)
		return -EINVAL;
	if (!vp_table_has_domain(&c->table, d->name, d->uuid) && !c->dry_run &&
	    !state_exists(d->uuid))
		return 0;   /* not ours: no firewall I/O at all */
	r = vp_pipeline_run(&p, &c->table, c->now, d, &rs);
	c->pending = p.pending;
	if (r < 0)
		goto out;
	/* No address yet and nothing installed (a new guest before its lease): no detection, no
	 * firewall I/O; the waiter comes back when there is something to do. */
	if (!rs.n && !c->dry_run && !state_exists(d->uuid))
		goto out;
	net = vp_pipeline_network(&p);
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
	r = vp_engine_commit(b, d, net ? net->name : NULL, &rs, c->recheck);
	if (r == 1)
		r = 0;   /* stopped meanwhile (recheck): nothing to say installed */
	else if (r == 0)
		vp_log(LOG_INFO, "%s: %zu forwards installed (%zu rules, %s)%s", d->name, p.n_targets,
		       rs.n, b->name, p.pending ? "; some wait for the guest's address" : "");
out:
	vp_ruleset_free(&rs);
	vp_pipeline_free(&p);
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

/* A state naming a backend this build does not have (written by another version, or damaged):
 * the guest's rules are removed from each backend there is, then the state, so that nothing of
 * it is left unremovable. A backend whose library cannot be loaded is passed over (logged). */
static int remove_everywhere(const char *uuid, const struct vp_state *st)
{
	struct vp_ruleset none = {0};
	struct vp_fw_opts o = {.families = st->families};
	int dirfd = vp_state_open_dir(), lockfd = -1, r;

	vp_log(LOG_WARNING, "unknown backend '%s' in the state of %s: removing its rules from every "
	       "backend", st->backend, st->name);
	r = dirfd < 0 ? dirfd : vp_ruleset_init(&none, uuid);
	if (r == 0)
		lockfd = r = vp_lock(dirfd, LOCK_WAIT_MS);
	o.hold_fd = lockfd;
	for (size_t i = 0; r >= 0 && vp_backends[i]; i++) {
		const struct vp_backend *b = vp_backends[i];
		int rb = b->load ? b->load() : 0;
		if (rb == 0)
			rb = backend_apply(dirfd, uuid, b, &none, &o);
		if (rb < 0 && rb != -ELIBACC)
			r = rb;
	}
	if (r >= 0) {
		vp_ct_follow(dirfd, uuid, st->name, &none);
		drop_guest(dirfd, uuid);
	} else
		vp_log(LOG_ERR, "removing the rules of %s failed: %s", st->name, strerror(-r));
	if (lockfd >= 0)
		close(lockfd);
	if (dirfd >= 0)
		close(dirfd);
	return r < 0 ? r : 0;
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
	if (!b && c->dry_run) {
		vp_buf_printf(c->out, "# remove every rule owned by " VP_OWNER_PREFIX "%s (every "
		              "backend: '%s' is unknown)\n", uuid, st.backend);
		return 0;
	}
	if (!b)
		return remove_everywhere(uuid, &st);
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
	r = vp_engine_commit(b, &d, NULL, &rs, NULL);
	if (r == 0)
		vp_log(LOG_INFO, "%s: forwards removed", st.name);
	return r;
}
