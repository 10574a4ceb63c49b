/* SPDX-License-Identifier: GPL-2.0-or-later */
/* One guest's forwards, from the table to the rules (pipeline.c). Reads libvirt's files through
 * the network cache; no firewall I/O. */
#pragma once

#include <stddef.h>
#include <time.h>

#include "config.h"
#include "domain.h"
#include "inputs.h"
#include "plan.h"

struct vp_pipeline {
	struct vp_netcache nets;
	struct vp_target *targets;
	size_t n_targets;
	unsigned pending;           /* forwards whose guest address is not known yet */
};

/* The rules for the forwards of table t that name guest d, at time now (lease expiry), into rs
 * (owner: d's uuid). A forward that cannot be resolved is skipped with a log line (counted in
 * p->pending when only its address is missing). 0, or -errno (logged). */
int vp_pipeline_run(struct vp_pipeline *p, const struct vp_table *t, time_t now,
                    const struct vp_domain *d, struct vp_ruleset *rs);
/* The network of the first resolved forward (whose firewall tells the backend), or NULL. */
const struct vp_network *vp_pipeline_network(const struct vp_pipeline *p);
void vp_pipeline_free(struct vp_pipeline *p);
