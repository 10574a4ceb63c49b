/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The forwards a guest carries in its domain's <metadata> (domain.h copies the element as
 * written; forwards.conf(5) documents it). Each gets the table line's parsers and messages,
 * located as "domain NAME metadata forward N", then the table's own check against the table:
 * one validator for both. Pure: no I/O, no logging. */
#pragma once

#include "config.h"
#include "diags.h"
#include "domain.h"

/* Whether d's XML had any element of ours in its <metadata> (even one refused). */
bool vp_domain_has_meta(const struct vp_domain *d);

/* Into meta (initialised here: vp_table_free() it whatever the result) the forwards of d's
 * metadata, each naming d by its uuid. Every problem goes to diags.
 * - Any bad element or value: meta is left empty and the result is -EINVAL, as one error in the
 *   table applies nothing from it: half of what was written is not what was meant.
 * - Then each forward that clashes with one of table t (same protocol and host address, host
 *   ports overlapping), or with an earlier one of the metadata, is removed from meta, naming
 *   both places: the table wins. The result is then -EEXIST; meta keeps the others.
 * 0, -EINVAL, -EEXIST, -ENOMEM. */
int vp_metadata_forwards(const struct vp_table *t, const struct vp_domain *d,
                         struct vp_table *meta, struct vp_diags *diags);
