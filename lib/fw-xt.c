/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The iptables-nft backend: read our chains with iptables-nft-save, write one
 * iptables-nft-restore --noflush batch. Exec with a fixed argv, rules on stdin, never a shell.
 * iptables-nft writes nf_tables with xt-compat expressions that iptables and libvirt can read
 * back (netfilter.md trap 2: never write native nft expressions into iptables-nft's tables).
 * The same code drives iptables-legacy-restore when libiptc is not built in. fw-xt-rec.c: the
 * iptables-nft record of handles, which spares most changes the reading. */
#include "fw-xt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "render-xt.h"
#include "run.h"
#include "util.h"

const struct xt_tools vp_xt_tools_nft = {
	"iptables-nft",
	{"iptables-nft-save", "ip6tables-nft-save"},
	{"iptables-nft-restore", "ip6tables-nft-restore"},
	false,
};
const struct xt_tools vp_xt_tools_legacy = {
	"iptables-legacy",
	{"iptables-legacy-save", "ip6tables-legacy-save"},
	{"iptables-legacy-restore", "ip6tables-legacy-restore"},
	true,
};

const struct chain_def vp_xt_chains[N_CHAINS] = {
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

/* What the ruleset shows of one of our chains. Strings point into the save buffer. */
struct chain_view {
	bool exists;
	bool jump_first;       /* the built-in's first rule is our canonical jump */
	size_t n_other;        /* rules of other owners in our chain */
	const char **mine;     /* this owner's rule specs, in order */
	size_t n_mine;
	const char **jumps;    /* built-in rules jumping to our chain */
	size_t n_jumps;
	size_t cap[2];         /* allocated: of mine, of jumps */
	bool builtin_seen;
};

static int push(const char ***arr, size_t *n, size_t *cap, const char *s)
{
	if (vp_grow(arr, cap, *n + 1, sizeof(**arr)) < 0)
		return -ENOMEM;
	(*arr)[(*n)++] = s;
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

static int see_rule(struct chain_view *v, const char *table, const char *chain, const char *spec,
                    const char *owner, int fi)
{
	for (size_t i = 0; i < N_CHAINS; i++) {
		if (strcmp(table, vp_xt_chains[i].table) != 0)
			continue;
		if (strcmp(chain, vp_xt_chains[i].chain) == 0) {
			if (owned_by(spec, owner))
				return push(&v[i].mine, &v[i].n_mine, &v[i].cap[0], spec);
			v[i].n_other++;
		} else if (strcmp(chain, vp_xt_chains[i].builtin) == 0) {
			if (!v[i].builtin_seen)
				v[i].jump_first = strcmp(spec, vp_xt_chains[i].jump[fi]) == 0;
			v[i].builtin_seen = true;
			if (ends_with_jump(spec, vp_xt_chains[i].chain))
				return push(&v[i].jumps, &v[i].n_jumps, &v[i].cap[1], spec);
		}
	}
	return 0;
}

/* What the listing of iptables-save shows of our chains, for this owner. */
static int view_of(const struct vp_listing *ls, const char *owner, int fi, struct chain_view *v)
{
	int r = 0;

	for (size_t i = 0; i < ls->n_c; i++)
		for (size_t k = 0; k < N_CHAINS; k++)
			v[k].exists |= !strcmp(ls->c[i].table, vp_xt_chains[k].table) &&
			               !strcmp(ls->c[i].name, vp_xt_chains[k].chain);
	for (size_t i = 0; r == 0 && i < ls->n; i++)
		r = see_rule(v, ls->l[i].table, ls->l[i].chain, ls->l[i].spec, owner, fi);
	return r;
}

size_t vp_xt_chain_index(const char *chain)
{
	for (size_t i = 0; i < N_CHAINS; i++)
		if (!strcmp(vp_xt_chains[i].chain, chain))
			return i;
	return N_CHAINS;
}

void vp_xt_wanted_free(struct xt_wanted *w)
{
	for (size_t i = 0; i < N_CHAINS; i++) {
		for (size_t j = 0; j < w->n[i]; j++)
			free(w->s[i][j]);
		free(w->s[i]);
	}
	*w = (struct xt_wanted){0};
}

int vp_xt_wanted_build(const struct vp_ruleset *rs, int family, struct xt_wanted *w)
{
	for (size_t k = 0; k < rs->n; k++) {
		const struct vp_rule *r = &rs->r[k];
		struct vp_buf b = {0};
		size_t i = vp_xt_chain_index(vp_stage_chain(r->stage));

		if (r->family != family)
			continue;
		vp_render_xt_rule(r, rs->owner, &b);
		if (b.err || !b.s || vp_grow(&w->s[i], &w->cap[i], w->n[i] + 1, sizeof(*w->s[i])) < 0) {
			vp_buf_free(&b);
			return -ENOMEM;
		}
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
static void batch_table(const char *table, const struct chain_view *v, const struct xt_wanted *w,
                        int fi, struct vp_buf *out)
{
	struct vp_buf b = {0};
	bool changed = false;

	for (size_t i = 0; i < N_CHAINS; i++)
		if (!strcmp(vp_xt_chains[i].table, table))
			changed |= batch_chain(&vp_xt_chains[i], &v[i], w->s[i], w->n[i], fi, &b);
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

/* Our lock to hand down to a program, -1 for none. */
static int hold_fd(const struct vp_fw_opts *o)
{
	return o->hold_fd > 0 ? o->hold_fd : -1;
}

static int xt_save(const struct xt_tools *t, int fi, struct vp_buf *out,
                   const struct vp_fw_opts *o)
{
	const char *argv[] = {t->save[fi], NULL};
	struct vp_buf err = {0};
	int r = vp_spawn(argv, NULL, 0, out, VP_SPAWN_OUT_MAX, &err, hold_fd(o), o->deadline);

	if (r != 0)
		log_tool_failure(t->save[fi], r, &err, NULL);
	vp_buf_free(&err);
	return r == 0 ? 0 : r < 0 ? r : -EIO;
}

int vp_xt_restore(const struct xt_tools *t, int fi, const struct vp_buf *batch,
                  const struct vp_fw_opts *o)
{
	unsigned wait_ms = vp_wait_ms(o->deadline, o->lock_wait_ms ? o->lock_wait_ms :
	                                                           LOCK_WAIT_DEFAULT_MS);
	char wait[32] = "-w";
	const char *argv[] = {t->restore[fi], wait, "--noflush", NULL};
	struct vp_buf err = {0};
	int r;

	/* A bare -w waits for the xtables lock without end: bound it as libiptc's wait is bound
	 * (iptables-nft takes no lock and ignores -w). */
	if (t->locks)
		snprintf(wait, sizeof(wait), "--wait=%u", (wait_ms + 999) / 1000);
	r = vp_spawn(argv, batch->s, batch->len, NULL, 0, &err, hold_fd(o), o->deadline);

	if (r != 0)
		log_tool_failure(t->restore[fi], r, &err, batch->s);
	vp_buf_free(&err);
	return r == 0 ? 0 : r < 0 ? r : -EIO;
}

/* Bring one family's tables to the wanted state. */
static int xt_apply_family(const struct xt_tools *t, const struct vp_ruleset *rs, int family,
                           const struct vp_fw_opts *o)
{
	int fi = family == AF_INET6;
	struct chain_view v[N_CHAINS] = {{0}};
	struct xt_wanted w = {0};
	struct vp_buf save = {0}, batch = {0};
	struct vp_listing ls = {0};
	bool install = false;
	int r;

	r = vp_xt_wanted_build(rs, family, &w);
	if (r < 0)
		goto out;
	vp_log(LOG_DEBUG, "%s: reading the ruleset for %s", t->save[fi], rs->owner);
	r = xt_save(t, fi, &save, o);
	if (r < 0)
		goto out;
	ls.text = save.s;   /* the listing's now */
	save = (struct vp_buf){0};
	r = ls.text ? vp_listing_parse_xt(&ls) : 0;
	if (r == 0)
		r = view_of(&ls, rs->owner, fi, v);
	if (r < 0)
		goto out;
	for (size_t i = 0; i < N_CHAINS; i++)
		install |= w.n[i] > 0;
	/* Install: filter first (an accept without its DNAT is harmless); removal: nat first. */
	batch_table(install ? "filter" : "nat", v, &w, fi, &batch);
	batch_table(install ? "nat" : "filter", v, &w, fi, &batch);
	r = batch.err;
	if (r == 0 && batch.len)
		r = vp_xt_restore(t, fi, &batch, o);
out:
	views_free(v);
	vp_xt_wanted_free(&w);
	vp_listing_free(&ls);
	vp_buf_free(&save);
	vp_buf_free(&batch);
	return r;
}

/* ---- both tools ----------------------------------------------------------------------------- */

static bool has_family(const struct vp_ruleset *rs, int family)
{
	for (size_t i = 0; i < rs->n; i++)
		if (rs->r[i].family == family)
			return true;
	return false;
}

int vp_xt_apply(const struct xt_tools *t, const struct vp_xt_shortcut *sc,
                const struct vp_ruleset *rs, const struct vp_fw_opts *o)
{
	static const int fams[] = {AF_INET, AF_INET6};
	static const unsigned bits[] = {VP_FAM_V4, VP_FAM_V6};
	int r = 0;

	for (size_t i = 0; i < 2; i++) {
		if (o->families && !(o->families & bits[i]) && !has_family(rs, fams[i]))
			continue;
		r = sc ? sc->family(sc->ctx, rs, (int)i, o) : -ESTALE;
		if (r == -ESTALE)
			r = xt_apply_family(t, rs, fams[i], o);
		if (r < 0)
			break;
	}
	if (r < 0 && rs->n) {
		/* Nothing half-working: drop whatever of this owner made it in. */
		struct vp_ruleset none = *rs;
		struct vp_fw_opts all = *o;
		none.n = 0;
		all.families = 0;
		all.deadline = o->rollback_deadline;
		if (vp_xt_apply(t, NULL, &none, &all) < 0)
			vp_log(LOG_ERR, "rollback of %s failed: rules may be left, run 'virt-portfwd flush'",
			       rs->owner);
	}
	return r;
}

static int xt_apply_legacy(const struct vp_ruleset *rs, const struct vp_fw_opts *o,
                           const struct vp_record *prev, struct vp_record *next)
{
	(void)prev;
	(void)next;
	return vp_xt_apply(&vp_xt_tools_legacy, NULL, rs, o);
}

/* libvirt's chain in the legacy tables. Never instantiate a legacy table to find out: a table
 * not listed in /proc/net/ip_tables_names does not exist in this namespace. */
static bool xt_legacy_probe(const struct vp_network *net, long long deadline, char *why,
                            size_t whysz)
{
	char *names = NULL;
	size_t len;
	bool found;

	(void)net;
	if (vp_read_file("/proc/net/ip_tables_names", 4096, false, &names, &len) < 0)
		return false;
	found = strstr(names, "filter\n") == names || strstr(names, "\nfilter\n");
	free(names);
	if (!found)
		return false;
	/* iptables-legacy-save, not `iptables-legacy -w -S`: reading a table is one atomic get
	 * and the save tool takes no xtables lock, so a process holding that lock cannot stall
	 * detection (-w would wait for it without bound); the write that follows waits a
	 * bounded time. */
	struct vp_listing ls = {0};
	found = vp_listing_xt_save(&ls, "iptables-legacy-save", "filter", -1, deadline) == 0 &&
	        vp_listing_has_chain(&ls, "filter", VP_LIBVIRT_CHAIN);
	vp_listing_free(&ls);
	if (found)
		snprintf(why, whysz, "libvirt's " VP_LIBVIRT_CHAIN " is in the legacy iptables tables");
	return found;
}

/* ---- the normalised listing ------------------------------------------------------------------ */

int vp_xt_nft_list(int family, struct vp_listing *out)
{
	return vp_listing_xt_save(out, vp_xt_tools_nft.save[family == AF_INET6], NULL, -1, 0);
}

/* Whether the namespace has any legacy table of this family. Listing them never creates one,
 * but a host without them needs no listing at all. */
static bool legacy_tables(int fi)
{
	const char *path = fi ? "/proc/net/ip6_tables_names" : "/proc/net/ip_tables_names";
	char *names = NULL;
	size_t len;
	bool any;

	if (vp_read_file(path, 4096, false, &names, &len) < 0)
		return false;
	any = len > 0;
	free(names);
	return any;
}

int vp_xt_legacy_list(int family, struct vp_listing *out)
{
	int fi = family == AF_INET6;

	out->loaded = true;
	if (!legacy_tables(fi))
		return out->r = 0;
	return vp_listing_xt_save(out, vp_xt_tools_legacy.save[fi], NULL, -1, 0);
}

int vp_xt_where(const struct vp_rule *r, const char *owner, struct vp_where *ret)
{
	struct vp_buf spec = {0};

	vp_render_xt_rule(r, owner, &spec);
	if (spec.err || !spec.s) {
		vp_buf_free(&spec);
		return -ENOMEM;
	}
	*ret = (struct vp_where){vp_stage_table(r->stage), vp_stage_chain(r->stage), spec.s};
	return 0;
}

const struct vp_backend vp_backend_xt_legacy = {.name = "iptables-legacy",
                                                .place = VP_XT_LEGACY_PLACE,
                                                .tool = {"iptables-legacy", "ip6tables-legacy"},
                                                .probe = xt_legacy_probe,
                                                .render = vp_render_xt,
                                                .list = vp_xt_legacy_list,
                                                .where = vp_xt_where,
                                                .apply = xt_apply_legacy};
