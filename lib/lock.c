/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Serialise our read-modify-write across concurrent hook invocations (different guests start
 * at the same time), with a bounded wait so a stuck holder never hangs a guest start forever. */
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "lock.h"
#include "util.h"

int vp_flock_wait(int fd, unsigned wait_ms)
{
	struct timespec step = {.tv_sec = 0, .tv_nsec = 2 * 1000 * 1000};
	/* The clock, not a count of sleeps: each sleep overshoots, more so on a loaded host. */
	long long deadline = vp_now_ms() + wait_ms;

	for (;;) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return 0;
		if (errno != EWOULDBLOCK && errno != EINTR)
			return -errno;
		if (vp_now_ms() >= deadline)
			return -ETIMEDOUT;
		nanosleep(&step, NULL);
	}
}

int vp_lock(int dirfd, unsigned wait_ms)
{
	int fd = openat(dirfd, "lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	int r;

	if (fd < 0)
		return -errno;
	r = vp_flock_wait(fd, wait_ms);
	if (r < 0) {
		close(fd);
		return r;
	}
	return fd;
}
