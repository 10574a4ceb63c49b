/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Flows follow the forward: the DNATs a guest's rules install are kept next to its state (the
 * "dnat" side file, state.h), in words of our own and not the backend's, so that after a change
 * the engine knows which DNATs were removed or now point elsewhere, and ends their conntrack
 * entries (conntrack.h). */
#pragma once

#include <stdbool.h>
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

/* The flows a change of one guest's rules ends (vp_ct_sel's gone, keep and added), for
 * vp_ct_end, which may run in another process (engine.c). */
struct vp_ct_plan {
	struct vp_dnat_list gone, added, now;
	char name[256];               /* the guest's, for the log */
};
void vp_ct_plan_free(struct vp_ct_plan *p);   /* NULL-safe */

/* After a successful change of uuid's rules to rs (n == 0: all removed), under our lock: the
 * plan of what to end into *ret, the conntrack entries of every DNAT the file lists that rs no
 * longer has, and of UDP flows bound to the host on a port rs forwards anew (vp_ct_sel), then
 * rs's DNATs kept in the file (removed with the last rule). Failures are logged (name: the
 * guest's), never returned: the rules are in place either way (*ret is then empty). */
void vp_ct_follow(int dirfd, const char *uuid, const char *name, const struct vp_ruleset *rs,
                  struct vp_ct_plan *ret);
/* Whether the plan ends anything: else vp_ct_end does no conntrack I/O. */
bool vp_ct_planned(const struct vp_ct_plan *p);
/* End the flows of the plan, by deadline (vp_now_ms, 0: none; past it the rest stays); logged
 * ("NAME: forwards changed: N connections ended"), never returned. Still under our lock: the
 * next change must find them ended. */
void vp_ct_end(const struct vp_ct_plan *p, long long deadline);
