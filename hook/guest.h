/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The per-guest pipeline shared by the hook and the CLI: inputs -> resolve -> plan -> backend. */
#pragma once

#include <stdbool.h>
#include <time.h>

#include "table.h"
#include "domain.h"
#include "util.h"

struct vp_ctx {
	struct vp_table table;
	bool table_ok;            /* the table parsed without error */
	bool dry_run;             /* print the plan on `out`, touch nothing */
	struct vp_buf *out;       /* dry-run output */
	time_t now;
	unsigned pending;         /* set by vp_guest_install: forwards still without an address */
	bool one_guest;           /* a hook run: what served only to resolve may be unloaded */
};

/* Load the forward table through vp_table_open (table.h), the one loader of every caller (path
 * NULL: the default under $VIRT_PORTFWD_ROOT). Diagnostics are logged. A missing default table
 * is an empty table. 0 or -errno. */
int vp_ctx_load(struct vp_ctx *c, const char *path, bool any_owner);
void vp_ctx_free(struct vp_ctx *c);

/* Install (idempotently) the forwards of a running guest; removes what it had that the table no
 * longer lists. 0, or -errno after logging why. */
int vp_guest_install(struct vp_ctx *c, const struct vp_domain *d);
/* "  tcp  [::]:2222 -> ": the host side of a forward, for status lines. */
void vp_describe_forward(struct vp_buf *out, const struct vp_forward *f);
/* Remove every rule owned by the guest (by owner tag), whatever the table says now. */
int vp_guest_remove(struct vp_ctx *c, const char *uuid);
