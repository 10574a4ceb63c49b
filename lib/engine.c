/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The engine: one guest's transaction. The pipeline decides the rules; under our lock the state
 * records the intent, the backend applies with its previous record and returns the new one, and
 * the state is brought in step. Nothing else writes a guest's state. */
#include "engine.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ct-follow.h"
#include "detect.h"
#include "fw.h"
#include "lock.h"
#include "log.h"
#include "metadata.h"
#include "pipeline.h"
#include "state.h"
#include "xml.h"

#define LOCK_WAIT_MS ((unsigned)VP_LOCK_WAIT_MS)
/* A change cut short by the deadline must still be undone in time: it ends this much before
 * the deadline (a quarter of the time left, at most ROLLBACK_RESERVE_MAX_MS), kept for the
 * rollback. */
#define ROLLBACK_RESERVE_MAX_MS 5000
/* How long the detached child of a hook may take to end the flows of removed forwards: the
 * next change of any guest waits for it (our lock). The kernel's walk takes milliseconds. */
#define FLOWS_DETACHED_MS 5000

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
static int leave_old_backend(int dirfd, const struct vp_fw_opts *bounds, const char *uuid,
                             const struct vp_state *old, const struct vp_backend *b,
                             const char *owner)
{
	const struct vp_backend *ob = vp_backend_by_name(old->backend);
	struct vp_ruleset none = {0};
	struct vp_fw_opts o = *bounds;
	int r;

	o.families = old->families;
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

static int find_tag(const char *owner, void *data)
{
	return !strcmp(owner, data);
}

/* Whether b's tables hold a rule tagged owner (or cannot tell): then a guest with no state is
 * not a guest with no rule, and b must read what is there instead of inserting blind. */
static bool tagged_in(const struct vp_backend *b, const char *owner)
{
	return b->owners && b->owners(find_tag, (void *)owner) != 0;
}

/* Our lock, waited for until its own bound or the deadline, whichever comes first: the fd, or
 * -errno after logging why. */
static int take_lock(int dirfd, long long deadline)
{
	unsigned wait_ms = vp_wait_ms(deadline, LOCK_WAIT_MS);
	int r = vp_lock(dirfd, wait_ms);

	if (r == -ETIMEDOUT)
		vp_log(LOG_ERR, "our lock " VP_STATE_DIR "/lock is still held by another process "
		       "after %u ms%s", wait_ms, wait_ms < LOCK_WAIT_MS ? " (set hook-timeout)" : "");
	else if (r < 0)
		vp_log(LOG_ERR, "cannot take our lock " VP_STATE_DIR "/lock: %s", strerror(-r));
	return r;
}

/* The bounds of a change made under our lock (lockfd) by deadline: an install (which a
 * failure rolls back) ends early enough to leave its rollback time (ROLLBACK_RESERVE_MAX_MS);
 * a removal has nothing to undo and takes it all. */
static struct vp_fw_opts change_bounds(int lockfd, long long deadline, bool install)
{
	struct vp_fw_opts o = {.hold_fd = lockfd, .deadline = deadline,
	                       .rollback_deadline = deadline};
	long long left = deadline - vp_now_ms();

	if (deadline && install)
		o.deadline = deadline - (left <= 0 ? 0 : left / 4 < ROLLBACK_RESERVE_MAX_MS ?
		                         left / 4 : ROLLBACK_RESERVE_MAX_MS);
	return o;
}

/* The detached child's world: its own session, stdin, stdout and stderr on /dev/null (libvirt
 * reads the hook's pipes until EOF: none may stay open here), no fd but our lock. */
static void detach(int lockfd)
{
	int null;

	if (lockfd < 3)   /* not to be replaced by stdio (the lock belongs to the description) */
		lockfd = fcntl(lockfd, F_DUPFD_CLOEXEC, 3);
	setsid();
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0 || dup2(null, STDIN_FILENO) < 0 || dup2(null, STDOUT_FILENO) < 0 ||
	    dup2(null, STDERR_FILENO) < 0)
		for (int fd = 0; fd < 3; fd++)
			close(fd);   /* closed, then: still none of libvirt's pipes */
	vp_log_atfork();
	vp_close_fds(lockfd);
}

/* End the flows of plan p (vp_ct_follow's), under our lock (lockfd). For the qemu hook
 * (c->defer_flows) in a detached child that keeps the lock until they are ended: libvirt,
 * which waits for the hook, does not wait for the kernel's walk of its conntrack table, and
 * the next change of any guest waits for our lock, so it comes after. A fork that fails: here,
 * as the CLI does. */
