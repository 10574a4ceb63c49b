/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The engine's transaction without root and without a firewall: a fake backend records what it
 * was given and what our state said at that moment, under a private VIRT_PORTFWD_ROOT. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine.h"
#include "state.h"
#include "tap.h"

#define UUID "0f0e0d0c-0b0a-4908-8706-050403020100"

/* What the fake backend saw on its last call. */
static struct seen {
	unsigned calls;
	size_t n_rules;
	enum vp_rules_kind prev_kind;
	char prev_body[64];
	bool state_there;          /* our state file existed during apply */
	unsigned state_families;
	char rules_file[64];       /* the rules side file during apply */
	bool lock_held;            /* our lock could not be taken by someone else during apply */
	bool hold_fd_ok;           /* o->hold_fd is our locked lock */
	long long deadline, rollback_deadline;   /* the bounds apply was given */
	int fail;                  /* what apply returns */
	const char *body;          /* the record apply returns, NULL none */
} seen;

static int state_dir(void)
{
	return vp_state_open_dir();
}

static void read_side(int dirfd, const char *kind, char *out, size_t n)
{
	char *buf = NULL;
	size_t len;

	out[0] = '\0';
	if (vp_state_get(dirfd, UUID, kind, 4096, &buf, &len) == 0)
		snprintf(out, n, "%s", buf);
	free(buf);
}

/* Whether someone else could take our lock now (it must be held during apply). */
static bool lock_free(void)
{
	char path[4096];
	int fd, r;

	snprintf(path, sizeof(path), "%s" VP_STATE_DIR "/lock", getenv("VIRT_PORTFWD_ROOT"));
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return true;
	r = flock(fd, LOCK_EX | LOCK_NB);
	close(fd);
	return r == 0;
}

static void observe(const struct vp_ruleset *rs, const struct vp_fw_opts *o,
                    const struct vp_record *prev)
{
	struct vp_state st;
	int dirfd = state_dir();

	seen.calls++;
	seen.n_rules = rs->n;
	seen.prev_kind = prev->kind;
	snprintf(seen.prev_body, sizeof(seen.prev_body), "%s", prev->body ? prev->body : "");
	seen.state_there = vp_state_read(dirfd, UUID, &st) == 0;
	seen.state_families = seen.state_there ? st.families : 0;
	read_side(dirfd, "rules", seen.rules_file, sizeof(seen.rules_file));
	seen.lock_held = !lock_free();
	seen.hold_fd_ok = o->hold_fd > 0 && flock(o->hold_fd, LOCK_EX | LOCK_NB) == 0;
	seen.deadline = o->deadline;
	seen.rollback_deadline = o->rollback_deadline;
	close(dirfd);
}

static int fake_apply(const struct vp_ruleset *rs, const struct vp_fw_opts *o,
                      const struct vp_record *prev, struct vp_record *next)
{
	observe(rs, o, prev);
	if (seen.fail)
		return seen.fail;
	if (seen.body)
		*next = (struct vp_record){.kind = VP_RULES_KNOWN, .body = strdup(seen.body)};
	return 0;
}

static bool fake_probe(const struct vp_network *net, long long deadline, char *why, size_t whysz)
{
	(void)net;
	(void)deadline;
	snprintf(why, whysz, "fake");
	return true;
}

static void fake_render(const struct vp_ruleset *rs, int family, struct vp_buf *out)
{
	(void)rs;
	(void)family;
	(void)out;
}

static const struct vp_backend fake = {.name = "fake", .probe = fake_probe,
                                       .render = fake_render, .apply = fake_apply,
                                       .records = true};
static const struct vp_backend fake_norec = {.name = "fake-norec", .probe = fake_probe,
                                             .render = fake_render, .apply = fake_apply};

static void ruleset(struct vp_ruleset *rs, int family, size_t n)
{
	struct vp_rule r = {.family = family, .proto = IPPROTO_TCP, .hport = 2222,
	                    .hport_end = 2222, .gport = 22, .gport_end = 22};

	vp_ruleset_init(rs, UUID);
	for (size_t i = 0; i < n; i++)
		vp_ruleset_add(rs, &r);
}

/* false: the guest stopped meanwhile (the lease waiter's recheck). */
static bool recheck_answer = true;
/* The deadline commit() passes (0: none). */
static long long commit_deadline;

static bool said_stopped(const struct vp_domain *d)
{
	(void)d;
	return false;
}

static int commit(const struct vp_backend *b, int family, size_t n)
{
	struct vp_ctx c = {.recheck = recheck_answer ? NULL : said_stopped,
	                   .deadline = commit_deadline};
	struct vp_domain d = {0};
	struct vp_ruleset rs;
	int r;

	snprintf(d.uuid, sizeof(d.uuid), UUID);
	snprintf(d.name, sizeof(d.name), "web1");
	ruleset(&rs, family, n);
	r = vp_engine_commit(&c, b, &d, "default", &rs, NULL, 0);
	vp_ruleset_free(&rs);
	return r;
}

