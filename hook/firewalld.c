/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "firewalld.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "detect.h"
#include "dl-sdbus.h"
#include "engine.h"
#include "log.h"
#include "lvrules.h"
#include "reconcile.h"
#include "util.h"
#include "waiter.h"

#define FWD_NAME "org.fedoraproject.FirewallD1"
#define FWD_RUNDIR "/run/firewalld"                /* made by firewalld when it starts */
#define WATCH_NAME "virt-portfwd/watch-firewalld"  /* abstract unix socket, see claim() */
#define LIBVIRT_WAIT_MS 30000   /* libvirt put its rules back in ~3 s on a loaded machine */
#define LIBVIRT_POLL_MS 20
#define TOOL_MS 5000            /* one listing of the rules */
#define REFRESH_USEC (60ULL * 1000 * 1000)

static const char match_reloaded[] =
	"type='signal',path='/org/fedoraproject/FirewallD1',interface='" FWD_NAME "',"
	"member='Reloaded'";
static const char match_owner[] =
	"type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',"
	"interface='org.freedesktop.DBus',member='NameOwnerChanged',arg0='" FWD_NAME "'";

struct watch {
	const char *why;                /* a reload or a start of firewalld to answer, or NULL */
	long long t_signal;             /* when it came */
	bool away;                      /* firewalld is off the bus (it may have flushed) */
	const struct vp_backend *b;     /* where libvirt's rules are */
	unsigned before;                /* how many of them, all being well */
};

static socklen_t watch_addr(struct sockaddr_un *a)
{
	*a = (struct sockaddr_un){.sun_family = AF_UNIX};
	memcpy(a->sun_path + 1, WATCH_NAME, sizeof(WATCH_NAME) - 1);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + sizeof(WATCH_NAME));
}

/* One watcher per network namespace, the firewall's scope: it holds the name of an abstract
 * unix socket, which the kernel gives up when it exits, however it exits; no file is left.
 * The listening socket, or -EADDRINUSE when a watcher holds it, -errno. */
static int claim(void)
{
	struct sockaddr_un a;
	socklen_t len = watch_addr(&a);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), r = 0;

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&a, len) < 0 || listen(fd, 1) < 0) {
		r = -errno;
		close(fd);
	}
	return r < 0 ? r : fd;
}

/* Anyone may bind an abstract name: whether the holder is root, as our watcher is (it never
 * accepts; the kernel answers SO_PEERCRED with who listens). Logs a holder that is not. */
static bool holder_is_root(void)
{
	struct sockaddr_un a;
	socklen_t len = watch_addr(&a), cl = sizeof(struct ucred);
	struct ucred cred = {.uid = 0};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	bool root = true;

	if (fd >= 0 && connect(fd, (struct sockaddr *)&a, len) == 0 &&
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) == 0 && cred.uid != 0) {
		vp_log(LOG_ERR, "the firewalld watcher's name (@" WATCH_NAME ") is held by pid %d, "
		       "uid %u, not by a watcher of ours: forwards will not come back by themselves "
		       "after a firewalld reload", (int)cred.pid, (unsigned)cred.uid);
		root = false;
	}
	if (fd >= 0)
		close(fd);
	return root;
}

/* Whether firewalld has run since boot: it makes its runtime directory when it starts (on the
 * tmpfs /run). One stat, cheap enough for the hook. */
static bool firewalld_ran(void)
{
	char path[4096];
	struct stat st;

	return vp_path(path, sizeof(path), "%s", FWD_RUNDIR) == 0 && stat(path, &st) == 0 &&
	       S_ISDIR(st.st_mode);
}

void vp_firewalld_watch_ensure(void)
{
	const char *argv[] = {"virt-portfwd", "watch-firewalld", NULL};
	pid_t pid;
	int r, fd;

	if (!firewalld_ran())
		return;
	fd = claim();
	if (fd < 0) {
		if (fd == -EADDRINUSE)
			holder_is_root();   /* a watcher runs, or a squatter: logged */
		return;
	}
	close(fd);
	r = vp_spawn_detached(argv, &pid);
	if (r < 0)
		vp_log(LOG_ERR, "cannot start the firewalld watcher: %s; forwards will not come back "
		       "by themselves after a firewalld reload", strerror(-r));
	else
		vp_log(LOG_INFO, "firewalld runs: started its watcher (pid %d)", (int)pid);
}

static void mark(struct watch *w, const char *why)
{
	w->why = why;
	w->t_signal = vp_now_ms();
}

static int on_reloaded(sd_bus_message *m, void *data, sd_bus_error *e)
{
	(void)m;
	(void)e;
	mark(data, "firewalld reloaded");
	return 0;
}

/* firewalld's name got a new owner: it (re)started, and flushed as on a reload. */
static int on_owner(sd_bus_message *m, void *data, sd_bus_error *e)
{
	const char *name, *old, *new;

	(void)e;
	if (sym_sd_bus_message_read(m, "sss", &name, &old, &new) < 0)
		return 0;
	((struct watch *)data)->away = !*new;
	if (*new)
		mark(data, "firewalld started");
	return 0;
}

/* Where libvirt's rules are and how many, all being well: what a reload is measured against. */
static void snapshot(struct watch *w)
{
	struct vp_ctx c = {0};
	char why[256];
	const struct vp_backend *b = NULL;

	vp_ctx_load(&c, NULL, false);
	if (vp_detect(NULL, c.table_ok ? c.table.set.backend : VP_BACKEND_AUTO,
	              vp_now_ms() + TOOL_MS, &b, why, sizeof(why)) == 0)
		w->b = b;
	vp_ctx_free(&c);
	if (w->b && vp_libvirt_rules(w->b, vp_now_ms() + TOOL_MS, &w->before) < 0)
		w->before = 0;
}

