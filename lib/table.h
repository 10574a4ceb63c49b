/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The forward table as a whole: every file of it loaded (the only I/O), the check across all
 * lines, and which forwards belong to a guest. The model and one file's grammar are config.h. */
#pragma once

#include <stdbool.h>

#include "config.h"

/* Checks across all parsed lines: two forwards claiming the same host address, port and
 * protocol (overlapping ranges, or "any" vs a specific address of the same family) are an
 * error naming both places. 0 or -EINVAL. */
int vp_table_check(const struct vp_table *t, struct vp_diags *d);

/* Which of items[0..n) clash with another (same protocol and family, overlapping host ports,
 * addresses that may meet): *ret_best gets, for each, the index of the earliest one it clashes
 * with, or SIZE_MAX (NULL when n is 0). 0 or -ENOMEM. */
int vp_forwards_clash(const struct vp_forward *const *items, size_t n, size_t **ret_best);

/* The same check for forwards beyond the table (the domain's metadata, metadata.h): each of
 * extra that clashes with a forward of t, or with an earlier one of extra, is an error naming
 * both places, and is removed from extra. 0, -EINVAL (some removed), -ENOMEM. */
int vp_table_check_extra(const struct vp_table *t, struct vp_table *extra, struct vp_diags *d);

/* Load `path` (required to exist unless missing_ok) and then every "*.conf" regular file in
 * `dropin_dir` (may be NULL or missing) in lexical order. Each file must be a regular file
 * (not followed through a symlink), owned by root (uid 0, or the caller's uid when
 * `any_owner`, for tests), not writable by group or other, at most VP_TABLE_MAX_SIZE.
 * Then vp_table_check(). 0, -ENOENT (main file missing and !missing_ok), -EINVAL (any error,
 * all in d), -EPERM (refused file), -ENOMEM. */
int vp_table_load(struct vp_table *t, const char *path, const char *dropin_dir,
                  bool missing_ok, bool any_owner, struct vp_diags *d);

/* The table as every caller loads it, so that they all accept and refuse the same lines with
 * the same messages: the qemu and network hooks, the lease waiter, and check, install, apply,
 * flush, status and the doctor. path NULL: the installed table, /etc/virt-portfwd/forwards.conf
 * (a missing one is an empty table) then forwards.d/ *.conf, under $VIRT_PORTFWD_ROOT; else that
 * one file (-c FILE), which must exist. any_owner as in vp_table_load. t is initialised here:
 * vp_table_free() it whatever the result. Each diagnostic is logged (LOG_ERR), and on any error
 * that nothing is applied from the table. 0 or -errno, as vp_table_load. */
int vp_table_open(struct vp_table *t, const char *path, bool any_owner);

/* Whether forward f belongs to the domain with this name / uuid (uuid lowercase 8-4-4-4-12). */
bool vp_forward_matches(const struct vp_forward *f, const char *name, const char *uuid);
/* Where f was written, for a log line: "FILE:LINE", or "domain NAME metadata forward N". */
void vp_forward_where(const struct vp_forward *f, char *out, size_t outsz);
/* Whether any forward of the table belongs to the domain. */
bool vp_table_has_domain(const struct vp_table *t, const char *name, const char *uuid);
/* How many guests the table names (as written: a name and a UUID count apart). 0 or -ENOMEM. */
int vp_table_n_domains(const struct vp_table *t, size_t *ret_n);
