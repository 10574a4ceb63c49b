/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A backend's record: what it knows it installed for one owner, in its own words. The engine
 * keeps it (the guest's "rules" side file, state.h) and hands it over: a backend gets the
 * previous record with the change and returns the new one; it never opens our state. The record
 * is a hint: a backend checks it with the kernel before writing anything, and a stale one sends
 * it back to reading what is there. */
#pragma once

enum vp_rules_kind {
	VP_RULES_UNKNOWN,   /* nothing known: read what is there */
	VP_RULES_NONE,      /* the guest had no state: it has no rule in any backend */
	VP_RULES_KNOWN,     /* body is exactly the owner's rules, in this backend's words */
};

struct vp_record {
	enum vp_rules_kind kind;
	char *body;         /* VP_RULES_KNOWN: the lines (owned, may be ""); else NULL */
};

void vp_record_free(struct vp_record *rec);
