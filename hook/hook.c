/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The hook roles. libvirt runs us synchronously in its worker: we never call back into libvirt
 * (deadlock), never print on stdout (migrate/restore read it as domain XML), and a non-zero exit
 * from prepare/start/started aborts the guest start and from reconnect kills the guest, so we
 * exit 0 on failure unless the administrator asked otherwise. Each call is back within `set
 * hook-timeout`: one deadline, carried through the engine to every wait (engine.h). */
#include "hook.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "domain.h"
#include "engine.h"
#include "firewalld.h"
#include "log.h"
#include "reconcile.h"
#include "state.h"
#include "util.h"
#include "waiter.h"

enum hook_action { ACT_NONE, ACT_INSTALL, ACT_REMOVE };

/* A contained child still running this long after the deadline is killed (it should never be:
 * each of its waits ends by the deadline). */
#define CONTAIN_GRACE_MS 2000

static enum hook_action qemu_action(const char *op)
{
	static const char *const install[] = {"started", "reconnect", "attach"};
	static const char *const remove[] = {"stopped", "release"};

	for (size_t i = 0; i < VP_ARRAY_SIZE(install); i++)
		if (!strcmp(op, install[i]))
			return ACT_INSTALL;
	for (size_t i = 0; i < VP_ARRAY_SIZE(remove); i++)
		if (!strcmp(op, remove[i]))
			return ACT_REMOVE;
	return ACT_NONE;   /* prepare, start, migrate, restore, ...: nothing to do */
}

/* Whatever happens below, nothing reaches libvirt through our stdout. */
static void silence_stdout(void)
{
	int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		dup2(fd, STDOUT_FILENO);
		close(fd);
	}
}

static int read_domain(const char *xml, size_t len, struct vp_domain *d)
{
	int r = vp_domain_parse(xml, len, d);

	if (r < 0)
		vp_log(LOG_ERR, "cannot read the domain XML on stdin: %s", strerror(-r));
	return r;
}

/* Whether the table may name the guest: by its name, or any forward names a guest by uuid. */
static bool maybe_in_table(const struct vp_ctx *c, const char *name)
{
	if (!c->table_ok || vp_table_has_domain(&c->table, name, NULL))
		return true;
	for (size_t i = 0; i < c->table.n; i++)
		if (c->table.fwd[i].domain_is_uuid)
			return true;
	return false;
}

/* Whether the XML may carry forwards in its <metadata>: libvirt writes our namespace out as
 * it is, so a document without it has none, and libxml2 need not read it. */
static bool maybe_in_metadata(const char *xml, size_t len)
{
	return memmem(xml, len, VP_META_NS, sizeof(VP_META_NS) - 1) != NULL;
}

/* What the event concerns, told without the domain XML when possible (libxml2 is most of a
 * run's cost; most guests of a host have no forwards): 0 nothing of ours, 1 the rules of the
 * stopping guest whose uuid is now in uuid, -EAGAIN when the XML is needed. Nothing is ours
 * when the table is sound and names neither this guest nor any guest by uuid, and nothing is
 * stored for a guest of this name; a removal needs only what is stored, or, for a guest of the
 * table with nothing stored, its uuid (rules a restored ruleset left: engine.h). */
static int without_xml(const struct vp_ctx *c, enum hook_action act, const char *name,
                       char *uuid, size_t n)
{
	int dirfd = vp_state_open_dir(), r;

	if (dirfd < 0)
		return -EAGAIN;
	r = vp_state_lookup_name(dirfd, name, uuid, n);
	close(dirfd);
	if (r < 0 || (act == ACT_REMOVE && r == 1))
		return r;
	if (act == ACT_REMOVE)   /* nothing stored: a table we cannot read tells nothing */
		return c->table_ok && maybe_in_table(c, name) ? -EAGAIN : 0;
	return r == 1 || maybe_in_table(c, name) ? -EAGAIN : 0;
}

/* The deadline of a call that began at t0: `set hook-timeout` after it (the default when the
 * table has no such line, even a table that does not parse). */
static void set_deadline(struct vp_ctx *c, long long t0)
{
	unsigned secs = c->table.set.hook_timeout;

	c->deadline = t0 + 1000LL * (secs ? secs : VP_HOOK_TIMEOUT_DEFAULT);
}

/* How the contained child ended, logged. */
static void contain_said(const char *what, int status)
{
	if (WIFSIGNALED(status))
		vp_log(LOG_ERR, "%s: its work died of signal %d; the guest keeps running, its forwards "
		       "are put right by the next event or 'virt-portfwd apply'", what, WTERMSIG(status));
	else if (WEXITSTATUS(status))   /* never on its own: a sanitizer that caught a crash */
		vp_log(LOG_ERR, "%s: its work failed (exit status %d); the guest keeps running",
		       what, WEXITSTATUS(status));
}

/* No pidfd (a kernel before 5.3; valgrind 3.19 does not know the call): the child is polled
 * every 5 ms until the deadline and its grace, then killed. true when it was reaped here (its
 * fate logged) or cannot be waited for; false: killed, to be reaped by the caller. */
static bool poll_child(pid_t pid, const char *what, long long deadline, int *status)
{
	const struct timespec tick = {0, 5000000};

	for (;;) {
		pid_t w = waitpid(pid, status, WNOHANG);
		if (w == pid) {
			contain_said(what, *status);
			return true;
		}
		if (w < 0 && errno != EINTR)
			return true;
		if (vp_now_ms() >= deadline + CONTAIN_GRACE_MS) {
			vp_log(LOG_ERR, "%s: still running past set hook-timeout: killed", what);
			kill(pid, SIGKILL);
			return false;
		}
		nanosleep(&tick, NULL);
	}
}

