/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The iptables-nft backend: read our chains with iptables-nft-save, write one
 * iptables-nft-restore --noflush batch. Exec with a fixed argv, rules on stdin, never a shell.
 * iptables-nft writes nf_tables with xt-compat expressions that iptables and libvirt can read
 * back (netfilter.md trap 2: never write native nft expressions into iptables-nft's tables).
 * The same code drives iptables-legacy-restore when libiptc is not built in. */
#include "fw.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "nfq.h"
#include "run.h"
#include "state.h"

#define SAVE_MAX (256u << 20)
#define LOCK_WAIT_DEFAULT_MS 5000u

struct xt_tools {
	const char *name;
	const char *save[2], *restore[2];   /* [0] IPv4, [1] IPv6 */
	bool locks;                         /* restore takes the xtables lock */
};

static const struct xt_tools tools_nft = {
	"iptables-nft",
	{"iptables-nft-save", "ip6tables-nft-save"},
	{"iptables-nft-restore", "ip6tables-nft-restore"},
	false,
};
static const struct xt_tools tools_legacy = {
	"iptables-legacy",
	{"iptables-legacy-save", "ip6tables-legacy-save"},
	{"iptables-legacy-restore", "ip6tables-legacy-restore"},
	true,
};

/* One chain of ours and the built-in chain that jumps to it. */
struct chain_def {
	const char *table, *chain, *builtin;
	const char *jump[2];  /* canonical jump spec, IPv4 / IPv6 */
};

static const struct chain_def chains[] = {
	{"filter", VP_CHAIN_FWD, "FORWARD",
	 {"-m comment --comment " VP_TAG " -j " VP_CHAIN_FWD,
	  "-m comment --comment " VP_TAG " -j " VP_CHAIN_FWD}},
	{"nat", VP_CHAIN_PRE, "PREROUTING",
	 {"-m comment --comment " VP_TAG " -j " VP_CHAIN_PRE,
	  "-m comment --comment " VP_TAG " -j " VP_CHAIN_PRE}},
	{"nat", VP_CHAIN_OUT, "OUTPUT",
	 {"! -d 127.0.0.0/8 -m comment --comment " VP_TAG " -j " VP_CHAIN_OUT,
	  "! -d ::1/128 -m comment --comment " VP_TAG " -j " VP_CHAIN_OUT}},
	{"nat", VP_CHAIN_POST, "POSTROUTING",
	 {"-m comment --comment " VP_TAG " -j " VP_CHAIN_POST,
	  "-m comment --comment " VP_TAG " -j " VP_CHAIN_POST}},
};
#define N_CHAINS VP_ARRAY_SIZE(chains)

/* What the ruleset shows of one of our chains. Strings point into the save buffer. */
struct chain_view {
	bool exists;
	bool jump_first;       /* the built-in's first rule is our canonical jump */
	size_t n_other;        /* rules of other owners in our chain */
	const char **mine;     /* this owner's rule specs, in order */
	size_t n_mine;
	const char **jumps;    /* built-in rules jumping to our chain */
	size_t n_jumps;
	bool builtin_seen;
};

static int push(const char ***arr, size_t *n, const char *s)
{
	const char **na = realloc(*arr, (*n + 1) * sizeof(*na));
	if (!na)
		return -ENOMEM;
	na[(*n)++] = s;
	*arr = na;
	return 0;
}

static void views_free(struct chain_view *v)
{
	for (size_t i = 0; i < N_CHAINS; i++) {
		free(v[i].mine);
		free(v[i].jumps);
		v[i] = (struct chain_view){0};
	}
}

static bool ends_with_jump(const char *spec, const char *chain)
{
	size_t sl = strlen(spec), cl = strlen(chain);
	return sl > cl + 3 && strcmp(spec + sl - cl, chain) == 0 &&
	       memcmp(spec + sl - cl - 4, " -j ", 4) == 0;
}

static bool owned_by(const char *spec, const char *owner)
{
	const char *p = strstr(spec, "--comment \"");
	if (!p)
		return false;
	p += strlen("--comment \"");
	size_t ol = strlen(owner);
	return strncmp(p, owner, ol) == 0 && p[ol] == '"';
}

static int see_rule(struct chain_view *v, const char *table, char *chain, const char *spec,
                    const char *owner, int fi)
{
	for (size_t i = 0; i < N_CHAINS; i++) {
		if (strcmp(table, chains[i].table) != 0)
			continue;
		if (strcmp(chain, chains[i].chain) == 0) {
			if (owned_by(spec, owner))
				return push(&v[i].mine, &v[i].n_mine, spec);
			v[i].n_other++;
		} else if (strcmp(chain, chains[i].builtin) == 0) {
			if (!v[i].builtin_seen)
				v[i].jump_first = strcmp(spec, chains[i].jump[fi]) == 0;
			v[i].builtin_seen = true;
			if (ends_with_jump(spec, chains[i].chain))
				return push(&v[i].jumps, &v[i].n_jumps, spec);
		}
	}
	return 0;
}

/* Parse iptables-save output (modified in place). */
static int parse_save(char *text, const char *owner, int fi, struct chain_view *v)
{
	const char *table = "";
	char *next;

	for (char *line = text; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (line[0] == '*') {
			table = line + 1;
		} else if (line[0] == ':') {
			char *sp = strchr(line, ' ');
			if (sp)
				*sp = '\0';
			for (size_t i = 0; i < N_CHAINS; i++)
				if (!strcmp(table, chains[i].table) && !strcmp(line + 1, chains[i].chain))
					v[i].exists = true;
		} else if (!strncmp(line, "-A ", 3)) {
			char *chain = line + 3, *sp = strchr(chain, ' ');
			if (!sp)
				continue;
			*sp = '\0';
			int r = see_rule(v, table, chain, sp + 1, owner, fi);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

/* The owner's wanted rule specs per chain, rendered in canonical form. */
struct wanted {
	char **s[N_CHAINS];
	size_t n[N_CHAINS];
};

static size_t chain_index(const char *chain)
{
	for (size_t i = 0; i < N_CHAINS; i++)
		if (!strcmp(chains[i].chain, chain))
			return i;
	return N_CHAINS;
}

static void wanted_free(struct wanted *w)
{
	for (size_t i = 0; i < N_CHAINS; i++) {
		for (size_t j = 0; j < w->n[i]; j++)
			free(w->s[i][j]);
		free(w->s[i]);
	}
	*w = (struct wanted){0};
}

static int wanted_build(const struct vp_ruleset *rs, int family, struct wanted *w)
{
	for (size_t k = 0; k < rs->n; k++) {
		const struct vp_rule *r = &rs->r[k];
		struct vp_buf b = {0};
		size_t i = chain_index(vp_stage_chain(r->stage));

		if (r->family != family)
			continue;
		vp_render_xt_rule(r, rs->owner, &b);
		char **ns = realloc(w->s[i], (w->n[i] + 1) * sizeof(*ns));
		if (b.err || !b.s || !ns) {
			if (ns)
				w->s[i] = ns;
			vp_buf_free(&b);
			return -ENOMEM;
		}
		w->s[i] = ns;
		w->s[i][w->n[i]++] = b.s;
	}
	return 0;
}

static bool same_rules(const struct chain_view *v, char *const *want, size_t n)
{
	if (v->n_mine != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (strcmp(v->mine[i], want[i]) != 0)
			return false;
	return true;
}

/* Lines for one chain of ours; returns whether anything is to change. */
static bool batch_chain(const struct chain_def *c, const struct chain_view *v, char *const *want,
                        size_t n_want, int fi, struct vp_buf *b)
{
	bool changed = false;
	bool keep = v->n_other + n_want > 0;

	if (!same_rules(v, want, n_want)) {
		changed = true;
		if (!v->exists && n_want)
			vp_buf_printf(b, "-N %s\n", c->chain);
		for (size_t i = 0; i < v->n_mine; i++)
			vp_buf_printf(b, "-D %s %s\n", c->chain, v->mine[i]);
		/* At the top, in reverse: the order the path without reading gives too. */
		for (size_t i = n_want; i-- > 0;)
			vp_buf_printf(b, "-I %s 1 %s\n", c->chain, want[i]);
	}
	if (keep && v->jump_first && v->n_jumps == 1)
		return changed;
	for (size_t i = 0; i < v->n_jumps; i++)
		vp_buf_printf(b, "-D %s %s\n", c->builtin, v->jumps[i]);
	if (keep)
		vp_buf_printf(b, "-I %s 1 %s\n", c->builtin, c->jump[fi]);
	else if (v->exists)
		vp_buf_printf(b, "-X %s\n", c->chain);
	return changed || v->n_jumps || keep || v->exists;
}

/* One table's block, or nothing when the table needs no change. */
static void batch_table(const char *table, const struct chain_view *v, const struct wanted *w,
                        int fi, struct vp_buf *out)
{
	struct vp_buf b = {0};
	bool changed = false;

	for (size_t i = 0; i < N_CHAINS; i++)
		if (!strcmp(chains[i].table, table))
			changed |= batch_chain(&chains[i], &v[i], w->s[i], w->n[i], fi, &b);
	if (changed && b.len)
		vp_buf_printf(out, "*%s\n%sCOMMIT\n", table, b.s);
	if (b.err)
		out->err = b.err;
	vp_buf_free(&b);
}

/* Log why a tool failed: it could not run (r < 0), was killed, or exited non-zero. */
static void log_tool_failure(const char *tool, int r, const struct vp_buf *err, const char *batch)
{
	if (r == -ETIMEDOUT)
		vp_log(LOG_ERR, "cannot run %s: it did not finish in time and was killed", tool);
	else if (r < 0)
		vp_log(LOG_ERR, "cannot run %s: %s", tool, strerror(-r));
	else if (r > 128)
		vp_log(LOG_ERR, "%s was killed by signal %d", tool, r - 128);
	else
		vp_log(LOG_ERR, "%s failed with exit status %d", tool, r);
	vp_log_lines(LOG_ERR, tool, "said", err->s);
	vp_log_lines(LOG_ERR, tool, "was given", batch);
}

static int xt_save(const struct xt_tools *t, int fi, struct vp_buf *out)
{
	const char *argv[] = {t->save[fi], NULL};
	struct vp_buf err = {0};
	int r = vp_spawn(argv, NULL, 0, out, SAVE_MAX, &err);

	if (r != 0)
		log_tool_failure(t->save[fi], r, &err, NULL);
	vp_buf_free(&err);
	return r == 0 ? 0 : r < 0 ? r : -EIO;
}

static int xt_restore(const struct xt_tools *t, int fi, const struct vp_buf *batch,
                      unsigned wait_ms)
{
	char wait[32] = "-w";
	const char *argv[] = {t->restore[fi], wait, "--noflush", NULL};
	struct vp_buf err = {0};
	int r;

	/* A bare -w waits for the xtables lock without end: bound it as libiptc's wait is bound
	 * (iptables-nft takes no lock and ignores -w). */
	if (t->locks)
		snprintf(wait, sizeof(wait), "--wait=%u", (wait_ms + 999) / 1000);
	r = vp_spawn(argv, batch->s, batch->len, NULL, 0, &err);

	if (r != 0)
		log_tool_failure(t->restore[fi], r, &err, batch->s);
	vp_buf_free(&err);
	return r == 0 ? 0 : r < 0 ? r : -EIO;
}

/* Bring one family's tables to the wanted state. */
static int xt_apply_family(const struct xt_tools *t, const struct vp_ruleset *rs, int family,
                           unsigned wait_ms)
{
	int fi = family == AF_INET6;
	struct chain_view v[N_CHAINS] = {{0}};
	struct wanted w = {0};
	struct vp_buf save = {0}, batch = {0};
	bool install = false;
	int r;

	r = wanted_build(rs, family, &w);
	if (r < 0)
		goto out;
	vp_log(LOG_DEBUG, "%s: reading the ruleset for %s", t->save[fi], rs->owner);
	r = xt_save(t, fi, &save);
	if (r < 0)
		goto out;
	r = parse_save(save.s ? save.s : (char *)"", rs->owner, fi, v);
	if (r < 0)
		goto out;
	for (size_t i = 0; i < N_CHAINS; i++)
		install |= w.n[i] > 0;
	/* Install: filter first (an accept without its DNAT is harmless); removal: nat first. */
	batch_table(install ? "filter" : "nat", v, &w, fi, &batch);
	batch_table(install ? "nat" : "filter", v, &w, fi, &batch);
	r = batch.err;
	if (r == 0 && batch.len)
		r = xt_restore(t, fi, &batch, wait_ms);
out:
	views_free(v);
	wanted_free(&w);
	vp_buf_free(&save);
	vp_buf_free(&batch);
	return r;
}

/* ---- without iptables-save ------------------------------------------------------------------ */
/* iptables-nft-save prints every rule of every table, and iptables-nft-restore's -D compares
 * the rule with every rule of the chain: both cost time in proportion to all the guests' rules.
 * So the record ("rules" in our state, state.h) keeps this owner's rules, one
 * "<4|6> <chain> <handle> <spec>" line each, and the kernel is asked only about our chains, the
 * built-in chains' jumps and single rules by handle (iptables-nft's chains are nf_tables
 * chains, nfq.h):
 * - install, when the guest has no rule anywhere: one restore batch puts its rules at the top
 *   of our chains (creating a missing chain and its jump), then their handles are read there;
 * - removal: each recorded handle must still hold a rule with this owner's tag; they go in one
 *   transaction by handle, with our jump and chain when nothing else is left in it (deleting
 *   writes no expression: netfilter.md trap 2 is about writing them).
 * What is not as recorded goes to the reading path above; the restore batch itself and the
 * deletion fail as failures. Only for iptables-nft: the legacy tables are not nf_tables. */

struct fast {
	enum vp_rules_kind kind;
	struct wanted rec[2];           /* VP_RULES_KNOWN: the recorded rules, IPv4 / IPv6 */
	uint64_t *handle[2][N_CHAINS];  /* their handles, 0 where not known */
	struct vp_nfq q;
};

static void fast_free(struct fast *x)
{
	for (int fi = 0; fi < 2; fi++) {
		wanted_free(&x->rec[fi]);
		for (size_t i = 0; i < N_CHAINS; i++)
			free(x->handle[fi][i]);
	}
	vp_nfq_close(&x->q);
}

static int rec_line(struct fast *x, char *line)
{
	char *chain = line + 2, *h = strchr(chain, ' '), *spec = h ? strchr(h + 1, ' ') : NULL;
	unsigned long hv;
	int fi = line[0] == '6';
	size_t i;

	if ((line[0] != '4' && line[0] != '6') || line[1] != ' ' || !spec)
		return -EBADMSG;
	*h++ = '\0';
	*spec++ = '\0';
	i = chain_index(chain);
	if (i == N_CHAINS || vp_parse_uint(h, strlen(h), 0, UINT64_MAX, &hv) < 0)
		return -EBADMSG;
	struct wanted *w = &x->rec[fi];
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

static int rec_parse(char *body, struct fast *x)
{
	int r = 0;

	for (char *line = body, *next; r == 0 && line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		r = rec_line(x, line);
	}
	return r;
}

/* Our chain's rules from its top: the handles of this owner's, in order. */
struct head_walk {
	const char *owner;
	uint64_t *h;
	size_t want, got, seen;
};

static int head_take(const struct vp_nfq_rule *rule, void *data)
{
	struct head_walk *w = data;

	if (++w->seen > w->want + 64)   /* others inserted above ours meanwhile: give up */
		return -ESTALE;
	if (!strcmp(rule->xt_comment, w->owner))
		w->h[w->got++] = rule->handle;
	return w->got == w->want ? 1 : 0;
}

/* The record after an install: the specs, with the handles found at the top of our chains
 * (where an install without reading puts them, or where they stayed). */
static void rec_write(int dirfd, const char *uuid, const struct vp_ruleset *rs)
{
	struct vp_buf b = {0};
	int r = 0;

	for (int fi = 0; fi < 2 && r == 0; fi++) {
		struct wanted w = {0};
		r = wanted_build(rs, fi ? AF_INET6 : AF_INET, &w);
		for (size_t i = 0; r == 0 && i < N_CHAINS; i++) {
			uint64_t *h = w.n[i] ? calloc(w.n[i], sizeof(*h)) : NULL;
			struct head_walk hw = {.owner = rs->owner, .h = h, .want = w.n[i]};
			/* Not found near the top: 0, the removal goes by the specs. */
			if (h && vp_nfq_chain_head(fi ? AF_INET6 : AF_INET, chains[i].table,
			                           chains[i].chain, head_take, &hw) != 1)
				memset(h, 0, w.n[i] * sizeof(*h));
			for (size_t j = 0; j < w.n[i]; j++)
				vp_buf_printf(&b, "%c %s %" PRIu64 " %s\n", fi ? '6' : '4', chains[i].chain,
				              h ? h[j] : 0, w.s[i][j]);
			r = w.n[i] && !h ? -ENOMEM : 0;
			free(h);
		}
		wanted_free(&w);
	}
	if (r == 0 && !b.err)
		vp_rules_write(dirfd, uuid, tools_nft.name, b.s ? b.s : "");
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

static int jump_take(const struct vp_nfq_rule *rule, void *data)
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
static int fast_install(struct fast *x, const struct wanted *w, int fi, struct vp_buf *out)
{
	static const char *const order[] = {"filter", "nat"};
	int af = fi ? AF_INET6 : AF_INET;

	for (size_t t = 0; t < 2; t++) {
		struct vp_buf b = {0};
		int r = 0;
		for (size_t i = 0; i < N_CHAINS && r == 0; i++) {
			struct jump_walk jw = {.chain = chains[i].chain, .stop_unless_first = true};
			unsigned use;
			if (strcmp(chains[i].table, order[t]) || !w->n[i])
				continue;
			r = vp_nfq_chain_use(&x->q, af, chains[i].table, chains[i].chain, &use);
			if (r == 0)
				r = vp_nfq_chain_head(af, chains[i].table, chains[i].builtin, jump_take, &jw);
			if (r == 0 && (!jw.first || jw.jumps != 1))
				r = -ESTALE;
			if (r == -ENOENT)
				vp_buf_printf(&b, "-N %s\n", chains[i].chain);
			for (size_t j = w->n[i]; j-- > 0 && (r == 0 || r == -ENOENT);)
				vp_buf_printf(&b, "-I %s 1 %s\n", chains[i].chain, w->s[i][j]);
			if (r == -ENOENT)
				vp_buf_printf(&b, "-I %s 1 %s\n", chains[i].builtin, chains[i].jump[fi]);
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

/* Each recorded rule of family fi still there, with this owner's tag, into del[]; for a chain
 * of ours that would be left empty (the kernel's use count: its rules and our one jump), our
 * jump and the chain too. -ESTALE: the record is not what is there. */
static int remove_list(struct fast *x, int fi, const char *owner, struct vp_nfq_del *del,
                       size_t *n)
{
	const struct wanted *rec = &x->rec[fi];
	int af = fi ? AF_INET6 : AF_INET, r = 0;

	for (size_t i = 0; r == 0 && i < N_CHAINS; i++) {
		struct jump_walk jw = {.chain = chains[i].chain};
		struct vp_nfq_rule rule;
		unsigned use;
		for (size_t j = 0; r == 0 && j < rec->n[i]; j++) {
			uint64_t h = x->handle[fi][i][j];
			r = h ? vp_nfq_rule(&x->q, af, chains[i].table, chains[i].chain, h, &rule) : -ESTALE;
			if (r == 0 && strcmp(rule.xt_comment, owner))
				r = -ESTALE;
			del[(*n)++] = (struct vp_nfq_del){af, chains[i].table, chains[i].chain, h};
		}
		if (r < 0 || !rec->n[i])
			continue;
		r = vp_nfq_chain_use(&x->q, af, chains[i].table, chains[i].chain, &use);
		if (r < 0 || use != rec->n[i] + 1)
			continue;
		r = vp_nfq_chain_head(af, chains[i].table, chains[i].builtin, jump_take, &jw);
		if (r == 0 && jw.jumps != 1)
			r = -ESTALE;
		del[(*n)++] = (struct vp_nfq_del){af, chains[i].table, chains[i].builtin, jw.handle};
		del[(*n)++] = (struct vp_nfq_del){af, chains[i].table, chains[i].chain, 0};
	}
	return r < 0 && r != -ENOMEM ? -ESTALE : r;   /* nothing written yet: read instead */
}

/* Removal by handle, nat and filter in one transaction (all or nothing). -ESTALE when the
 * record is not what is there, or a chain we would delete is in use after all: nothing was
 * written then. */
static int fast_remove(struct fast *x, int fi, const char *owner)
{
	const struct wanted *rec = &x->rec[fi];
	struct vp_nfq_del *del;
	size_t n = 2 * N_CHAINS;
	int r;

	for (size_t i = 0; i < N_CHAINS; i++)
		n += rec->n[i];
	del = calloc(n, sizeof(*del));
	n = 0;
	r = del ? remove_list(x, fi, owner, del, &n) : -ENOMEM;
	if (r == 0) {
		r = vp_nfq_delete(&x->q, del, n);
		if (r == -EBUSY)
			r = -ESTALE;
		else if (r < 0)
			vp_log(LOG_ERR, "iptables-nft: deleting the rules of %s failed: %s", owner,
			       strerror(-r));
	}
	free(del);
	return r;
}

/* One family without reading, when the record allows it. -ESTALE: read instead. */
static int fast_family(const struct xt_tools *t, struct fast *x, const struct vp_ruleset *rs,
                       int fi, unsigned o_wait)
{
	struct wanted w = {0};
	struct vp_buf batch = {0};
	int r;

	if (t != &tools_nft || x->q.fd < 0)
		return -ESTALE;
	if (x->kind == VP_RULES_NONE && rs->n) {
		r = wanted_build(rs, fi ? AF_INET6 : AF_INET, &w);
		if (r == 0)
			r = fast_install(x, &w, fi, &batch);
		/* Checked beforehand: a failure of the batch is a failure. */
		if (r == 0 && batch.len)
			r = xt_restore(t, fi, &batch, o_wait);
	} else if (x->kind == VP_RULES_KNOWN && !rs->n) {
		r = fast_remove(x, fi, rs->owner);
	} else {
		return -ESTALE;   /* an install over rules that may be there: compare them */
	}
	wanted_free(&w);
	vp_buf_free(&batch);
	if (r == -ESTALE)
		vp_log(LOG_DEBUG, "%s: the record of %s is not what is there, reading the ruleset",
		       t->name, rs->owner);
	return r;
}

static bool has_family(const struct vp_ruleset *rs, int family)
{
	for (size_t i = 0; i < rs->n; i++)
		if (rs->r[i].family == family)
			return true;
	return false;
}

static int xt_apply(const struct xt_tools *t, struct fast *x, const struct vp_ruleset *rs,
                    const struct vp_fw_opts *o)
{
	static const int fams[] = {AF_INET, AF_INET6};
	static const unsigned bits[] = {VP_FAM_V4, VP_FAM_V6};
	unsigned wait_ms = o->lock_wait_ms ? o->lock_wait_ms : LOCK_WAIT_DEFAULT_MS;
	int r = 0;

	for (size_t i = 0; i < 2; i++) {
		if (o->families && !(o->families & bits[i]) && !has_family(rs, fams[i]))
			continue;
		r = x ? fast_family(t, x, rs, (int)i, wait_ms) : -ESTALE;
		if (r == -ESTALE)
			r = xt_apply_family(t, rs, fams[i], wait_ms);
		if (r < 0)
			break;
	}
	if (r < 0 && rs->n) {
		/* Nothing half-working: drop whatever of this owner made it in. */
		struct vp_ruleset none = *rs;
		struct vp_fw_opts all = *o;
		none.n = 0;
		all.families = 0;
		if (xt_apply(t, NULL, &none, &all) < 0)
			vp_log(LOG_ERR, "rollback of %s failed: rules may be left, run 'virt-portfwd flush'",
			       rs->owner);
	}
	return r;
}

/* The change, with the record kept in step: "unknown" while it runs and after a failure. */
static int xt_apply_recorded(const struct xt_tools *t, const struct vp_ruleset *rs,
                             const struct vp_fw_opts *o)
{
	const char *uuid = vp_owner_uuid(rs->owner);
	struct fast x = {.kind = VP_RULES_UNKNOWN, .q = {.fd = -1}};
	char *body = NULL;
	int dirfd = uuid ? vp_state_open_dir() : -EINVAL, r;

	if (dirfd >= 0)
		x.kind = vp_rules_read(dirfd, uuid, t->name, &body);
	if (x.kind == VP_RULES_KNOWN && rec_parse(body, &x) < 0)
		x.kind = VP_RULES_UNKNOWN;
	if (dirfd >= 0 && vp_rules_write(dirfd, uuid, t->name, NULL) < 0)
		x.kind = VP_RULES_UNKNOWN;
	if (x.kind != VP_RULES_UNKNOWN)
		vp_nfq_open(&x.q);
	r = xt_apply(t, &x, rs, o);
	if (dirfd >= 0 && r == 0 && !rs->n)
		vp_state_drop(dirfd, uuid, "rules");
	else if (dirfd >= 0 && r == 0)
		rec_write(dirfd, uuid, rs);
	fast_free(&x);
	free(body);
	if (dirfd >= 0)
		close(dirfd);
	return r;
}

static int xt_apply_nft(const struct vp_ruleset *rs, const struct vp_fw_opts *o)
{
	return xt_apply_recorded(&tools_nft, rs, o);
}

static int xt_apply_legacy(const struct vp_ruleset *rs, const struct vp_fw_opts *o)
{
	return xt_apply(&tools_legacy, NULL, rs, o);
}

const struct vp_backend vp_backend_xt = {.name = "iptables-nft", .apply = xt_apply_nft};
const struct vp_backend vp_backend_xt_legacy = {.name = "iptables-legacy",
                                                .apply = xt_apply_legacy};