static void rules_file_is(const char *want, const char *what)
{
	char got[64];
	int dirfd = state_dir();

	read_side(dirfd, "rules", got, sizeof(got));
	close(dirfd);
	tap_streq(got, want, "%s", what);
}

static bool state_exists(unsigned *families)
{
	struct vp_state st;
	int dirfd = state_dir();
	bool there = vp_state_read(dirfd, UUID, &st) == 0;

	close(dirfd);
	if (there && families)
		*families = st.families;
	return there;
}

static void test_install(void)
{
	unsigned fam = 0;

	seen = (struct seen){.body = "r1 4\n"};
	tap_ok(commit(&fake, AF_INET, 3) == 0, "install: succeeds");
	tap_ok(seen.calls == 1 && seen.n_rules == 3, "install: apply called once with the rules");
	tap_ok(seen.prev_kind == VP_RULES_NONE, "install: a new guest's previous record is 'none'");
	tap_ok(seen.state_there && seen.state_families == VP_FAM_V4,
	       "install: the state names the family before apply runs");
	tap_streq(seen.rules_file, "unknown\n", "install: the record is 'unknown' while apply runs");
	tap_ok(seen.lock_held, "install: our lock is held during apply");
	tap_ok(seen.hold_fd_ok, "install: apply is handed our lock to pass on");
	rules_file_is("fake\nr1 4\n", "install: the record apply returned is kept");
	tap_ok(state_exists(&fam) && fam == VP_FAM_V4, "install: the state stays");
	tap_ok(lock_free(), "install: the lock is released afterwards");
}

static void test_again(void)
{
	unsigned fam = 0;

	seen = (struct seen){.body = "r2 6\n"};
	tap_ok(commit(&fake, AF_INET6, 1) == 0, "change: succeeds");
	tap_ok(seen.prev_kind == VP_RULES_KNOWN && !strcmp(seen.prev_body, "r1 4\n"),
	       "change: apply gets the record it returned last time");
	tap_ok(seen.state_families == (VP_FAM_V4 | VP_FAM_V6),
	       "change: during apply the state names old and new families");
	tap_ok(state_exists(&fam) && fam == VP_FAM_V6,
	       "change: afterwards only the family that holds rules");
	rules_file_is("fake\nr2 6\n", "change: the new record is kept");
}

static void test_failure(void)
{
	unsigned fam = 0;

	seen = (struct seen){.fail = -EIO, .body = "never\n"};
	tap_ok(commit(&fake, AF_INET, 2) == -EIO, "failure: apply's error is returned");
	tap_ok(state_exists(&fam) && fam == (VP_FAM_V4 | VP_FAM_V6),
	       "failure: the state still names every family that may hold rules");
	rules_file_is("unknown\n", "failure: the record says nothing is known");
	seen = (struct seen){.body = "r3 4\n"};
	tap_ok(commit(&fake, AF_INET, 2) == 0 && seen.prev_kind == VP_RULES_UNKNOWN,
	       "after a failure: the next change is given no record (it reads what is there)");
}

static void test_remove(void)
{
	int dirfd = state_dir();

	vp_state_put(dirfd, UUID, "doctor", "counters\n", 9);
	close(dirfd);
	seen = (struct seen){0};
	tap_ok(commit(&fake, AF_INET, 0) == 0, "removal: succeeds");
	tap_ok(seen.n_rules == 0 && seen.prev_kind == VP_RULES_KNOWN &&
	       !strcmp(seen.prev_body, "r3 4\n"), "removal: apply gets no rules and the record");
	tap_ok(!state_exists(NULL), "removal: the state is gone");
	rules_file_is("", "removal: the record is gone");
	dirfd = state_dir();
	char doc[64];
	read_side(dirfd, "doctor", doc, sizeof(doc));
	close(dirfd);
	tap_ok(!doc[0], "removal: the doctor's counters are gone");
	seen = (struct seen){0};
	tap_ok(commit(&fake, AF_INET, 0) == 0 && seen.calls == 1 && !state_exists(NULL),
	       "removal again: apply runs (idempotent), no state appears");
}

/* The lease waiter found its guest stopped under the lock: nothing applied, no state. */
static void test_recheck(void)
{
	recheck_answer = false;
	seen = (struct seen){.body = "x\n"};
	tap_ok(commit(&fake, AF_INET, 2) == 1 && seen.calls == 0,
	       "recheck says stopped: apply is not called, 1 (nothing done, no error)");
	tap_ok(!state_exists(NULL), "recheck says stopped: no state is written");
	recheck_answer = true;
}

/* The hook's deadline: an install ends a quarter of the time left before it, kept for the
 * rollback; a removal takes it all; past it, nothing is begun. */