/* Until libvirt has put back as many rules as it had, and at least one when that is not known
 * (the watcher started while firewalld was off the bus, its rules flushed); a network that
 * stopped meanwhile makes that never: the wait is bounded. The time it took, ms. */
static long long libvirt_back(const struct watch *w)
{
	const struct timespec tick = {0, LIBVIRT_POLL_MS * 1000000L};
	long long end = w->t_signal + LIBVIRT_WAIT_MS;
	unsigned now = 0, want = w->before ? w->before : 1;

	while (w->b && vp_libvirt_rules(w->b, vp_now_ms() + TOOL_MS, &now) == 0 && now < want &&
	       !vp_deadline_passed(end))
		nanosleep(&tick, NULL);
	if (w->b && now < want)
		vp_log(LOG_WARNING, "%s: libvirt has put back %u of its %u rules in %d s: putting the "
		       "forwards back anyway", w->why, now, want, LIBVIRT_WAIT_MS / 1000);
	return vp_now_ms() - w->t_signal;
}

/* What `virt-portfwd apply` does. The number of failures. */
static int apply_all(void)
{
	struct vp_ctx c = {0};
	int failed = 1;

	if (vp_ctx_load(&c, NULL, false) == 0) {
		unsigned secs = c.table.set.hook_timeout;
		c.deadline = vp_now_ms() + 1000LL * (secs ? secs : VP_HOOK_TIMEOUT_DEFAULT);
		failed = vp_apply_all(&c, NULL);
	}
	vp_ctx_free(&c);
	return failed;
}

static void reapply(struct watch *w)
{
	long long lv = libvirt_back(w);
	int failed = apply_all();

	vp_log(failed ? LOG_ERR : LOG_INFO, "%s: forwards put back %lld ms after it (libvirt's "
	       "rules were back after %lld ms)%s", w->why, vp_now_ms() - w->t_signal, lv,
	       failed ? ", with failures: run 'virt-portfwd apply'" : "");
	w->why = NULL;
	snapshot(w);
}

static int watch(sd_bus *bus, struct watch *w)
{
	snapshot(w);
	if (w->away)
		w->before = 0;   /* firewalld may have flushed libvirt's rules: unknown */
	vp_log(LOG_INFO, "watching firewalld: forwards are put back after each of its reloads "
	       "(libvirt's %u rules, %s%s)", w->before, w->b ? w->b->name : "no backend",
	       w->away ? "; firewalld is off the bus now" : "");
	for (;;) {
		int r = sym_sd_bus_process(bus, NULL);
		if (r > 0)
			continue;
		if (r == 0 && w->why) {
			reapply(w);
			continue;
		}
		if (r == 0)
			r = sym_sd_bus_wait(bus, REFRESH_USEC);
		if (r == 0 && !w->away)
			snapshot(w);   /* quiet for a while: networks may have come or gone */
		if (r < 0 && r != -EINTR) {
			vp_log(LOG_ERR, "firewalld watcher: the system bus: %s; it stops", strerror(-r));
			return r;
		}
	}
}

/* 1 when firewalld's name has an owner, 0 not, -errno. */
static int firewalld_running(sd_bus *bus)
{
	sd_bus_message *reply = NULL;
	int has = 0, r = sym_sd_bus_call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
	                                        "org.freedesktop.DBus", "NameHasOwner", NULL,
	                                        &reply, "s", FWD_NAME);

	if (r >= 0)
		r = sym_sd_bus_message_read(reply, "b", &has);
	sym_sd_bus_message_unref(reply);
	return r < 0 ? r : has != 0;
}

static int bus_open(sd_bus **bus, struct watch *w)
{
	int r = sym_sd_bus_open_system(bus);

	if (r >= 0)
		r = sym_sd_bus_add_match(*bus, NULL, match_reloaded, on_reloaded, w);
	if (r >= 0)
		r = sym_sd_bus_add_match(*bus, NULL, match_owner, on_owner, w);
	if (r >= 0)
		r = firewalld_running(*bus);
	w->away = r == 0;
	if (r < 0)
		vp_log(LOG_ERR, "firewalld watcher: the system bus: %s", strerror(-r));
	return r;
}

int vp_firewalld_watch(void)
{
	struct watch w = {0};
	sd_bus *bus = NULL;
	int fd, r;

	vp_log_open(true, true, getenv("VIRT_PORTFWD_DEBUG") != NULL);
	fd = claim();
	if (fd == -EADDRINUSE) {
		if (holder_is_root())
			vp_log(LOG_DEBUG, "a firewalld watcher runs already");
		return 0;
	}
	if (fd < 0) {
		vp_log(LOG_ERR, "firewalld watcher: %s", strerror(-fd));
		return 1;
	}
	r = vp_dl_sdbus();
	if (r == 0)
		r = bus_open(&bus, &w);
	/* Not running now, but it ran since boot: it is restarting, its start is to be answered. */
	if (r == 0 && firewalld_ran())
		r = 1;
	if (r == 0)
		vp_log(LOG_INFO, "firewalld is not running: nothing to watch");
	if (r > 0)
		r = watch(bus, &w);
	if (bus)
		sym_sd_bus_flush_close_unref(bus);
	close(fd);
	return r < 0;
}
