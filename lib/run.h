/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Run a program with a fixed argv: posix_spawnp, never a shell. */
#pragma once

#include <stddef.h>

#include "util.h"

#define VP_SPAWN_ERR_MAX (64u << 10)
/* The most of a program's output we take: an iptables-save of a host with a very large ruleset. */
#define VP_SPAWN_OUT_MAX (256u << 20)

/* Run argv (argv[0] found by vp_tool_path, never through PATH) with
 * in[0..in_len) on its stdin (NULL: /dev/null), its stdout appended to out (NULL: discarded) up
 * to out_max bytes (-EFBIG beyond), its stderr appended to err (NULL: discarded) up to
 * VP_SPAWN_ERR_MAX. A program still running after 30 s, or at deadline (vp_now_ms; 0: none) if
 * that comes first, is killed and -ETIMEDOUT returned: nothing we run may hold the hook, and
 * libvirt with it, forever; past the deadline, nothing is run (-ETIMEDOUT). Returns the exit
 * status (0..255), 128+signal, or -errno when it could not run. */
/* hold_fd (our lock, or -1) is handed down to the program: a program outlives a hook that is
 * killed while it runs, and must keep the lock until it is done, so that the next hook cannot
 * change the same rules under it. */
/* The absolute path of tool NAME into out: the first executable NAME in the tool directories,
 * $VIRT_PORTFWD_TOOL_DIRS when set (the test suites' shims, as $VIRT_PORTFWD_ROOT moves the
 * tree), else those built in (meson option tooldirs, /usr/sbin:/usr/bin:/sbin:/bin). Never the
 * inherited PATH: the hook runs as root with libvirtd's environment, whose PATH may hold
 * directories (~/.local/bin, a venv) that are nobody's idea of where iptables is. A NAME with a
 * '/' is taken as it is. -ENOENT when no directory has it. */
int vp_tool_path(const char *name, char *out, size_t outsz);
int vp_spawn(const char *const argv[], const char *in, size_t in_len, struct vp_buf *out,
             size_t out_max, struct vp_buf *err, int hold_fd, long long deadline);
