/* SPDX-License-Identifier: GPL-2.0-or-later */
/* An nf_tables client over netlink (nfnetlink), of our own: no library, no listing. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Questions to nf_tables about one named table or chain, answered by the kernel over
 * netlink without listing anything (a listing through nft or iptables-nft-save costs time in
 * proportion to every rule in the table; these cost in proportion to what is asked), and one
 * change: deleting rules by handle, which writes no expression (netfilter.md trap 2 is about
 * writing them). family is AF_INET or AF_INET6: the nf_tables families ip and ip6, which
 * iptables-nft's tables are in too. */
#define VP_NFNL_TEXT 256

struct vp_nfnl {
	int fd;
	uint32_t seq;
};

/* What the kernel says of one rule. */
struct vp_nfnl_rule {
	uint64_t handle;
	char comment[VP_NFNL_TEXT];      /* its comment (nft's user data), "" if none */
	char xt_comment[VP_NFNL_TEXT];   /* the text of its xt "comment" match (iptables-nft) */
	char jump[VP_NFNL_TEXT];         /* the chain its jump or goto names, "" if none */
};

int vp_nfnl_open(struct vp_nfnl *q);     /* 0 or -errno; q->fd is -1 when closed */
void vp_nfnl_close(struct vp_nfnl *q);   /* NULL-safe, idempotent */

/* The table's use count: its chains, sets and other objects. 0, -ENOENT (no such table),
 * -errno. */
int vp_nfnl_table(struct vp_nfnl *q, int family, const char *table, unsigned *ret_use);
/* The same, and the table's handle: a number the kernel gives each table it creates and never
 * again in this network namespace. Rule handles are never reused within a table either, so
 * while a table's handle is what it was, a rule handle found in it then names that rule or
 * nothing (a table deleted and made anew, as libvirt does, numbers its rules from 1 again).
 * -ENODATA: a kernel that does not tell. */
int vp_nfnl_table_handle(struct vp_nfnl *q, int family, const char *table, unsigned *ret_use,
                        uint64_t *ret_handle);
/* Whether the chain exists, asked of the kernel by name on a socket of its own (an nft listing
 * would fetch every rule of the table first); a failing probe counts as "no". */
bool vp_nfnl_chain_exists(int family, const char *table, const char *chain);
/* The chain's use count: its rules plus the rules jumping to it. 0, -ENOENT (no such table or
 * chain), -errno. */
int vp_nfnl_chain_use(struct vp_nfnl *q, int family, const char *table, const char *chain,
                     unsigned *ret_use);
/* The rules of a chain from its top, each to fn, until fn returns non-zero (then that) or the
 * chain ends (0): the kernel fills one buffer at a time, so stopping early costs only what was
 * read. Its own socket. -ENOENT (no such chain), -errno. */
int vp_nfnl_chain_head(int family, const char *table, const char *chain,
                      int (*fn)(const struct vp_nfnl_rule *r, void *data), void *data);
/* The same on q, for walking several chains on one socket: after fn stopped a walk early (or an
 * error), the rest of that dump is still coming, and q must be closed, not used again. */
int vp_nfnl_chain_rules(struct vp_nfnl *q, int family, const char *table, const char *chain,
                       int (*fn)(const struct vp_nfnl_rule *r, void *data), void *data);

/* The handles of the first `want` rules of owner at the top of a chain, in order, into
 * h[0..want): the owner is the rule's comment (nft), or with xt the text of its xt comment match
 * (iptables-nft). Where a change without reading puts a guest's rules, or where they stayed; up
 * to 64 rules of others above them are passed over. 0, or -ESTALE when not all are found there,
 * -ENOENT (no such chain), -errno. */
int vp_nfnl_owner_head(int family, const char *table, const char *chain, const char *owner,
                       bool xt, uint64_t *h, size_t want);

/* A chain to walk for tags. */
struct vp_nfnl_place {
	int family;
	const char *table, *chain;
};
/* The tag of each rule in the chains p[0..n) (a missing one is passed over), on one socket: its
 * comment (nft's user data), or with xt the text of its xt comment match (iptables-nft); rules
 * without one are skipped. Each to fn until it returns non-zero (then that); 0, or -errno. */
int vp_nfnl_tags(const struct vp_nfnl_place *p, size_t n, bool xt,
                 int (*fn)(const char *tag, void *data), void *data);

/* One thing to delete: the rule `handle` of table/chain; with handle 0 the chain itself, only
 * if nothing uses it any more (no rule in it, no jump to it); with chain NULL the whole table. */
struct vp_nfnl_del {
	int family;
	const char *table, *chain;
	uint64_t handle;
};
/* Delete them all in one transaction: all or nothing. 0 or the kernel's -errno (-ENOENT: one
 * of them is gone). */
int vp_nfnl_delete(struct vp_nfnl *q, const struct vp_nfnl_del *d, size_t n);
