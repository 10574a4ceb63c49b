/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The engine, shared by the hook and the CLI: one guest's transaction, from the table to the
 * rules (pipeline.h) and from the rules to the firewall, under our lock, with the state in step. */
#pragma once

#include <stdbool.h>
#include <time.h>

#include "domain.h"
#include "fw.h"
#include "state.h"
#include "table.h"
#include "util.h"

struct vp_ctx {
	struct vp_table table;
	bool table_ok;            /* the table parsed without error */
	bool dry_run;             /* print the plan on `out`, touch nothing */
	struct vp_buf *out;       /* dry-run output */
	time_t now;
	unsigned pending;         /* set by vp_guest_install: forwards still without an address */
	/* Asked under our lock before installing (NULL: not asked): whether the guest still runs.
	 * The lease waiter's, which works after the hook has returned. */
	bool (*recheck)(const struct vp_domain *d);
	/* The instant (vp_now_ms) by which the hook must be back to libvirt (set hook-timeout):
	 * every wait of every guest of the call ends by it, each also keeping its own bound, and a
	 * change cut short is rolled back or stays recorded. 0: each wait's own bound only. */
	long long deadline;
	/* The qemu hook's: the flows of forwards a change removed are ended after the hook has
	 * answered libvirt, by a detached child that holds our lock until they are (engine.c);
	 * false: before the change returns (the CLI's callers expect them ended by then). */
	bool defer_flows;
};

/* Load the forward table through vp_table_open (table.h), the one loader of every caller (path
 * NULL: the default under $VIRT_PORTFWD_ROOT). Diagnostics are logged. A missing default table
 * is an empty table. 0 or -errno. */
int vp_ctx_load(struct vp_ctx *c, const char *path, bool any_owner);
void vp_ctx_free(struct vp_ctx *c);

/* Install (idempotently) the forwards of a running guest; removes what it had that the table no
 * longer lists. 0, or -errno after logging why. */
int vp_guest_install(struct vp_ctx *c, const struct vp_domain *d);
/* The guest's state into st; without one, st->n_addr is 0 (the addresses our rules send to,
 * which the pipeline keeps while their leases are valid: vp_pipeline.installed). */
void vp_guest_installed(const char *uuid, struct vp_state *st);
/* Remove every rule owned by the guest (by owner tag), whatever the table says now. */
int vp_guest_remove(struct vp_ctx *c, const char *uuid);

/* A stopping guest: its rules by its state (vp_guest_remove); with no state, when the table
 * names it or its metadata carries forwards, the rules tagged with its uuid that a restored
 * ruleset or a lost state left. */
int vp_guest_remove_domain(struct vp_ctx *c, const struct vp_domain *d);
/* Remove the rules of every owner (only: of that uuid) that carry our tag in a backend's tables
 * but have no state of ours (sweep.c), every wait ending by deadline (0: none). 0, or -errno
 * after logging why. */
int vp_engine_sweep(const char *only, long long deadline);

/* Make the rules of guest d exactly rs through backend b, under our lock: the state records the
 * intent first (old | new families), the guest's rules leave a backend they were installed with
 * before, b applies with its previous record and returns the new one, then the flows of removed
 * forwards end (c->defer_flows: after the call, still under our lock) and the state is brought
 * in step (removed with its side files after a removal). After a failure the state still names
 * every family that may hold rules, and the record is "unknown". network: the guest's first
 * network with forwards (for the network hook), may be NULL. c->recheck (may be NULL), asked
 * under the lock before an install: false means the guest stopped meanwhile, nothing is done,
 * and 1 is returned. c->deadline (vp_now_ms, 0: none): every wait ends by it (our lock, the
 * backend's), nothing is begun once it has passed (-ETIMEDOUT), and a change ends early enough
 * to leave its rollback time. Else 0, or -errno after logging why. c's table is not read. */
/* addr[0..n_addr): the guest addresses rs sends to, by NIC, kept in the state (the pipeline's
 * next run keeps an installed address while its lease is valid). */
int vp_engine_commit(const struct vp_ctx *c, const struct vp_backend *b,
                     const struct vp_domain *d, const char *network, const struct vp_ruleset *rs,
                     const struct vp_state_addr *addr, size_t n_addr);