/* Wait for the contained child until the deadline and its grace; then it is killed. Its fate
 * is logged, never returned: it cannot reach libvirt. */
static void contain_wait(pid_t pid, const char *what, long long deadline)
{
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0), status;
	struct pollfd p = {.fd = pidfd, .events = POLLIN};

	while (pidfd >= 0) {
		long long left = deadline + CONTAIN_GRACE_MS - vp_now_ms();
		int n = left <= 0 ? 0 : poll(&p, 1, (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0) {
			vp_log(LOG_ERR, "%s: still running past set hook-timeout: killed", what);
			kill(pid, SIGKILL);
		}
		break;
	}
	if (pidfd >= 0)
		close(pidfd);
	else if (poll_child(pid, what, deadline, &status))
		return;   /* reaped there, or lost */
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return;
	contain_said(what, status);
}

/* reconnect (libvirtd restarting) and attach: libvirt kills a running guest whose hook fails,
 * and a crash is a failure (a library's abort, a fault in a parser). Their work runs in a
 * child: true in the parent, once the child is done (the call then exits 0, whatever became of
 * it); false in the child, or when there is none (fork failed: the work runs here). A fork
 * costs well under a millisecond, and only these two events, only for a guest that needs work,
 * pay it. */
static bool contained(const char *name, const char *op, long long deadline)
{
	char what[320];
	pid_t pid;

	if (strcmp(op, "reconnect") && strcmp(op, "attach"))
		return false;
	pid = fork();
	if (pid < 0)
		vp_log(LOG_WARNING, "%s %s: cannot fork (%s), working in process", op, name,
		       strerror(errno));
	if (pid <= 0)
		return false;
	snprintf(what, sizeof(what), "%s %s", op, name);
	contain_wait(pid, what, deadline);
	return true;
}

int vp_hook_qemu(int argc, char **argv)
{
	struct vp_ctx c = {0};
	struct vp_domain d = {0};
	enum hook_action act;
	char *xml = NULL, uuid[64];
	size_t len = 0;
	long long t0 = vp_now_ms();
	int r;
	bool abort_start = false;

	vp_close_fds(-1);   /* libvirt hands a hook stdio only: the rest must reach no tool we run */
	silence_stdout();
	vp_log_open(true, true, getenv("VIRT_PORTFWD_DEBUG") != NULL);
	if (argc < 3)
		return 0;
	act = qemu_action(argv[2]);
	if (act == ACT_NONE)
		return 0;
	/* All of stdin is read, whatever follows: libvirt writes it. */
	r = vp_read_fd(STDIN_FILENO, VP_DOMAIN_XML_MAX, &xml, &len);
	if (r < 0) {
		vp_log(LOG_ERR, "cannot read the domain XML on stdin: %s", strerror(-r));
		return 0;
	}
	vp_ctx_load(&c, NULL, false);
	set_deadline(&c, t0);
	c.defer_flows = true;   /* libvirt waits for us, not for the end of removed flows */
	switch (maybe_in_metadata(xml, len) ? -EAGAIN
	                                    : without_xml(&c, act, argv[1], uuid, sizeof(uuid))) {
	case 0:
		goto out;
	case 1:
		r = vp_guest_remove(&c, uuid);
		goto out;
	}
	if (act == ACT_INSTALL && contained(argv[1], argv[2], c.deadline))
		goto out;
	if (read_domain(xml, len, &d) < 0)
		goto out;
	if (act == ACT_INSTALL) {
		r = vp_guest_install(&c, &d);
		vp_firewalld_watch_ensure();   /* a guest with forwards: they must outlive a reload */
		if (c.pending)   /* no lease yet: finish in the background, never block libvirt */
			vp_waiter_start(&d, xml, len, c.table.set.lease_wait);
	} else {
		vp_waiter_stop(d.uuid);
		r = vp_guest_remove_domain(&c, &d);
	}
	/* `set on-error abort` may stop a guest from starting, never kill a running one: a
	 * non-zero exit from reconnect (libvirtd restarting) or attach makes libvirt kill QEMU. */
	abort_start = r < 0 && !strcmp(argv[2], "started") && c.table_ok &&
	              c.table.set.on_error_abort;
out:
	vp_ctx_free(&c);
	vp_domain_free(&d);
	free(xml);
	return abort_start ? 1 : 0;
}

/* A network (re)started or updated: libvirt has just (re)made its rules, possibly above ours or
 * after a flush that took ours away. Put every running guest on it back in line. */
int vp_hook_network(int argc, char **argv)
{
	struct vp_ctx c = {0};
	long long t0 = vp_now_ms();

	vp_close_fds(-1);
	silence_stdout();
	vp_log_open(true, true, getenv("VIRT_PORTFWD_DEBUG") != NULL);
	if (argc < 3 || (strcmp(argv[2], "started") && strcmp(argv[2], "updated")))
		return 0;
	/* One deadline for every guest of the network: the call, not each guest, is bounded. */
	if (vp_ctx_load(&c, NULL, false) == 0) {
		set_deadline(&c, t0);
		vp_apply_all(&c, argv[1]);
		vp_firewalld_watch_ensure();
	}
	vp_ctx_free(&c);
	return 0;
}
