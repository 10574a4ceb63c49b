/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Serialising our changes (lock.c): one hook at a time changes rules and state, with a bounded
 * wait so that a stuck holder never hangs a guest start forever. */
#pragma once

/* How long a change waits for our lock: generous, a network hook may go through many guests. */
#define VP_LOCK_WAIT_MS 30000

/* Our own lock (the file "lock" in the state directory dirfd), exclusive, with a bounded wait.
 * Returns the locked fd (close it to release) or -ETIMEDOUT / -errno. */
int vp_lock(int dirfd, unsigned wait_ms);
/* flock(LOCK_EX) on fd, polling up to wait_ms. 0 or -ETIMEDOUT / -errno. */
int vp_flock_wait(int fd, unsigned wait_ms);
