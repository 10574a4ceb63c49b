/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "waiter.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "log.h"
#include "neigh.h"
#include "state.h"
#include "util.h"

#define PID_MAX_LEN 32

static pid_t read_pid(int dirfd, const char *uuid)
{
	char *buf = NULL;
	size_t len;
	unsigned long pid = 0;

	if (vp_state_get(dirfd, uuid, "waiter", PID_MAX_LEN, &buf, &len) == 0)
		if (vp_parse_uint(buf, strcspn(buf, "\n"), 2, 4194304, &pid) < 0)
			pid = 0;
	free(buf);
	return (pid_t)pid;
}

/* A pid is our waiter for this guest only if its command line says so: pids get reused. */
static bool is_waiter(pid_t pid, const char *uuid)
{
	char path[64], *buf = NULL;
	size_t len;
	bool yes = false;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	if (vp_read_file(path, 4096, false, &buf, &len) == 0) {
		/* argv is NUL separated: look for "__wait-lease\0<uuid>". */
		for (size_t i = 0; i + 13 < len && !yes; i++)
			yes = !memcmp(buf + i, "__wait-lease", 13) && !strcmp(buf + i + 13, uuid);
	}
	free(buf);
	return yes;
}

void vp_waiter_stop(const char *uuid)
{
	int dirfd = vp_state_open_dir();
	pid_t pid;

	if (dirfd < 0)
		return;
	pid = read_pid(dirfd, uuid);
	if (pid > 0 && is_waiter(pid, uuid)) {
		kill(pid, SIGTERM);
		for (int i = 0; i < 100 && is_waiter(pid, uuid); i++)
			usleep(10000);   /* up to 1 s for it to go, so it cannot install after us */
	}
	vp_state_drop(dirfd, uuid, "waiter");
	vp_state_drop(dirfd, uuid, "xml");
	close(dirfd);
}

int vp_spawn_detached(const char *const argv[], pid_t *ret_pid)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, deflt;
	int r;

	sigemptyset(&none);
	sigfillset(&deflt);
	if ((r = posix_spawn_file_actions_init(&fa)))
		return -r;
	if ((r = posix_spawnattr_init(&at))) {
		posix_spawn_file_actions_destroy(&fa);
		return -r;
	}
	/* New session, default signals, stdio on /dev/null: nothing ties it to libvirt's pipes. */
	for (int fd = 0; fd < 3 && !r; fd++)
		r = posix_spawn_file_actions_addopen(&fa, fd, "/dev/null", fd ? O_WRONLY : O_RDONLY, 0);
	if (!r)
		r = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK |
		                                  POSIX_SPAWN_SETSIGDEF);
	if (!r)
		r = posix_spawnattr_setsigmask(&at, &none);
	if (!r)
		r = posix_spawnattr_setsigdefault(&at, &deflt);
	if (!r)
		r = posix_spawn(ret_pid, "/proc/self/exe", &fa, &at, (char *const *)argv, environ);
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
	return -r;
}

int vp_waiter_start(const struct vp_domain *d, const char *xml, size_t len, unsigned seconds)
{
	char pidbuf[PID_MAX_LEN];
	pid_t pid;
	int dirfd, r;

	vp_waiter_stop(d->uuid);
	if (seconds == 0)
		return 0;
	dirfd = vp_state_open_dir();
	if (dirfd < 0)
		return dirfd;
	r = vp_state_put(dirfd, d->uuid, "xml", xml, len);
	if (r == 0) {
		char secs[16];
		const char *argv[] = {"virt-portfwd", "__wait-lease", d->uuid, secs, NULL};

		snprintf(secs, sizeof(secs), "%u", seconds);
		r = vp_spawn_detached(argv, &pid);
	}
	if (r == 0) {
		/* Written by us, not the child, so a 'stopped' right after us finds it. */
		int n = snprintf(pidbuf, sizeof(pidbuf), "%d\n", (int)pid);
		r = vp_state_put(dirfd, d->uuid, "waiter", pidbuf, (size_t)n);
	}
	if (r < 0)
		vp_log(LOG_ERR, "%s: cannot start the lease waiter: %s", d->name, strerror(-r));
	else
		vp_log(LOG_INFO, "%s: waiting up to %u s for the guest's address", d->name, seconds);
	close(dirfd);
	return r;
}