static void end_flows(const struct vp_ctx *c, const struct vp_ct_plan *p, int lockfd)
{
	pid_t pid = -1;

	if (!vp_ct_planned(p))
		return;
	if (c->defer_flows && (pid = fork()) < 0)
		vp_log(LOG_WARNING, "%s: cannot fork (%s): ending the connections of its removed "
		       "forwards now", p->name, strerror(errno));
	if (pid > 0)
		return;
	if (pid == 0) {
		detach(lockfd);
		vp_ct_end(p, vp_now_ms() + FLOWS_DETACHED_MS);
		_exit(0);
	}
	vp_ct_end(p, 0);
}

/* Apply rs under our lock, keeping the state file in step: the intent (old | new families)
 * is recorded before the change, so an interrupted run can still be cleaned up. */
int vp_engine_commit(const struct vp_ctx *c, const struct vp_backend *b,
                     const struct vp_domain *d, const char *network, const struct vp_ruleset *rs,
                     const struct vp_state_addr *addr, size_t n_addr)
{
	struct vp_state old, st;
	struct vp_ct_plan flows = {0};
	struct vp_fw_opts o;
	long long deadline = c->deadline;
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
	lockfd = r = take_lock(dirfd, deadline);
	if (r < 0)
		goto out;
	/* Nothing is begun that has no time left: the state and the rules stay as they were. */
	if (vp_deadline_passed(deadline)) {
		vp_log(LOG_ERR, "%s: the hook's time (set hook-timeout) is up: nothing changed",
		       d->name);
		r = -ETIMEDOUT;
		goto out;
	}
	o = change_bounds(lockfd, deadline, rs->n > 0);
	if (rs->n && c->recheck && !c->recheck(d)) {
		vp_log(LOG_NOTICE, "%s: stopped meanwhile: nothing installed", d->name);
		r = 1;
		goto out;
	}
	memset(&st, 0, sizeof(st));
	snprintf(st.backend, sizeof(st.backend), "%s", b->name);
	snprintf(st.name, sizeof(st.name), "%s", d->name);
	st.n_addr = n_addr < VP_STATE_ADDR_MAX ? n_addr : VP_STATE_ADDR_MAX;
	if (st.n_addr)
		memcpy(st.addr, addr, st.n_addr * sizeof(*addr));
	snprintf(st.network, sizeof(st.network), "%s", network ? network : "");
	st.families = ruleset_families(rs);
	if (vp_state_read(dirfd, d->uuid, &old) == 0) {
		r = leave_old_backend(dirfd, &o, d->uuid, &old, b, rs->owner);
		if (r < 0)
			goto out;
		if (!strcmp(old.backend, b->name))
			st.families |= old.families;
	} else {
		fresh = true;
	}
	if (rs->n && (r = vp_state_write(dirfd, d->uuid, &st)) < 0)
		goto out;
	/* No state before and no rule tagged with the guest's uuid: none to read. Marked only once
	 * the state is written, so that a state that cannot be written leaves no file of the guest
	 * behind. Tagged rules with no state (a restored ruleset): read, so none is doubled. */
	if (rs->n && fresh && b->records && tagged_in(b, rs->owner))
		vp_log(LOG_NOTICE, "%s: rules of it are in %s but no state of ours (a ruleset restored "
		       "from a dump?): reading what is there", d->name, b->name);
	else if (rs->n && fresh)
		vp_rules_mark_new(dirfd, d->uuid);
	o.families = st.families;
	r = backend_apply(dirfd, d->uuid, b, rs, &o);
	/* Flows of removed DNATs end; not once the hook's time is up (the next change does it). */
	if (r == 0 && !vp_deadline_passed(deadline)) {
		vp_ct_follow(dirfd, d->uuid, d->name, rs, &flows);
		end_flows(c, &flows, lockfd);
	}
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
	vp_ct_plan_free(&flows);
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

void vp_guest_installed(const char *uuid, struct vp_state *st)
{
	int dirfd = vp_state_open_dir();

	if (dirfd < 0 || vp_state_read(dirfd, uuid, st) < 0)
		st->n_addr = 0;
	if (dirfd >= 0)
		close(dirfd);
}

int vp_guest_install(struct vp_ctx *c, const struct vp_domain *d)
{
	struct vp_pipeline p = {0};
	struct vp_ruleset rs = {0};
	const struct vp_backend *b = NULL;
	const struct vp_network *net = NULL;
	struct vp_state old;
	struct vp_state_addr addr[VP_STATE_ADDR_MAX];
	size_t n_addr;
	char why[256] = "";
	int r;

	c->pending = 0;   /* this guest's, not the one before it (apply goes through them all) */
	if (!c->table_ok)
		return -EINVAL;
	if (!vp_table_has_domain(&c->table, d->name, d->uuid) && !vp_domain_has_meta(d) &&
	    !c->dry_run && !state_exists(d->uuid))
		return 0;   /* not ours: no firewall I/O at all */
	vp_guest_installed(d->uuid, &old);
	p.installed = old.addr;
	p.n_installed = old.n_addr;
	r = vp_pipeline_run(&p, &c->table, c->now, d, &rs);
	c->pending = p.pending;
	if (r < 0)
		goto out;
	/* No address yet and nothing installed (a new guest before its lease): no detection, no
	 * firewall I/O; the waiter comes back when there is something to do. */
	if (!rs.n && !c->dry_run && !state_exists(d->uuid))
		goto out;
	net = vp_pipeline_network(&p);
	r = vp_detect(net, c->table.set.backend, c->deadline, &b, why, sizeof(why));
	if (r < 0) {
		vp_log(LOG_ERR, "%s: %s", d->name, why);
		goto out;
	}
	if (c->dry_run) {
		dry_run_print(c, b, why, &rs);
		goto out;
	}
	vp_log(LOG_DEBUG, "%s: %zu rules, backend %s (%s)", d->name, rs.n, b->name, why);
	n_addr = vp_pipeline_addrs(&p, addr, VP_STATE_ADDR_MAX);
	r = vp_engine_commit(c, b, d, net ? net->name : NULL, &rs, addr, n_addr);
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
static void sweep_debris(int dirfd, const char *uuid, long long deadline)
{
	struct vp_state st;
	int lockfd;

	if (!vp_state_has_debris(dirfd, uuid))
		return;
	lockfd = take_lock(dirfd, deadline);
	if (lockfd < 0)
		return;
	if (vp_state_read(dirfd, uuid, &st) == -ENOENT)
		vp_state_sweep(dirfd, uuid);
	close(lockfd);
}

/* A state naming a backend this build does not have (written by another version, or damaged):
 * the guest's rules are removed from each backend there is, then the state, so that nothing of
 * it is left unremovable. A backend whose library cannot be loaded is passed over (logged). */
static int remove_everywhere(const struct vp_ctx *c, const char *uuid, const struct vp_state *st)
{
	struct vp_ruleset none = {0};
	struct vp_ct_plan flows = {0};
	struct vp_fw_opts o;
	int dirfd = vp_state_open_dir(), lockfd = -1, r;

	vp_log(LOG_WARNING, "unknown backend '%s' in the state of %s: removing its rules from every "
	       "backend", st->backend, st->name);
	r = dirfd < 0 ? dirfd : vp_ruleset_init(&none, uuid);
	if (r == 0)
		lockfd = r = take_lock(dirfd, c->deadline);
	o = change_bounds(lockfd, c->deadline, false);
	o.families = st->families;
	for (size_t i = 0; r >= 0 && vp_backends[i]; i++) {
		const struct vp_backend *b = vp_backends[i];
		int rb = b->load ? b->load() : 0;
		if (rb == 0)
			rb = backend_apply(dirfd, uuid, b, &none, &o);
		if (rb < 0 && rb != -ELIBACC)
			r = rb;
	}
	if (r >= 0) {
		vp_ct_follow(dirfd, uuid, st->name, &none, &flows);
		end_flows(c, &flows, lockfd);
		drop_guest(dirfd, uuid);
	} else
		vp_log(LOG_ERR, "removing the rules of %s failed: %s", st->name, strerror(-r));
	if (lockfd >= 0)
		close(lockfd);
	if (dirfd >= 0)
		close(dirfd);
	vp_ct_plan_free(&flows);
	return r < 0 ? r : 0;
}

int vp_guest_remove_domain(struct vp_ctx *c, const struct vp_domain *d)
{
	bool stray = !c->dry_run && c->table_ok && !state_exists(d->uuid) &&
	             (vp_table_has_domain(&c->table, d->name, d->uuid) || vp_domain_has_meta(d));
	int r = vp_guest_remove(c, d->uuid);

	return r == 0 && stray ? vp_engine_sweep(d->uuid, c->deadline) : r;
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
		sweep_debris(dirfd, uuid, c->deadline);
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
		return remove_everywhere(c, uuid, &st);
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
	r = vp_engine_commit(c, b, &d, NULL, &rs, NULL, 0);
	if (r == 0)
		vp_log(LOG_INFO, "%s: forwards removed", st.name);
	return r;
}
