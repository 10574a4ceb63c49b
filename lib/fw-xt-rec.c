/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The iptables-nft backend without iptables-save. iptables-nft-save prints every rule of every
 * table, and iptables-nft-restore's -D compares the rule with every rule of the chain: both cost
 * time in proportion to all the guests' rules. So the record ("rules" in our state, state.h)
 * keeps this owner's rules, one "<4|6> <chain> <handle> <spec>" line each, and the handle of
 * each table they are in, "t<4|6> <table> <handle>"; the kernel is asked only about our tables
 * and chains and the built-in chains' jumps (iptables-nft's tables are nf_tables tables, nfnl.h):
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
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "nfnl.h"
#include "render-xt.h"

struct vp_xt_fast {
	enum vp_rules_kind kind;
	struct xt_wanted rec[2];           /* VP_RULES_KNOWN: the recorded rules, IPv4 / IPv6 */
	uint64_t *handle[2][N_CHAINS];  /* their handles, 0 where not known */
	uint64_t table[2][2];           /* the handles of filter and nat, 0 where not known */
	struct vp_nfnl q;
};

static const char *const table_names[2] = {"filter", "nat"};

static size_t table_index(const char *table)
{
	return strcmp(table, "filter") != 0;
}

/* Whether w has rules in table t (an index in table_names). */
static bool table_used(const struct xt_wanted *w, size_t t)
{
	for (size_t i = 0; i < N_CHAINS; i++)
		if (w->n[i] && !strcmp(vp_xt_chains[i].table, table_names[t]))
			return true;
	return false;
}

static void fast_free(struct vp_xt_fast *x)
{
	for (int fi = 0; fi < 2; fi++) {
		vp_xt_wanted_free(&x->rec[fi]);
		for (size_t i = 0; i < N_CHAINS; i++)
			free(x->handle[fi][i]);
	}
	vp_nfnl_close(&x->q);
}

/* "t<4|6> <table> <handle>" */
static int rec_table_line(struct vp_xt_fast *x, char *line)
{
	char *table, *h;
	unsigned long hv;

	/* Byte by byte first: a short last line ends at its NUL, before line + 3. */
	if ((line[1] != '4' && line[1] != '6') || line[2] != ' ')
		return -EBADMSG;
	table = line + 3;
	h = strchr(table, ' ');
	if (!h)
		return -EBADMSG;
	*h++ = '\0';
	if ((strcmp(table, "filter") && strcmp(table, "nat")) ||
	    vp_parse_uint(h, strlen(h), 1, UINT64_MAX, &hv) < 0)
		return -EBADMSG;
	x->table[line[1] == '6'][table_index(table)] = hv;
	return 0;
}

static int rec_line(struct vp_xt_fast *x, char *line)
{
	char *chain, *h, *spec;
	unsigned long hv;
	int fi = line[0] == '6';
	size_t i;

	/* Byte by byte first: a short last line ends at its NUL, before line + 2. */
	if ((line[0] != '4' && line[0] != '6') || line[1] != ' ')
		return -EBADMSG;
	chain = line + 2;
	h = strchr(chain, ' ');
	spec = h ? strchr(h + 1, ' ') : NULL;
	if (!spec)
		return -EBADMSG;
	*h++ = '\0';
	*spec++ = '\0';
	i = vp_xt_chain_index(chain);
	if (i == N_CHAINS || vp_parse_uint(h, strlen(h), 0, UINT64_MAX, &hv) < 0)
		return -EBADMSG;
	struct xt_wanted *w = &x->rec[fi];
	char *dup = strdup(spec);
	char **ns = dup ? realloc(w->s[i], (w->n[i] + 1) * sizeof(*ns)) : NULL;
	uint64_t *nh = ns ? realloc(x->handle[fi][i], (w->n[i] + 1) * sizeof(*nh)) : NULL;
	if (ns)
		w->s[i] = ns;
	if (!nh) {
		free(dup);
		return -ENOMEM;
	}
	x->handle[fi][i] = nh;
	nh[w->n[i]] = hv;
	w->s[i][w->n[i]++] = dup;
	return 0;
}

static int rec_parse(char *body, struct vp_xt_fast *x)
{
	int r = 0;

	for (char *line = body, *next; r == 0 && line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		r = line[0] == 't' ? rec_table_line(x, line) : rec_line(x, line);
	}
	return r;
}

/* The record after an install: the specs, with the handles found at the top of our chains
 * (where an install without reading puts them, or where they stayed). q: the change's socket,
 * opened here when the change did not need one. next is left alone when it cannot be told. */
