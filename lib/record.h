/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A backend's record: what it knows it installed for one owner, in its own words. The engine
 * keeps it (the guest's "rules" side file, state.h) and hands it over: a backend gets the
 * previous record with the change and returns the new one; it never opens our state. The record
 * is a hint: a backend checks it with the kernel before writing anything, and a stale one sends
 * it back to reading what is there. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum vp_rules_kind {
	VP_RULES_UNKNOWN,   /* nothing known: read what is there */
	VP_RULES_NONE,      /* the guest had no state: it has no rule in any backend */
	VP_RULES_KNOWN,     /* body is exactly the owner's rules, in this backend's words */
};

struct vp_record {
	enum vp_rules_kind kind;
	char *body;         /* VP_RULES_KNOWN: the lines (owned, may be ""); else NULL */
};

void vp_record_free(struct vp_record *rec);   /* NULL-safe; leaves it UNKNOWN */

/* ---- the record of nf_tables handles --------------------------------------------------------
 * The backends on nf_tables (iptables-nft's tables are nf_tables tables too) record the handle
 * of each rule of the owner, and the handle of each table they are in: while a table's handle
 * is what it was, a rule handle recorded in it names that rule or nothing (nfnl.h). So a guest's
 * change needs no listing of everyone's rules: its rules are found at the top of their chains
 * after an install, and removed by handle in one transaction. What is shared is here, told
 * apart by a description of the backend's families, tables and chains; what is its own (its
 * jumps, its table, its install) stays in the backend. */
#define VP_REC_FAMS 2     /* IPv4, IPv6: indexes 0 and 1 */
#define VP_REC_TABLES 2   /* the most tables a backend's chains are in */

/* The record's lines, as the release that wrote them wrote them (a host upgraded while guests
 * run reads them back). FAM is the description's word for the family. */
enum vp_rec_syntax {
	/* iptables-nft: "t<FAM> <table> <handle>" then the family's rules, "<FAM> <chain> <handle>
	 * <spec>" (a chain name alone: ours are unique; the rule as iptables-nft-save prints it;
	 * handle 0 when it was not found, which sends the removal to reading). */
	VP_REC_XT,
	/* nftables: "table <FAM> <table> <handle>" for every family first, then the rules,
	 * "<FAM> <table> <chain> <handle>"; every rule's handle is known. */
	VP_REC_NFT,
};

/* One chain a rule of the owner can be in. */
struct vp_rec_chain {
	const char *table, *chain;
};

struct vp_rec_desc {
	const char *name;                    /* the backend's, for its messages */
	enum vp_rec_syntax syntax;
	bool xt;                             /* a rule's owner is the text of its xt comment match
	                                        (iptables-nft), not its nft comment */
	const char *fams[VP_REC_FAMS];       /* the words for AF_INET and AF_INET6 */
	const char *tables[VP_REC_TABLES];   /* the tables of the chains below (NULL: unused) */
	size_t n_chains;
	struct vp_rec_chain (*chain)(size_t i);   /* chain i < n_chains, in the backend's order */
};

struct vp_rec_rule {
	size_t fam, chain;   /* indexes: VP_REC_FAMS, the description's chains */
	uint64_t handle;     /* 0: not known (VP_REC_XT) */
	char *spec;          /* VP_REC_XT: the rule as written (owned); else NULL */
};

/* A record read or being built: rules in the order of their lines (the builders add them by
 * family, chain, then from the top), and the tables' handles, 0 where not known. */
struct vp_rec {
	const struct vp_rec_desc *d;
	struct vp_rec_rule *r;
	size_t n, cap;
	uint64_t table[VP_REC_FAMS][VP_REC_TABLES];
};

void vp_rec_free(struct vp_rec *rec);   /* NULL-safe; keeps rec->d, so it can be used again */
/* Add one rule; spec is copied (VP_REC_XT; NULL otherwise). 0 or -ENOMEM. */
int vp_rec_add(struct vp_rec *rec, size_t fam, size_t chain, uint64_t handle, const char *spec);
/* Read a record's lines (body is not changed) into rec, which has its description and nothing
 * else. 0, -EBADMSG (a line not in the description's syntax, naming something not in it, or a
 * number out of range) or -ENOMEM; on failure rec holds the lines before, whole: free it. */
int vp_rec_parse(struct vp_rec *rec, const char *body);
/* The lines of rec as a VP_RULES_KNOWN record into next; next is left alone when they cannot be
 * written. */
void vp_rec_format(const struct vp_rec *rec, struct vp_record *next);
size_t vp_rec_count(const struct vp_rec *rec, size_t fam, size_t chain);
/* The index in d->tables of chain's table; VP_REC_TABLES if it is not there. */
size_t vp_rec_table_of(const struct vp_rec_desc *d, size_t chain);
int vp_rec_af(size_t fam);   /* AF_INET, AF_INET6 */

/* ---- with the kernel (nfnl.h) ---------------------------------------------------------------- */
struct vp_nfnl;
struct vp_nfnl_del;

/* After the owner's rules of family fam went to the top of their chains (want[c] of them in
 * chain c, from the top; VP_REC_XT: with their specs spec[c][0..want[c])): the handles of the
 * tables they are in, those not known yet, and then theirs, into rec. The tables first: found
 * there, the rules are in the tables whose handles were taken (only this process adds rules of
 * this owner, under our lock). A table whose handle the kernel does not tell stays 0, and the
 * removal then reads. Rules not all found there: VP_REC_XT records them with handle 0; else
 * -ESTALE. 0, -ESTALE or -ENOMEM. */
int vp_rec_take(struct vp_rec *rec, struct vp_nfnl *q, size_t fam, const char *owner,
                const size_t *want, char **const *spec);
/* Whether each table that rec's rules of family fam are in is still the one they were recorded
 * in: then each recorded handle names the owner's rule or nothing (nfnl.h). */
bool vp_rec_tables_same(const struct vp_rec *rec, struct vp_nfnl *q, size_t fam);
/* The deletion of each recorded rule of family fam in chain onto del[*n...] (room for them is
 * the caller's: rec->n in all). 0, or -ESTALE when one's handle is not known. */
int vp_rec_dels(const struct vp_rec *rec, size_t fam, size_t chain, struct vp_nfnl_del *del,
                size_t *n);
/* del[0..n) in one transaction: all or nothing. -ESTALE when something in it is not what the
 * record says (a rule gone: ENOENT; a chain in use after all: EBUSY), and nothing was deleted;
 * any other failure is logged and returned. */
int vp_rec_delete(const struct vp_rec_desc *d, struct vp_nfnl *q, const struct vp_nfnl_del *del,
                  size_t n, const char *owner);
/* The owner tag of each rule in every chain of d, both families, to fn (fw.h owners). */
int vp_rec_owners(const struct vp_rec_desc *d, int (*fn)(const char *owner, void *data),
                  void *data);
