/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A normalised listing of a ruleset: each rule as table, chain, position, rule text and packet
 * counter, and each chain with its policy, whichever tool listed it (`iptables-save -c`, or
 * nft's listing of some tables). Every backend's list() (fw.h) returns one; the doctor judges
 * the pipeline's decisions against it, and the iptables backends read their own rules from it
 * when they have no record. Parsing is pure, over a buffer the listing owns. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vp_listed_rule {
	const char *table, *chain, *spec;   /* point into the listing's text */
	uint64_t pkts;
	unsigned pos;                       /* 1-based position in its chain */
};

struct vp_listed_chain {
	const char *table, *name;
	const char *policy;                 /* a built-in chain's ("ACCEPT", "DROP"); else NULL */
};

struct vp_listing {
	bool loaded;                        /* for a caller that lists once, when first needed */
	int r;                              /* 0 listed (maybe empty); <0 could not list */
	char err[256];                      /* why, when r < 0 */
	char *text;
	struct vp_listed_rule *l;
	size_t n, cap;
	struct vp_listed_chain *c;
	size_t n_c, cap_c;
};

void vp_listing_free(struct vp_listing *s);   /* NULL-safe; leaves s empty */
int vp_listing_add_chain(struct vp_listing *s, const char *table, const char *name);
/* A rule after the last one added: position 1 unless it continues the last one's chain. */
int vp_listing_add(struct vp_listing *s, const char *table, const char *chain, const char *spec,
                   uint64_t pkts);

/* The text of `iptables-save [-c]` in s->text into s's rules and chains, in place. 0 or
 * -ENOMEM. Lines of no known kind are passed over. */
int vp_listing_parse_xt(struct vp_listing *s);
/* The text of nft's (stateful) listing of tables in s->text, the same way: the rules of chains
 * ("counter packets N bytes M" cut to "counter", N kept), not base chains' type lines nor the
 * elements of sets. 0 or -ENOMEM. */
int vp_listing_parse_nft(struct vp_listing *s);

/* Lookups, by exact text; NULL when none. */
const struct vp_listed_rule *vp_listing_find(const struct vp_listing *s, const char *table,
                                             const char *chain, const char *spec);
/* The first rule of table/chain whose target is `target` (-j TARGET). */
const struct vp_listed_rule *vp_listing_jump(const struct vp_listing *s, const char *table,
                                             const char *chain, const char *target);
bool vp_listing_has_chain(const struct vp_listing *s, const char *table, const char *chain);

/* Run `TOOL -c` (iptables-save of some flavour and family; `-t table` when table is not NULL)
 * and parse what it prints into s (s->r and s->err say how it went; returned too). hold_fd and
 * deadline as for vp_spawn (run.h). */
int vp_listing_xt_save(struct vp_listing *s, const char *tool, const char *table, int hold_fd,
                       long long deadline);
/* List the tables names[0..n) of nft family `family` ("ip", "ip6", "inet") through libnftables
 * into s; a table that does not exist lists nothing. Without libnftables: -EOPNOTSUPP, and
 * -ELIBACC when it cannot be loaded. (fw-nft-list.c) */
int vp_listing_nft(struct vp_listing *s, const char *family, const char *const *names, size_t n);

/* Where a rule of ours shows in a backend's listing: its table and chain (static strings) and
 * its text as the listing prints it (heap). */
struct vp_where {
	const char *table, *chain;
	char *spec;
};

void vp_where_free(struct vp_where *w);   /* NULL-safe */