static void test_deadline(void)
{
	unsigned fam = 0;
	long long t0 = vp_now_ms();

	seen = (struct seen){.body = "d1 4\n"};
	commit_deadline = t0 + 4000;
	tap_ok(commit(&fake, AF_INET, 1) == 0 && seen.rollback_deadline == commit_deadline &&
	       seen.deadline >= t0 + 2900 && seen.deadline <= t0 + 3000,
	       "deadline: an install gets 3/4 of the time left, its rollback all of it");
	seen = (struct seen){0};
	commit_deadline = t0 + 400000;
	tap_ok(commit(&fake, AF_INET, 1) == 0 && seen.deadline >= commit_deadline - 5000 &&
	       seen.deadline <= commit_deadline - 4900, "deadline: the rollback keeps 5 s at most");
	seen = (struct seen){.body = "d2 4\n"};
	commit_deadline = t0 - 1;
	tap_ok(commit(&fake, AF_INET, 2) == -ETIMEDOUT && seen.calls == 0,
	       "deadline passed: -ETIMEDOUT, apply is not called");
	tap_ok(state_exists(&fam) && fam == VP_FAM_V4, "deadline passed: the state is as it was");
	tap_ok(lock_free(), "deadline passed: the lock is released");
	commit_deadline = vp_now_ms() + 4000;
	seen = (struct seen){0};
	tap_ok(commit(&fake, AF_INET, 0) == 0 && seen.deadline == commit_deadline &&
	       !state_exists(NULL), "deadline: a removal has nothing to undo and gets all the time");
	commit_deadline = 0;
	seen = (struct seen){0};
	tap_ok(commit(&fake, AF_INET, 0) == 0 && seen.deadline == 0 &&
	       seen.rollback_deadline == 0, "no deadline: apply is given none");
}

static void test_norecord(void)
{
	seen = (struct seen){.body = "ignored\n"};
	tap_ok(commit(&fake_norec, AF_INET, 1) == 0, "no record: succeeds");
	tap_ok(seen.prev_kind == VP_RULES_UNKNOWN, "no record: apply is given none");
	rules_file_is("none\n", "no record: the file says only that the guest had none before");
	seen = (struct seen){0};
	tap_ok(commit(&fake_norec, AF_INET, 0) == 0 && !state_exists(NULL),
	       "no record: removal removes the state");
	rules_file_is("", "no record: and the file");
}

/* apply installs guest after guest with one context: a guest not in the table must not inherit
 * the count of forwards waiting for an address of the one before it (a lease waiter would be
 * started for it). */
static void test_pending_reset(void)
{
	struct vp_ctx c = {.table_ok = true, .pending = 3};
	struct vp_domain d = {0};

	vp_table_init(&c.table);
	snprintf(d.uuid, sizeof(d.uuid), "%s", "11111111-2222-4333-8444-555555555555");
	snprintf(d.name, sizeof(d.name), "not-in-table");
	tap_ok(vp_guest_install(&c, &d) == 0 && c.pending == 0,
	       "a guest not in the table: nothing to do, and nothing pending (was 3 before it)");
	vp_ctx_free(&c);
}

/* A FIFO planted as a state or side file: read as an error at once, never waited on. */
static void test_planted_fifo(void)
{
	const char *uuid = "22222222-3333-4444-8555-666666666666";
	char path[4096], *buf = NULL;
	struct vp_state st;
	size_t len;
	int dirfd = state_dir();

	snprintf(path, sizeof(path), "%s" VP_STATE_DIR "/%s", getenv("VIRT_PORTFWD_ROOT"), uuid);
	mkfifo(path, 0600);
	snprintf(path, sizeof(path), "%s" VP_STATE_DIR "/%s.rules", getenv("VIRT_PORTFWD_ROOT"),
	         uuid);
	mkfifo(path, 0600);
	alarm(10);   /* a blocking open would hang here: fail the test instead */
	tap_ok(vp_state_read(dirfd, uuid, &st) == -EINVAL, "a FIFO as a state: refused, not opened");
	tap_ok(vp_state_get(dirfd, uuid, "rules", 4096, &buf, &len) == -EINVAL,
	       "a FIFO as a side file: refused, not opened");
	alarm(0);
	vp_state_drop(dirfd, uuid, "rules");
	unlinkat(dirfd, uuid, 0);
	close(dirfd);
}

int main(void)
{
	char dir[] = "/tmp/vp-engine-XXXXXX";

	if (!mkdtemp(dir))
		return 1;
	setenv("VIRT_PORTFWD_ROOT", dir, 1);
	char run[4096];
	snprintf(run, sizeof(run), "%s/run", dir);
	mkdir(run, 0755);
	test_install();
	test_again();
	test_failure();
	test_remove();
	test_recheck();
	test_deadline();
	test_norecord();
	test_pending_reset();
	test_planted_fifo();
	tap_rmtree(dir);
	return tap_done();
}
