/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Tags are the truth: rules of ours that no state accounts for. A ruleset restored from a dump
 * at boot, or a state directory that was lost, leaves tagged rules the state does not know of.
 * Each backend that can list its tags (fw.h owners) is asked for them; under our lock, every
 * owner without a state file loses its rules there, with our chains and table once empty. */
#include "engine.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lock.h"
#include "log.h"
#include "state.h"

struct tags {
	char (*uuid)[37];
	size_t n, cap;
	const char *only;   /* NULL: every owner */
};

static int collect(const char *owner, void *data)
{
	struct tags *t = data;
	char u[37];

	if (!vp_owner_uuid(owner, u) || (t->only && strcmp(u, t->only)))
		return 0;
	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(t->uuid[i], u))
			return 0;
	if (vp_grow(&t->uuid, &t->cap, t->n + 1, sizeof(*t->uuid)) < 0)
		return -ENOMEM;
	memcpy(t->uuid[t->n++], u, sizeof(u));
	return 0;
}

/* Remove every rule of uuid from b: its apply with nothing wanted and nothing known. */
static int remove_stray(int lockfd, long long deadline, const struct vp_backend *b,
                        const char *uuid)
{
	struct vp_ruleset none;
	struct vp_fw_opts o = {.hold_fd = lockfd, .deadline = deadline,
	                       .rollback_deadline = deadline};
	struct vp_record prev = {.kind = VP_RULES_UNKNOWN}, next = {.kind = VP_RULES_UNKNOWN};
	int r = vp_ruleset_init(&none, uuid);

	if (r == 0 && b->load)
		r = b->load();
	if (r == 0)
		r = b->apply(&none, &o, &prev, &next);
	vp_record_free(&next);
	if (r == 0)
		vp_log(LOG_NOTICE, "%s: removed rules of guest %s that no state of ours accounted for "
		       "(a ruleset restored from a dump, or a lost state directory)", b->name, uuid);
	return r;
}

static int sweep_backend(int dirfd, int lockfd, long long deadline, const struct vp_backend *b,
                         const char *only)
{
	struct tags t = {.only = only};
	struct vp_state st;
	int r = b->owners(collect, &t), failed = 0;

	if (r < 0)
		vp_log(LOG_ERR, "%s: cannot list our rules: %s", b->name, strerror(-r));
	for (size_t i = 0; r == 0 && i < t.n; i++)
		if (vp_state_read(dirfd, t.uuid[i], &st) == -ENOENT)
			failed |= remove_stray(lockfd, deadline, b, t.uuid[i]) < 0;
	free(t.uuid);
	return r < 0 ? r : failed ? -EIO : 0;
}

int vp_engine_sweep(const char *only, long long deadline)
{
	int dirfd = vp_state_open_dir(), lockfd = -1, r = dirfd, failed = 0;

	if (r >= 0)
		lockfd = r = vp_lock(dirfd, vp_wait_ms(deadline, VP_LOCK_WAIT_MS));
	for (size_t i = 0; r >= 0 && vp_backends[i]; i++)
		if (vp_backends[i]->owners && !vp_deadline_passed(deadline))
			failed |= sweep_backend(dirfd, lockfd, deadline, vp_backends[i], only) < 0;
	if (r < 0)
		vp_log(LOG_ERR, "looking for rules that no state accounts for: %s", strerror(-r));
	if (lockfd >= 0)
		close(lockfd);
	if (dirfd >= 0)
		close(dirfd);
	return r < 0 ? r : failed ? -EIO : 0;
}
