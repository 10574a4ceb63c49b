/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Our rules in iptables' words (render-xt.c): what both iptables backends write and compare with,
 * and what the doctor looks for in a save. */
#pragma once

#include "plan.h"
#include "util.h"

/* iptables-save canonical text of one rule, without the leading "-A CHAIN " and without a
 * newline, exactly as iptables-save 1.8.9 prints it. */
void vp_render_xt_rule(const struct vp_rule *r, const char *owner, struct vp_buf *out);
/* Whole rule lines "-A CHAIN ...\n" for every rule of family `family`, for --dry-run. */
void vp_render_xt(const struct vp_ruleset *rs, int family, struct vp_buf *out);