static void rec_build(const struct vp_ruleset *rs, struct vp_nfnl *q, struct vp_record *next)
{
	struct vp_buf b = {0};
	int r = q->fd >= 0 ? 0 : vp_nfnl_open(q);

	for (int fi = 0; fi < 2 && r == 0; fi++) {
		struct xt_wanted w = {0};
		r = vp_xt_wanted_build(rs, fi ? AF_INET6 : AF_INET, &w);
		/* The tables' handles before the rules': found there, the rules are in these tables. */
		for (size_t t = 0; r == 0 && t < 2; t++) {
			uint64_t th;
			unsigned use;
			if (table_used(&w, t) && vp_nfnl_table_handle(q, fi ? AF_INET6 : AF_INET,
			                                             table_names[t], &use, &th) == 0)
				vp_buf_printf(&b, "t%c %s %" PRIu64 "\n", fi ? '6' : '4', table_names[t], th);
		}
		for (size_t i = 0; r == 0 && i < N_CHAINS; i++) {
			uint64_t *h = w.n[i] ? calloc(w.n[i], sizeof(*h)) : NULL;
			/* Not found near the top: 0, the removal goes by the specs. */
			if (h && vp_nfnl_owner_head(fi ? AF_INET6 : AF_INET, vp_xt_chains[i].table,
			                            vp_xt_chains[i].chain, rs->owner, true, h,
			                            w.n[i]) < 0)
				memset(h, 0, w.n[i] * sizeof(*h));
			for (size_t j = 0; j < w.n[i]; j++)
				vp_buf_printf(&b, "%c %s %" PRIu64 " %s\n", fi ? '6' : '4', vp_xt_chains[i].chain,
				              h ? h[j] : 0, w.s[i][j]);
			r = w.n[i] && !h ? -ENOMEM : 0;
			free(h);
		}
		vp_xt_wanted_free(&w);
	}
	if (r == 0 && !b.err && (b.s || (b.s = strdup(""))))
		*next = (struct vp_record){.kind = VP_RULES_KNOWN, .body = b.s};
	else
		vp_buf_free(&b);
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

/* 0 when filter and nat of family fi, where the record has rules, are the tables it was
 * recorded in: then each recorded handle names the owner's rule or nothing (nfnl.h). */
static int tables_same(struct vp_xt_fast *x, int fi)
{
	for (size_t t = 0; t < 2; t++) {
		uint64_t h;
		unsigned use;
		if (!table_used(&x->rec[fi], t))
			continue;
		if (!x->table[fi][t] ||
		    vp_nfnl_table_handle(&x->q, fi ? AF_INET6 : AF_INET, table_names[t], &use, &h) < 0 ||
		    h != x->table[fi][t])
			return -ESTALE;
	}
	return 0;
}

/* Each recorded rule of family fi into del[], once its table is the one recorded; for a chain
 * of ours that would be left empty (the kernel's use count: its rules and our one jump), our
 * jump and the chain too. -ESTALE: the record is not what is there. */
static int remove_list(struct vp_xt_fast *x, int fi, struct vp_nfnl_del *del, size_t *n)
{
	const struct xt_wanted *rec = &x->rec[fi];
	int af = fi ? AF_INET6 : AF_INET, r = tables_same(x, fi);

	for (size_t i = 0; r == 0 && i < N_CHAINS; i++) {
		struct jump_walk jw = {.chain = vp_xt_chains[i].chain};
		unsigned use;
		for (size_t j = 0; r == 0 && j < rec->n[i]; j++) {
			uint64_t h = x->handle[fi][i][j];
			r = h ? 0 : -ESTALE;
			del[(*n)++] = (struct vp_nfnl_del){af, vp_xt_chains[i].table, vp_xt_chains[i].chain, h};
		}
		if (r < 0 || !rec->n[i])
			continue;
		r = vp_nfnl_chain_use(&x->q, af, vp_xt_chains[i].table, vp_xt_chains[i].chain, &use);
		if (r < 0 || use != rec->n[i] + 1)
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
	const struct xt_wanted *rec = &x->rec[fi];
	struct vp_nfnl_del *del;
	size_t n = 2 * N_CHAINS;
	int r;

	for (size_t i = 0; i < N_CHAINS; i++)
		n += rec->n[i];
	del = calloc(n, sizeof(*del));
	n = 0;
	r = del ? remove_list(x, fi, del, &n) : -ENOMEM;
	if (r == 0) {
		/* All or nothing: a recorded rule that is gone (ENOENT), a chain in use after all
		 * (EBUSY), and nothing was deleted. */
		r = vp_nfnl_delete(&x->q, del, n);
		if (r == -EBUSY || r == -ENOENT)
			r = -ESTALE;
		else if (r < 0)
			vp_log(LOG_ERR, "iptables-nft: deleting the rules of %s failed: %s", owner,
			       strerror(-r));
	}
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
	struct vp_xt_fast x = {.kind = prev->kind, .q = {.fd = -1}};
	char *body = prev->kind == VP_RULES_KNOWN ? strdup(prev->body) : NULL;
	int r;

	/* Parsed in place: the engine's copy stays as it was. */
	if (x.kind == VP_RULES_KNOWN && (!body || rec_parse(body, &x) < 0))
		x.kind = VP_RULES_UNKNOWN;
	if (x.kind != VP_RULES_UNKNOWN)
		vp_nfnl_open(&x.q);
	r = vp_xt_apply(&vp_xt_tools_nft, &(struct vp_xt_shortcut){fast_family, &x}, rs, o);
	if (r == 0 && rs->n)
		rec_build(rs, &x.q, next);
	fast_free(&x);
	free(body);
	return r;
}

/* Every rule in our chains, both families: each one's xt comment is its owner tag. */
static int xt_nft_owners(int (*fn)(const char *owner, void *data), void *data)
{
	struct vp_nfnl_place p[2 * N_CHAINS];

	for (size_t i = 0; i < 2 * N_CHAINS; i++)
		p[i] = (struct vp_nfnl_place){i < N_CHAINS ? AF_INET : AF_INET6,
		                              vp_xt_chains[i % N_CHAINS].table,
		                              vp_xt_chains[i % N_CHAINS].chain};
	return vp_nfnl_tags(p, 2 * N_CHAINS, true, fn, data);
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
                                         .render = vp_render_xt, .apply = xt_apply_nft,
                                         .records = true, .owners = xt_nft_owners};