/* Asked under our lock before installing: whether this waiter is still the guest's. The guest's
 * stopped (and a newer waiter's start) takes the registration away, after its SIGTERM: a waiter
 * that outlived that must not install after the removal. */
static bool registered(const char *uuid)
{
	int dirfd = vp_state_open_dir();
	bool mine = dirfd >= 0 && read_pid(dirfd, uuid) == getpid();

	if (dirfd >= 0)
		close(dirfd);
	return mine;
}

static bool still_mine(const struct vp_domain *d)
{
	return registered(d->uuid);
}

/* The hook writes our pid once we run: up to 2 s for it (a hook that could not write it said
 * so, and then we are nobody's). */
static bool wait_registered(const char *uuid)
{
	for (int i = 0; i < 200; i++) {
		if (registered(uuid))
			return true;
		poll(NULL, 0, 10);
	}
	return false;
}

/* One attempt: install what can be resolved now. Returns forwards still pending, or -errno. */
static int attempt(const char *uuid)
{
	struct vp_ctx c = {.recheck = still_mine};
	struct vp_domain d = {0};
	char *xml = NULL;
	size_t len;
	int dirfd = vp_state_open_dir(), r;

	if (dirfd < 0)
		return dirfd;
	r = vp_state_get(dirfd, uuid, "xml", VP_DOMAIN_XML_MAX, &xml, &len);
	close(dirfd);
	if (r == 0)
		r = vp_domain_parse(xml, len, &d);
	free(xml);
	if (r < 0)
		return r;
	r = vp_ctx_load(&c, NULL, false);
	if (r == 0)
		r = vp_guest_install(&c, &d);
	if (r == 0)
		r = (int)c.pending;
	vp_ctx_free(&c);
	vp_domain_free(&d);
	return r;
}

static int watch_leases(void)
{
	char dir[4096];
	int fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);

	if (fd < 0 || vp_path(dir, sizeof(dir), "/var/lib/libvirt/dnsmasq") < 0 ||
	    inotify_add_watch(fd, dir, IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;   /* no directory yet: fall back to polling */
	}
	return fd;
}

/* The lease files this guest's address can come from, "<bridge>.status" of each of its NICs on
 * a libvirt network (from the domain XML the hook left); none known: every file counts. And
 * those NICs' MACs, whose neighbour entries can give it too. */
struct lease_files {
	char name[8][VP_NAME_MAX + 8];
	size_t n;
	char mac[8][VP_MAC_STRLEN];
	size_t n_mac;
};

static void lease_files_of(const char *uuid, struct lease_files *lf)
{
	struct vp_domain d = {0};
	char *xml = NULL;
	size_t len;
	int dirfd = vp_state_open_dir(), r = dirfd;

	lf->n = lf->n_mac = 0;
	if (dirfd >= 0) {
		r = vp_state_get(dirfd, uuid, "xml", VP_DOMAIN_XML_MAX, &xml, &len);
		close(dirfd);
	}
	if (r == 0 && vp_domain_parse(xml, len, &d) == 0) {
		for (size_t i = 0; i < d.n_nics; i++) {
			if (d.nics[i].type != VP_NIC_NETWORK)
				continue;
			if (d.nics[i].bridge[0] && lf->n < 8)
				snprintf(lf->name[lf->n++], sizeof(lf->name[0]), "%s.status",
				         d.nics[i].bridge);
			if (d.nics[i].mac[0] && lf->n_mac < 8)
				memcpy(lf->mac[lf->n_mac++], d.nics[i].mac, VP_MAC_STRLEN);
		}
		vp_domain_free(&d);
	}
	free(xml);
}

static bool concerns(const struct lease_files *lf, const char *name)
{
	for (size_t i = 0; i < lf->n; i++)
		if (!strcmp(lf->name[i], name))
			return true;
	return lf->n == 0;
}

/* Whether the inotify events waiting on ifd name one of this guest's lease files. */
static bool lease_event(int ifd, const struct lease_files *lf)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool mine = false;
	ssize_t n;

	while ((n = read(ifd, buf, sizeof(buf))) > 0)
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *e = (const struct inotify_event *)p;
			mine |= e->len && concerns(lf, e->name);
			p += sizeof(*e) + e->len;
		}
	return mine;
}

