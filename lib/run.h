/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Run a program with a fixed argv: posix_spawnp, never a shell. */
#pragma once

#include <stddef.h>

#include "util.h"

#define VP_SPAWN_ERR_MAX (64u << 10)
/* The most of a program's output we take: an iptables-save of a host with a very large ruleset. */
#define VP_SPAWN_OUT_MAX (256u << 20)

/* Run argv (argv[0] looked up in PATH, or /usr/sbin:/usr/bin:/sbin:/bin if PATH is unset) with
 * in[0..in_len) on its stdin (NULL: /dev/null), its stdout appended to out (NULL: discarded) up
 * to out_max bytes (-EFBIG beyond), its stderr appended to err (NULL: discarded) up to
 * VP_SPAWN_ERR_MAX. A program still running after 30 s, or at deadline (vp_now_ms; 0: none) if
 * that comes first, is killed and -ETIMEDOUT returned: nothing we run may hold the hook, and
 * libvirt with it, forever; past the deadline, nothing is run (-ETIMEDOUT). Returns the exit
 * status (0..255), 128+signal, or -errno when it could not run. */
/* hold_fd (our lock, or -1) is handed down to the program: a program outlives a hook that is
 * killed while it runs, and must keep the lock until it is done, so that the next hook cannot
 * change the same rules under it. */
int vp_spawn(const char *const argv[], const char *in, size_t in_len, struct vp_buf *out,
             size_t out_max, struct vp_buf *err, int hold_fd, long long deadline);
