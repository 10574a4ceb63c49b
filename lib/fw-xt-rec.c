/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The iptables-nft backend without iptables-save. iptables-nft-save prints every rule of every
 * table, and iptables-nft-restore's -D compares the rule with every rule of the chain: both cost
 * time in proportion to all the guests' rules. So the record ("rules" in our state, state.h;
 * its lines, handles and removal by handle are record.c's) keeps this owner's rules, one
 * "<4|6> <chain> <handle> <spec>" line each, and the handle of each table they are in,
 * "t<4|6> <table> <handle>"; the kernel is asked only about our tables and chains and the
 * built-in chains' jumps (iptables-nft's tables are nf_tables tables, nfnl.h):
 * - install, when the guest has no rule anywhere: one restore batch puts its rules at the top
 *   of our chains (creating a missing chain and its jump), then their handles are read there;
 * - removal: while filter and nat are the tables the handles were recorded in, each names the
 *   owner's rule or nothing (nfnl.h); the rules go in one transaction by handle, with our jump
 *   and chain when nothing else is left in it (deleting writes no expression: netfilter.md
 *   trap 2 is about writing them), and a rule that is gone makes it delete nothing.
 * What is not as recorded goes to the reading path (fw-xt.c); the restore batch itself and the
 * deletion fail as failures. Only for iptables-nft: the legacy tables are not nf_tables. */
#include "fw-xt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "nfnl.h"
#include "render-xt.h"

struct vp_xt_fast {
	enum vp_rules_kind kind;
	struct vp_rec rec;      /* VP_RULES_KNOWN: the recorded rules and tables */
	struct vp_nfnl q;
};

static struct vp_rec_chain xt_chain(size_t i)
{
	return (struct vp_rec_chain){vp_xt_chains[i].table, vp_xt_chains[i].chain};
}

const struct vp_rec_desc vp_rec_xt = {
	.name = "iptables-nft", .syntax = VP_REC_XT, .xt = true, .fams = {"4", "6"},
	.tables = {"filter", "nat"}, .n_chains = N_CHAINS, .chain = xt_chain,
};

static void fast_free(struct vp_xt_fast *x)
{
	vp_rec_free(&x->rec);
	vp_nfnl_close(&x->q);
}

/* The record after an install: the specs, with the handles found at the top of our chains
 * (where an install without reading puts them, or where they stayed). q: the change's socket,
 * opened here when the change did not need one. next is left alone when it cannot be told. */
static void rec_build(const struct vp_ruleset *rs, struct vp_nfnl *q, struct vp_record *next)
{
	struct vp_rec rec = {.d = &vp_rec_xt};
	int r = q->fd >= 0 ? 0 : vp_nfnl_open(q);

	for (size_t fi = 0; fi < VP_REC_FAMS && r == 0; fi++) {
		struct xt_wanted w = {0};
		r = vp_xt_wanted_build(rs, vp_rec_af(fi), &w);
		if (r == 0)
			r = vp_rec_take(&rec, q, fi, rs->owner, w.n, w.s);
		vp_xt_wanted_free(&w);
	}
	if (r == 0)
		vp_rec_format(&rec, next);
	vp_rec_free(&rec);
}

/* Our jumps to `chain` in a built-in chain: how many, whether the first rule is one, and the
 * handle of the first one found. */
struct jump_walk {
	const char *chain;
	size_t seen, jumps;
	bool first;
	uint64_t handle;
	bool stop_unless_first;     /* install: only a jump in first place will do */
};

static int jump_take(const struct vp_nfnl_rule *rule, void *data)
{
	struct jump_walk *w = data;

	if (!strcmp(rule->jump, w->chain) && !strcmp(rule->xt_comment, VP_TAG)) {
		w->first |= w->seen == 0;
		if (!w->jumps++)
			w->handle = rule->handle;
	}
	w->seen++;
	return w->stop_unless_first && w->seen == 1 && !w->first ? -ESTALE : 0;
}