/* Whether the neighbour events waiting on nfd show one of this guest's MACs with an entry to
 * believe: the guest talked, and its address may be known now. Events lost to a full socket
 * buffer (ENOBUFS) may have held ours: then yes. */
static bool neigh_event(int nfd, const struct lease_files *lf)
{
	char buf[8192] __attribute__((aligned(8)));
	struct vp_neighs t = {0};
	bool mine = false;
	ssize_t n;

	while (!mine && ((n = recv(nfd, buf, sizeof(buf), 0)) > 0 || (n < 0 && errno == ENOBUFS))) {
		mine = n < 0;
		if (n > 0 && vp_neigh_parse(buf, (size_t)n, 0, AF_UNSPEC, &t) < 0)
			mine = false;   /* not ours to judge: the next retry comes anyway */
		for (size_t i = 0; i < t.n && !mine; i++)
			for (size_t j = 0; j < lf->n_mac && !mine; j++)
				mine = vp_neigh_state_usable(t.e[i].state) && !strcmp(t.e[i].mac, lf->mac[j]);
		vp_neighs_free(&t);
	}
	return mine;
}

/* Up to ms for a change of one of this guest's lease files (ifd) or neighbour entries (nfd);
 * either may be -1. */
static void wait_event(int ifd, int nfd, const struct lease_files *lf, long long ms)
{
	struct pollfd pf[2] = {{.fd = ifd, .events = POLLIN}, {.fd = nfd, .events = POLLIN}};
	long long until = vp_now_ms() + ms;
	bool mine = false;

	for (long long left = ms; !mine && left > 0; left = until - vp_now_ms()) {
		if (ifd < 0 && nfd < 0) {
			poll(NULL, 0, (int)(left < 1000 ? left : 1000));
			return;
		}
		if (poll(pf, 2, (int)left) <= 0)   /* a negative fd is passed over */
			return;
		if (pf[0].revents)
			mine |= lease_event(ifd, lf);
		if (pf[1].revents)
			mine |= neigh_event(nfd, lf);
	}
}

int vp_waiter_main(const char *uuid, const char *seconds)
{
	unsigned long secs;
	long long deadline, left;
	struct lease_files lf;
	int ifd, nfd, r;

	syscall(SYS_close_range, 3U, ~0U, 0U);   /* nothing inherited survives */
	vp_log_open(true, false, getenv("VIRT_PORTFWD_DEBUG") != NULL);
	if (vp_parse_uint(seconds, strlen(seconds), 1, VP_LEASE_WAIT_MAX, &secs) < 0)
		return 2;
	/* The monotonic clock: a wall clock set back must not keep a waiter alive, nor one set
	 * forward end it early. */
	deadline = vp_now_ms() + (long long)secs * 1000;
	if (!wait_registered(uuid))
		return 0;
	ifd = watch_leases();
	nfd = vp_neigh_events_open();   /* none: the 5 s retries still see the table */
	lease_files_of(uuid, &lf);
	/* Retry on every change of this guest's lease files, on every neighbour entry of its MACs
	 * (a guest with its own static address or SLAAC is found the moment it talks), and every
	 * 5 s anyway (a lease can also come from a static host added to the network meanwhile). */
	while ((r = attempt(uuid)) > 0 && (left = deadline - vp_now_ms()) > 0)
		wait_event(ifd, nfd, &lf, left < 5000 ? left : 5000);
	if (r > 0)
		vp_log(LOG_WARNING, "gave up waiting %lu s for the address of guest %s: "
		       "%d forwards not installed (set lease-wait, or ip= in the table)", secs, uuid, r);
	if (ifd >= 0)
		close(ifd);
	if (nfd >= 0)
		close(nfd);
	int dirfd = vp_state_open_dir();
	if (dirfd >= 0) {
		if (read_pid(dirfd, uuid) == getpid()) {
			vp_state_drop(dirfd, uuid, "waiter");
			vp_state_drop(dirfd, uuid, "xml");
		}
		close(dirfd);
	}
	return r < 0 ? 1 : 0;
}
