/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "run.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* No program we run may hold the hook (and so libvirt) forever: a firewall tool stuck on a lock
 * or a kernel that does not answer is killed after this long, and the call fails. Generous: an
 * iptables-save of a 200 000-rule table takes seconds. */
#define SPAWN_TIMEOUT_MS 30000

int vp_tool_path(const char *name, char *out, size_t outsz)
{
	const char *dirs = getenv("VIRT_PORTFWD_TOOL_DIRS");

	if (strchr(name, '/')) {
		int w = snprintf(out, outsz, "%s", name);
		return w >= 0 && (size_t)w < outsz ? 0 : -ENAMETOOLONG;
	}
	for (const char *d = dirs ? dirs : VP_TOOL_DIRS; *d;) {
		size_t n = strcspn(d, ":");
		int w = snprintf(out, outsz, "%.*s/%s", (int)n, d, name);
		if (n > 0 && w > 0 && (size_t)w < outsz && access(out, X_OK) == 0)
			return 0;
		d += n + (d[n] == ':');
	}
	return -ENOENT;
}

struct pipes {
	int in[2], out[2], err[2];
};

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void pipes_close(struct pipes *p)
{
	for (int i = 0; i < 2; i++) {
		close_fd(&p->in[i]);
		close_fd(&p->out[i]);
		close_fd(&p->err[i]);
	}
}

static int child_actions(posix_spawn_file_actions_t *fa, struct pipes *p, int held_fd)
{
	int r = posix_spawn_file_actions_init(fa);
	if (r)
		return -r;
	/* dup2 onto itself clears FD_CLOEXEC in the child only (POSIX 2024, glibc >= 2.29). */
	if (held_fd >= 0)
		r = posix_spawn_file_actions_adddup2(fa, held_fd, held_fd);
	if (!r)
		r = posix_spawn_file_actions_adddup2(fa, p->in[0], 0);
	if (!r)
		r = posix_spawn_file_actions_adddup2(fa, p->out[1], 1);
	if (!r)
		r = posix_spawn_file_actions_adddup2(fa, p->err[1], 2);
	if (r) {
		posix_spawn_file_actions_destroy(fa);
		return -r;
	}
	return 0;
}

/* Append what is readable on fd to b, bounded; a full buffer keeps draining into the void so the
 * child never blocks on a full pipe. */
static int drain(int *fd, struct vp_buf *b, size_t max, int *overflow)
{
	char chunk[16384];
	ssize_t n = read(*fd, chunk, sizeof(chunk));

	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : -errno;
	if (n == 0) {
		close_fd(fd);
		return 0;
	}
	if (!b)
		return 0;
	if (b->len + (size_t)n > max) {
		*overflow = 1;
		return 0;
	}
	vp_buf_append(b, chunk, (size_t)n);
	return b->err;
}

static int pump(struct pipes *p, const char *in, size_t in_len, struct vp_buf *out,
                size_t out_max, struct vp_buf *err, int *overflow, long long deadline)
{
	size_t off = 0;
	int dummy = 0, r = 0;

	if (in_len == 0)
		close_fd(&p->in[1]);
	while (p->in[1] >= 0 || p->out[0] >= 0 || p->err[0] >= 0) {
		struct pollfd pf[3] = {
			{.fd = p->in[1], .events = POLLOUT},
			{.fd = p->out[0], .events = POLLIN},
			{.fd = p->err[0], .events = POLLIN},
		};
		long long left = deadline - vp_now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		if (poll(pf, 3, (int)left) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (pf[0].revents) {
			ssize_t n = write(p->in[1], in + off, in_len - off);
			if (n < 0 && errno != EINTR && errno != EAGAIN)
				close_fd(&p->in[1]);   /* EPIPE: the child stopped reading */
			else if (n > 0 && (off += (size_t)n) == in_len)
				close_fd(&p->in[1]);
		}
		if (pf[1].revents && (r = drain(&p->out[0], out, out_max, overflow)) < 0)
			return r;
		if (pf[2].revents && (r = drain(&p->err[0], err, VP_SPAWN_ERR_MAX, &dummy)) < 0)
			return r;
	}
	return 0;
}

int vp_spawn(const char *const argv[], const char *in, size_t in_len, struct vp_buf *out,
             size_t out_max, struct vp_buf *err, int hold_fd, long long deadline)
{
	struct pipes p = {{-1, -1}, {-1, -1}, {-1, -1}};
	posix_spawn_file_actions_t fa;
	pid_t pid = -1;
	char path[PATH_MAX];
	int r, status, overflow = 0;
	void (*old_pipe)(int) = signal(SIGPIPE, SIG_IGN);

	if (!in)
		in_len = 0;
	/* Its own bound, or the caller's deadline if that comes first; past it, nothing is run. */
	deadline = vp_now_ms() + vp_wait_ms(deadline, SPAWN_TIMEOUT_MS);
	if (vp_now_ms() >= deadline) {
		r = -ETIMEDOUT;
		goto out;
	}
	if (pipe2(p.in, O_CLOEXEC) < 0 || pipe2(p.out, O_CLOEXEC) < 0 || pipe2(p.err, O_CLOEXEC) < 0) {
		r = -errno;
		goto out;
	}
	r = vp_tool_path(argv[0], path, sizeof(path));
	if (r < 0)
		goto out;
	r = child_actions(&fa, &p, hold_fd);
	if (r < 0)
		goto out;
	r = -posix_spawn(&pid, path, &fa, NULL, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r < 0)
		goto out;
	close_fd(&p.in[0]);
	close_fd(&p.out[1]);
	close_fd(&p.err[1]);
	fcntl(p.in[1], F_SETFL, O_NONBLOCK);
	r = pump(&p, in, in_len, out, out_max, err, &overflow, deadline);
	pipes_close(&p);
	if (r < 0)
		kill(pid, SIGKILL);   /* stuck, or we cannot follow it: it must not outlive the call */
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			r = -errno;
			goto out;
		}
	if (r == 0)
		r = overflow ? -EFBIG
		    : WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
out:
	pipes_close(&p);
	signal(SIGPIPE, old_pipe);
	return r;
}