/* A guest with no rule anywhere: its rules at the top of our chains (inserted in reverse),
 * a missing chain created with its jump. A jump that is not the first rule of its built-in
 * chain: the reading path puts it back. Filter first, as on the reading path. */
static int fast_install(struct vp_xt_fast *x, const struct xt_wanted *w, int fi, struct vp_buf *out)
{
	static const char *const order[] = {"filter", "nat"};
	int af = fi ? AF_INET6 : AF_INET;

	for (size_t t = 0; t < 2; t++) {
		struct vp_buf b = {0};
		int r = 0;
		for (size_t i = 0; i < N_CHAINS && r == 0; i++) {
			struct jump_walk jw = {.chain = vp_xt_chains[i].chain, .stop_unless_first = true};
			unsigned use;
			if (strcmp(vp_xt_chains[i].table, order[t]) || !w->n[i])
				continue;
			r = vp_nfnl_chain_use(&x->q, af, vp_xt_chains[i].table, vp_xt_chains[i].chain, &use);
			if (r == 0)
				r = vp_nfnl_chain_head(af, vp_xt_chains[i].table, vp_xt_chains[i].builtin, jump_take, &jw);
			if (r == 0 && (!jw.first || jw.jumps != 1))
				r = -ESTALE;
			if (r == -ENOENT)
				vp_buf_printf(&b, "-N %s\n", vp_xt_chains[i].chain);
			for (size_t j = w->n[i]; j-- > 0 && (r == 0 || r == -ENOENT);)
				vp_buf_printf(&b, "-I %s 1 %s\n", vp_xt_chains[i].chain, w->s[i][j]);
			if (r == -ENOENT)
				vp_buf_printf(&b, "-I %s 1 %s\n", vp_xt_chains[i].builtin, vp_xt_chains[i].jump[fi]);
			r = r == -ENOENT ? 0 : r;
		}
		if (r == 0 && b.len)
			vp_buf_printf(out, "*%s\n%sCOMMIT\n", order[t], b.s);
		r = r ? r : b.err;
		vp_buf_free(&b);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Each recorded rule of family fi into del[], once the tables it is in are the ones it was
 * recorded in; for a chain of ours that would be left empty (the kernel's use count: its rules
 * and our one jump), our jump and the chain too. -ESTALE: the record is not what is there. */
static int remove_list(struct vp_xt_fast *x, int fi, struct vp_nfnl_del *del, size_t *n)
{
	int af = vp_rec_af((size_t)fi), r = vp_rec_tables_same(&x->rec, &x->q, (size_t)fi) ? 0 : -ESTALE;

	for (size_t i = 0; r == 0 && i < N_CHAINS; i++) {
		struct jump_walk jw = {.chain = vp_xt_chains[i].chain};
		size_t mine = vp_rec_count(&x->rec, (size_t)fi, i);
		unsigned use;
		r = vp_rec_dels(&x->rec, (size_t)fi, i, del, n);
		if (r < 0 || !mine)
			continue;
		r = vp_nfnl_chain_use(&x->q, af, vp_xt_chains[i].table, vp_xt_chains[i].chain, &use);
		if (r < 0 || use != mine + 1)
			continue;
		r = vp_nfnl_chain_head(af, vp_xt_chains[i].table, vp_xt_chains[i].builtin, jump_take, &jw);
		if (r == 0 && jw.jumps != 1)
			r = -ESTALE;
		del[(*n)++] = (struct vp_nfnl_del){af, vp_xt_chains[i].table, vp_xt_chains[i].builtin, jw.handle};
		del[(*n)++] = (struct vp_nfnl_del){af, vp_xt_chains[i].table, vp_xt_chains[i].chain, 0};
	}
	return r < 0 && r != -ENOMEM ? -ESTALE : r;   /* nothing written yet: read instead */
}

/* Removal by handle, nat and filter in one transaction (all or nothing). -ESTALE when the
 * record is not what is there, or a chain we would delete is in use after all: nothing was
 * written then. */
static int fast_remove(struct vp_xt_fast *x, int fi, const char *owner)
{
	struct vp_nfnl_del *del = calloc(x->rec.n + 2 * N_CHAINS, sizeof(*del));
	size_t n = 0;
	int r = del ? remove_list(x, fi, del, &n) : -ENOMEM;

	if (r == 0)
		r = vp_rec_delete(&vp_rec_xt, &x->q, del, n, owner);
	free(del);
	return r;
}

/* One family without reading, when the record allows it (vp_xt_shortcut). -ESTALE: read. */
static int fast_family(void *ctx, const struct vp_ruleset *rs, int fi, const struct vp_fw_opts *o)
{
	const struct xt_tools *t = &vp_xt_tools_nft;
	struct vp_xt_fast *x = ctx;
	struct xt_wanted w = {0};
	struct vp_buf batch = {0};
	int r;

	if (x->q.fd < 0)
		return -ESTALE;
	if (x->kind == VP_RULES_NONE && rs->n) {
		r = vp_xt_wanted_build(rs, fi ? AF_INET6 : AF_INET, &w);
		if (r == 0)
			r = fast_install(x, &w, fi, &batch);
		/* Checked beforehand: a failure of the batch is a failure. */
		if (r == 0 && batch.len)
			r = vp_xt_restore(t, fi, &batch, o);
	} else if (x->kind == VP_RULES_KNOWN && !rs->n) {
		r = fast_remove(x, fi, rs->owner);
	} else {
		return -ESTALE;   /* an install over rules that may be there: compare them */
	}
	vp_xt_wanted_free(&w);
	vp_buf_free(&batch);
	if (r == -ESTALE)
		vp_log(LOG_DEBUG, "%s: the record of %s is not what is there, reading the ruleset",
		       t->name, rs->owner);
	return r;
}

/* iptables-nft's change, by prev (the record of the last one) where it allows; next: the new
 * record. */
static int xt_apply_nft(const struct vp_ruleset *rs, const struct vp_fw_opts *o,
                        const struct vp_record *prev, struct vp_record *next)
{
	struct vp_xt_fast x = {.kind = prev->kind, .rec = {.d = &vp_rec_xt}, .q = {.fd = -1}};
	int r;

	if (x.kind == VP_RULES_KNOWN && vp_rec_parse(&x.rec, prev->body) < 0)
		x.kind = VP_RULES_UNKNOWN;
	if (x.kind != VP_RULES_UNKNOWN)
		vp_nfnl_open(&x.q);
	r = vp_xt_apply(&vp_xt_tools_nft, &(struct vp_xt_shortcut){fast_family, &x}, rs, o);
	if (r == 0 && rs->n)
		rec_build(rs, &x.q, next);
	fast_free(&x);
	return r;
}

/* Every rule in our chains, both families: each one's xt comment is its owner tag. */
static int xt_nft_owners(int (*fn)(const char *owner, void *data), void *data)
{
	return vp_rec_owners(&vp_rec_xt, fn, data);
}

/* libvirt's chain in nf_tables, where iptables-nft put it. */
static bool xt_nft_probe(const struct vp_network *net, long long deadline, char *why,
                         size_t whysz)
{
	(void)deadline;
	(void)net;
	if (!vp_nfnl_chain_exists(AF_INET, "filter", VP_LIBVIRT_CHAIN))
		return false;
	snprintf(why, whysz, "libvirt's " VP_LIBVIRT_CHAIN " is in nf_tables (iptables-nft)");
	return true;
}

const struct vp_backend vp_backend_xt = {.name = "iptables-nft", .probe = xt_nft_probe,
                                         .place = "nf_tables (iptables-nft)",
                                         .tool = {"iptables-nft", "ip6tables-nft"},
                                         .render = vp_render_xt, .list = vp_xt_nft_list,
                                         .where = vp_xt_where, .apply = xt_apply_nft,
                                         .records = true, .owners = xt_nft_owners};
