/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Flows follow the forward: the DNATs a guest's rules install are kept next to its state (the
 * "dnat" side file, state.h), in words of our own and not the backend's, so that after a change
 * the engine knows which DNATs were removed or now point elsewhere, and ends their conntrack
 * entries (conntrack.h). */
#pragma once

#include <stddef.h>

#include "conntrack.h"
#include "plan.h"
#include "util.h"

#define VP_DNAT_MAX 4096                 /* DNATs of one guest in the file */
#define VP_DNAT_FILE_MAX (256u << 10)

struct vp_dnat_list {
	struct vp_dnat *d;
	size_t n, cap;
};

void vp_dnat_list_free(struct vp_dnat_list *l);   /* NULL-safe */
/* The DNATs of rs (its PRE_DNAT rules; one per forward, however many from= it has). 0 or
 * -ENOMEM. */
int vp_dnat_from_rules(const struct vp_ruleset *rs, struct vp_dnat_list *ret);
/* The file's text: a line "dnat 1", then a line per DNAT
 * "<proto> <host address or *> <hport>-<hport end> <guest address> <gport>-<gport end>". */
void vp_dnat_format(const struct vp_dnat_list *l, struct vp_buf *out);
/* Parse that text (buf[len] need not be NUL): 0, -EINVAL for anything else (then *ret is
 * empty), -E2BIG past VP_DNAT_MAX, -ENOMEM. */
int vp_dnat_parse(const char *buf, size_t len, struct vp_dnat_list *ret);

/* After a successful change of uuid's rules to rs (n == 0: all removed), under our lock: end the
 * conntrack entries of every DNAT the file lists that rs no longer has, and of UDP flows bound
 * to the host on a port rs forwards anew (vp_ct_sel), then keep rs's DNATs in the file (removed
 * with the last rule). Nothing removed, moved, or added for UDP: no conntrack I/O. Failures
 * are logged (name: the guest's, for the log), never returned: the rules are in place either
 * way. */
void vp_ct_follow(int dirfd, const char *uuid, const char *name, const struct vp_ruleset *rs);
