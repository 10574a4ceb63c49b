/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The iptables-legacy backend through libiptc/libip6tc: every libiptc call stays in this file;
 * the entries themselves are built and compared in xt-entry.c. libiptc snapshots a whole table
 * and writes it back, so the whole read-modify-write of every table runs under the xtables
 * lock (netfilter.md, trap 3). */
#include "fw.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "dl-iptc.h"
#include "lock.h"
#include "log.h"
#include "render-xt.h"
#include "state.h"
#include "xt-entry.h"

#define LOCK_WAIT_DEFAULT_MS 5000u
#define TABLE_NAMES_MAX 4096u

/* Counts table commits, so tests can check that a second identical apply writes nothing. */
unsigned vp_iptc_commits(void);
static unsigned n_commits;

unsigned vp_iptc_commits(void)
{
	return n_commits;
}

/* ---- one family: libiptc or libip6tc behind the same calls ---------------------------------- */

struct iptc_fam {
	int af;
	const char *name;                  /* for messages */
	const char *names_path;            /* tables the kernel has instantiated */
	struct xtc_handle *(*init)(const char *table);
	void (*free)(struct xtc_handle *h);
	int (*commit)(struct xtc_handle *h);
	int (*is_chain)(const char *chain, struct xtc_handle *h);
	int (*create_chain)(const char *chain, struct xtc_handle *h);
	int (*delete_chain)(const char *chain, struct xtc_handle *h);
	int (*get_references)(unsigned *ref, const char *chain, struct xtc_handle *h);
	const void *(*first_rule)(const char *chain, struct xtc_handle *h);
	const void *(*next_rule)(const void *prev, struct xtc_handle *h);
	const char *(*get_target)(const void *e, struct xtc_handle *h);
	int (*insert)(const char *chain, const void *e, unsigned num, struct xtc_handle *h);
	int (*append)(const char *chain, const void *e, struct xtc_handle *h);
	int (*delete_num)(const char *chain, unsigned num, struct xtc_handle *h);
	const char *(*strerror)(int err);
};

/* libiptc and libip6tc have the same API over different entry types; these wrappers give both
 * one signature so the logic below exists once. */
#define FAM_WRAPPERS(P, E)                                                                        \
	static struct xtc_handle *P##_w_init(const char *t) { return sym_##P##_init(t); }         \
	static void P##_w_free(struct xtc_handle *h) { sym_##P##_free(h); }                       \
	static int P##_w_commit(struct xtc_handle *h) { return sym_##P##_commit(h); }             \
	static int P##_w_is_chain(const char *c, struct xtc_handle *h)                            \
	{ return sym_##P##_is_chain(c, h); }                                                      \
	static int P##_w_create_chain(const char *c, struct xtc_handle *h)                        \
	{ return sym_##P##_create_chain(c, h); }                                                  \
	static int P##_w_delete_chain(const char *c, struct xtc_handle *h)                        \
	{ return sym_##P##_delete_chain(c, h); }                                                  \
	static int P##_w_get_references(unsigned *r, const char *c, struct xtc_handle *h)         \
	{ return sym_##P##_get_references(r, c, h); }                                             \
	static const void *P##_w_first_rule(const char *c, struct xtc_handle *h)                  \
	{ return sym_##P##_first_rule(c, h); }                                                    \
	static const void *P##_w_next_rule(const void *e, struct xtc_handle *h)                   \
	{ return sym_##P##_next_rule((const struct E *)e, h); }                                   \
	static const char *P##_w_get_target(const void *e, struct xtc_handle *h)                  \
	{ return sym_##P##_get_target((const struct E *)e, h); }                                  \
	static int P##_w_insert(const char *c, const void *e, unsigned n, struct xtc_handle *h)   \
	{ return sym_##P##_insert_entry(c, (const struct E *)e, n, h); }                          \
	static int P##_w_append(const char *c, const void *e, struct xtc_handle *h)               \
	{ return sym_##P##_append_entry(c, (const struct E *)e, h); }                             \
	static int P##_w_delete_num(const char *c, unsigned n, struct xtc_handle *h)              \
	{ return sym_##P##_delete_num_entry(c, n, h); }                                           \
	static const char *P##_w_strerror(int err) { return sym_##P##_strerror(err); }

FAM_WRAPPERS(iptc, ipt_entry)
FAM_WRAPPERS(ip6tc, ip6t_entry)

#define FAM_OPS(P)                                                                                \
	.init = P##_w_init, .free = P##_w_free, .commit = P##_w_commit,                           \
	.is_chain = P##_w_is_chain, .create_chain = P##_w_create_chain,                           \
	.delete_chain = P##_w_delete_chain, .get_references = P##_w_get_references,               \
	.first_rule = P##_w_first_rule, .next_rule = P##_w_next_rule,                             \
	.get_target = P##_w_get_target, .insert = P##_w_insert, .append = P##_w_append,           \
	.delete_num = P##_w_delete_num, .strerror = P##_w_strerror

static const struct iptc_fam fams[] = {
	{.af = AF_INET, .name = "IPv4", .names_path = "/proc/net/ip_tables_names", FAM_OPS(iptc)},
	{.af = AF_INET6, .name = "IPv6", .names_path = "/proc/net/ip6_tables_names",
	 FAM_OPS(ip6tc)},
};

struct xlist {
	struct vp_xent *e;
	size_t n;
};

struct idxv {
	unsigned *v;
	size_t n, cap;
};

static int idxv_push(struct idxv *iv, unsigned i)
{
	if (vp_grow(&iv->v, &iv->cap, iv->n + 1, sizeof(*iv->v)) < 0)
		return -ENOMEM;
	iv->v[iv->n++] = i;
	return 0;
}

/* Whether the kernel has instantiated this table. Reading a legacy table through libiptc
 * creates it, which makes iptables-nft warn about legacy tables on an nft host: a table that
 * does not exist cannot hold rules of ours, so it is left alone. */
static bool table_listed(const struct iptc_fam *f, const char *table)
{
	char *buf = NULL;
	size_t len, tl = strlen(table);
	bool found = false;

	if (vp_read_file(f->names_path, TABLE_NAMES_MAX, false, &buf, &len) < 0)
		return false;
	for (char *line = buf; line && *line && !found;) {
		char *nl = strchr(line, '\n');
		size_t n = nl ? (size_t)(nl - line) : strlen(line);
		found = n == tl && !memcmp(line, table, tl);
		line = nl ? nl + 1 : NULL;
	}
	free(buf);
	return found;
}

/* Read-only, no lock: libiptc reads a consistent snapshot of the table in one get; a table the
 * kernel has not instantiated is not created to find out. */
static bool has_chain(const char *table, const char *chain)
{
	struct xtc_handle *h;
	bool found;

	if (!table_listed(&fams[0], table) || vp_dl_iptc() < 0)
		return false;
	h = sym_iptc_init(table);
	if (!h)
		return false;
	found = sym_iptc_is_chain(chain, h);
	sym_iptc_free(h);
	return found;
}

/* ---- changing a table ---------------------------------------------------------------------- */

/* Where our chains hang. */
static const struct hook {
	const char *table, *builtin, *chain;
} hooks[] = {
	{"filter", "FORWARD", VP_CHAIN_FWD},
	{"nat", "PREROUTING", VP_CHAIN_PRE},
	{"nat", "OUTPUT", VP_CHAIN_OUT},
	{"nat", "POSTROUTING", VP_CHAIN_POST},
};

/* One apply: the entries to install and the first failure, logged once at the end. */
struct run {
	const char *owner;
	struct xlist want[VP_ARRAY_SIZE(fams)][VP_ARRAY_SIZE(hooks)];
	char err[320];
};

static int fail(struct run *r, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(struct run *r, int err, const char *fmt, ...)
{
	va_list ap;

	if (!r->err[0]) {
		va_start(ap, fmt);
		vsnprintf(r->err, sizeof(r->err), fmt, ap);
		va_end(ap);
	}
	return err;
}

/* libiptc reports failures through errno; 0 means a library/kernel version mismatch. */
static int iptc_err(void)
{
	return errno > 0 ? -errno : -EPROTO;
}

/* Indexes of the owner's entries in `chain`, how many others there are, and whether the
 * owner's entries already are exactly `want`, in order. */
static int owned_scan(const struct iptc_fam *f, struct xtc_handle *h, const char *chain,
                      const struct xlist *want, const char *owner, struct idxv *own,
                      size_t *others, bool *same)
{
	unsigned i = 0;

	*same = true;
	for (const void *e = f->first_rule(chain, h); e; e = f->next_rule(e, h), i++) {
		if (!vp_xent_has_comment(f->af, e, owner)) {
			(*others)++;
			continue;
		}
		if (own->n >= want->n || !vp_xent_equal(f->af, e, f->get_target(e, h), &want->e[own->n]))
			*same = false;
		if (idxv_push(own, i) < 0)
			return -ENOMEM;
	}
	if (own->n != want->n)
		*same = false;
	return 0;
}

static int rules_rewrite(const struct iptc_fam *f, struct xtc_handle *h, const char *chain,
                         const struct idxv *own, const struct xlist *want)
{
	/* Backwards, so the indexes still to delete stay valid. libiptc numbers rules from 0. */
	for (size_t k = own->n; k-- > 0;)
		if (!f->delete_num(chain, own->v[k], h))
			return iptc_err();
	for (size_t k = 0; k < want->n; k++)
		if (!f->append(chain, want->e[k].b, h))
			return iptc_err();
	return 0;
}

/* Make the owner's entries in `chain` exactly `want`; count what is left in the chain. */
static int rules_sync(const struct iptc_fam *f, struct xtc_handle *h, const char *chain,
                      const struct xlist *want, struct run *r, size_t *ret_left, bool *changed)
{
	struct idxv own = {0};
	size_t others = 0;
	bool same;
	int ret;

	ret = owned_scan(f, h, chain, want, r->owner, &own, &others, &same);
	if (ret < 0) {
		fail(r, ret, "%s: out of memory reading chain %s", f->name, chain);
		goto out;
	}
	if (!same) {
		ret = rules_rewrite(f, h, chain, &own, want);
		if (ret < 0) {
			fail(r, ret, "%s: cannot update chain %s: %s", f->name, chain, f->strerror(-ret));
			goto out;
		}
		*changed = true;
	}
	*ret_left = others + want->n;
out:
	free(own.v);
	return ret;
}

/* Keep exactly one jump of ours to hk->chain, at position 1 of the built-in chain, when
 * `present`; none otherwise. libvirt inserts its own jumps at the top when they are missing,
 * so ours must be re-asserted there, above them. */
static int jump_sync(const struct iptc_fam *f, struct xtc_handle *h, const struct hook *hk,
                     bool present, struct run *r, bool *changed)
{
	struct vp_xent x;
	struct idxv ours = {0};
	bool first_ok = false;
	unsigned i = 0;
	int ret;

	ret = vp_xent_jump(f->af, hk->builtin, hk->chain, &x);
	if (ret < 0)
		return fail(r, ret, "%s: cannot build the jump to %s", f->name, hk->chain);
	for (const void *e = f->first_rule(hk->builtin, h); e; e = f->next_rule(e, h), i++) {
		if (strcmp(f->get_target(e, h), hk->chain) || !vp_xent_has_comment(f->af, e, VP_TAG))
			continue;
		first_ok |= i == 0 && vp_xent_equal(f->af, e, f->get_target(e, h), &x);
		ret = idxv_push(&ours, i);
		if (ret < 0) {
			fail(r, ret, "%s: out of memory reading chain %s", f->name, hk->builtin);
			goto out;
		}
	}
	if (present ? first_ok && ours.n == 1 : ours.n == 0)
		goto out;
	for (size_t k = ours.n; k-- > 0 && ret == 0;)
		if (!f->delete_num(hk->builtin, ours.v[k], h))
			ret = iptc_err();
	if (ret == 0 && present && !f->insert(hk->builtin, x.b, 0, h))
		ret = iptc_err();
	if (ret < 0)
		fail(r, ret, "%s: cannot set the jump %s -> %s: %s", f->name, hk->builtin, hk->chain,
		     f->strerror(-ret));
	*changed = true;
out:
	free(ours.v);
	return ret;
}

/* Our chain is empty and no jump of ours leads to it: delete it, unless someone else jumps
 * to it (deleting would fail, and their rule is not ours to remove). */
static int chain_drop(const struct iptc_fam *f, struct xtc_handle *h, const char *chain,
                      struct run *r, bool *changed)
{
	unsigned refs = 0;

	if (!f->get_references(&refs, chain, h) || refs > 0)
		return 0;
	if (!f->delete_chain(chain, h)) {
		int ret = iptc_err();
		return fail(r, ret, "%s: cannot delete chain %s: %s", f->name, chain, f->strerror(-ret));
	}
	*changed = true;
	return 0;
}

static int chain_sync(const struct iptc_fam *f, struct xtc_handle *h, const struct hook *hk,
                      const struct xlist *want, struct run *r, bool *changed)
{
	size_t left = 0;
	int ret;

	if (!f->is_chain(hk->chain, h)) {
		if (want->n == 0)
			return 0;
		if (!f->create_chain(hk->chain, h)) {
			ret = iptc_err();
			return fail(r, ret, "%s: cannot create chain %s: %s", f->name, hk->chain,
			            f->strerror(-ret));
		}
		*changed = true;
	}
	ret = rules_sync(f, h, hk->chain, want, r, &left, changed);
	if (ret == 0)
		ret = jump_sync(f, h, hk, left > 0, r, changed);
	if (ret == 0 && left == 0)
		ret = chain_drop(f, h, hk->chain, r, changed);
	return ret;
}

/* One table of one family: read it, change it, commit it only if something changed. */
static int table_apply(size_t fi, const char *table, struct run *r)
{
	const struct iptc_fam *f = &fams[fi];
	struct xtc_handle *h;
	bool any = false, changed = false;
	int ret = 0;

	for (size_t k = 0; k < VP_ARRAY_SIZE(hooks); k++)
		any |= !strcmp(hooks[k].table, table) && r->want[fi][k].n > 0;
	if (!any && !table_listed(f, table))
		return 0;
	h = f->init(table);
	if (!h) {
		ret = iptc_err();
		/* Trap 7: a kernel without the legacy xtables ABI fails here. */
		return fail(r, ret, "%s: cannot read the legacy %s table: %s", f->name, table,
		            f->strerror(-ret));
	}
	for (size_t k = 0; k < VP_ARRAY_SIZE(hooks) && ret == 0; k++)
		if (!strcmp(hooks[k].table, table))
			ret = chain_sync(f, h, &hooks[k], &r->want[fi][k], r, &changed);
	if (ret == 0 && changed) {
		if (f->commit(h)) {
			n_commits++;
		} else {
			ret = iptc_err();
			fail(r, ret, "%s: cannot commit the %s table: %s", f->name, table,
			     f->strerror(-ret));
		}
	}
	f->free(h);
	return ret;
}

static bool family_wanted(const struct run *r, size_t fi, unsigned families)
{
	static const unsigned bits[] = {VP_FAM_V4, VP_FAM_V6};

	if (families == 0 || (families & bits[fi]))
		return true;
	for (size_t k = 0; k < VP_ARRAY_SIZE(hooks); k++)
		if (r->want[fi][k].n > 0)
			return true;
	return false;
}

/* Installing: filter before nat, so a failure in between leaves an accept without its DNAT.
 * Removing: nat before filter, for the same reason. Either half state forwards nothing. */
static int apply_all(struct run *r, unsigned families, bool install)
{
	static const char *const order[2][2] = {{"nat", "filter"}, {"filter", "nat"}};
	int ret = 0;

	for (size_t fi = 0; fi < VP_ARRAY_SIZE(fams) && ret == 0; fi++) {
		if (!family_wanted(r, fi, families))
			continue;
		for (size_t t = 0; t < 2 && ret == 0; t++)
			ret = table_apply(fi, order[install][t], r);
	}
	return ret;
}

/* ---- the backend ----------------------------------------------------------------------------- */

static void plan_free(struct run *r)
{
	for (size_t fi = 0; fi < VP_ARRAY_SIZE(fams); fi++)
		for (size_t k = 0; k < VP_ARRAY_SIZE(hooks); k++) {
			free(r->want[fi][k].e);
			r->want[fi][k] = (struct xlist){0};
		}
}

static bool rule_in(const struct vp_rule *r, size_t fi, size_t k)
{
	return r->family == fams[fi].af && !strcmp(vp_stage_chain(r->stage), hooks[k].chain);
}

/* The entries for family fi, hook k, in ruleset order (the order they will have in the chain). */
static int plan_list(const struct vp_ruleset *rs, size_t fi, size_t k, struct xlist *l)
{
	size_t n = 0;
	int ret;

	for (size_t i = 0; i < rs->n; i++)
		n += rule_in(&rs->r[i], fi, k);
	if (n == 0)
		return 0;
	l->e = calloc(n, sizeof(*l->e));
	if (!l->e)
		return -ENOMEM;
	for (size_t i = 0; i < rs->n; i++) {
		if (!rule_in(&rs->r[i], fi, k))
			continue;
		ret = vp_xent_rule(&rs->r[i], rs->owner, &l->e[l->n]);
		if (ret < 0)
			return ret;
		l->n++;
	}
	return 0;
}

/* Every entry is built before the lock is taken: a bad rule changes nothing. */
static int plan_build(const struct vp_ruleset *rs, struct run *r)
{
	int ret = 0;

	if (strncmp(rs->owner, VP_OWNER_PREFIX, strlen(VP_OWNER_PREFIX)))
		return fail(r, -EINVAL, "invalid owner tag '%s'", rs->owner);
	for (size_t i = 0; i < rs->n; i++)
		if (vp_xent_check(&rs->r[i]) < 0)
			return fail(r, -EINVAL, "rule %zu is invalid", i + 1);
	for (size_t fi = 0; fi < VP_ARRAY_SIZE(fams) && ret == 0; fi++)
		for (size_t k = 0; k < VP_ARRAY_SIZE(hooks) && ret == 0; k++)
			ret = plan_list(rs, fi, k, &r->want[fi][k]);
	return ret < 0 ? fail(r, ret, "cannot build the rules: %s", strerror(-ret)) : 0;
}

/* The xtables lock: iptables-legacy takes it around its read-modify-write, and libiptc
 * rewrites whole tables, so without it concurrent changes are lost (netfilter.md, trap 3). */
static int lock_take(unsigned wait_ms, struct run *r, int *ret_fd)
{
	const char *path = getenv("XTABLES_LOCKFILE");
	int fd, ret;

	if (!path || !*path)
		path = "/run/xtables.lock";
	fd = open(path, O_RDONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return fail(r, -errno, "cannot open the xtables lock %s: %s", path, strerror(errno));
	ret = vp_flock_wait(fd, wait_ms);
	if (ret == -ETIMEDOUT)
		fail(r, ret, "the xtables lock %s is still held by another process after %u ms",
		     path, wait_ms);
	else if (ret < 0)
		fail(r, ret, "cannot lock %s: %s", path, strerror(-ret));
	if (ret < 0)
		close(fd);
	else
		*ret_fd = fd;
	return ret;
}

static int iptc_apply(const struct vp_ruleset *rs, const struct vp_fw_opts *o,
                      const struct vp_record *prev, struct vp_record *next)
{
	struct run r = {.owner = rs->owner};
	unsigned wait_ms = o && o->lock_wait_ms ? o->lock_wait_ms : LOCK_WAIT_DEFAULT_MS;
	int fd = -1, ret = vp_dl_iptc();

	(void)prev;   /* libiptc reads the whole table anyway: no record */
	(void)next;
	if (ret < 0)
		return ret;   /* libiptc unavailable (logged): nothing touched */
	ret = plan_build(rs, &r);
	if (ret < 0)
		goto out;
	ret = lock_take(vp_wait_ms(o ? o->deadline : 0, wait_ms), &r, &fd);
	if (ret < 0)
		goto out;
	ret = apply_all(&r, o ? o->families : 0, rs->n > 0);
	if (ret < 0 && rs->n > 0) {
		/* All or nothing: remove whatever of this owner is in, in every family. */
		plan_free(&r);
		size_t l = strlen(r.err);
		snprintf(r.err + l, sizeof(r.err) - l, apply_all(&r, 0, false) < 0 ?
		         "; rollback failed too, rules may be left: run 'virt-portfwd flush'" :
		         "; the rules of this guest were removed");
	}
out:
	if (fd >= 0)
		close(fd);
	plan_free(&r);
	if (ret < 0)
		vp_log(LOG_ERR, "iptables-legacy: cannot apply the rules of %s: %s", rs->owner, r.err);
	return ret;
}

/* The comment of each rule in our chains of one table: its owner tag. */
static int table_owners(const struct iptc_fam *f, const char *table,
                        int (*fn)(const char *owner, void *data), void *data)
{
	struct xtc_handle *h;
	char tag[VP_OWNER_MAX];
	int r = 0;

	if (!table_listed(f, table))
		return 0;   /* not instantiated: nothing of ours, and not to be created by looking */
	h = f->init(table);
	if (!h)
		return iptc_err();
	for (size_t k = 0; k < VP_ARRAY_SIZE(hooks) && r == 0; k++) {
		if (strcmp(hooks[k].table, table) || !f->is_chain(hooks[k].chain, h))
			continue;
		for (const void *e = f->first_rule(hooks[k].chain, h); e && r == 0;
		     e = f->next_rule(e, h)) {
			vp_xent_comment(f->af, e, tag, sizeof(tag));
			r = tag[0] ? fn(tag, data) : 0;
		}
	}
	f->free(h);
	return r;
}

/* Every rule in our chains, both families: read-only, one atomic get per table. */
static int iptc_owners(int (*fn)(const char *owner, void *data), void *data)
{
	int r = vp_dl_iptc();

	for (size_t fi = 0; fi < VP_ARRAY_SIZE(fams) && r == 0; fi++)
		for (size_t t = 0; t < 2 && r == 0; t++)
			r = table_owners(&fams[fi], t ? "nat" : "filter", fn, data);
	return r;
}

/* libvirt's chain in the legacy tables: in process, one atomic get, no xtables lock. */
static bool iptc_probe(const struct vp_network *net, long long deadline, char *why,
                       size_t whysz)
{
	(void)deadline;
	(void)net;
	if (!has_chain("filter", VP_LIBVIRT_CHAIN))
		return false;
	snprintf(why, whysz, "libvirt's " VP_LIBVIRT_CHAIN " is in the legacy iptables tables");
	return true;
}

const struct vp_backend vp_backend_iptc = {.name = "iptables-legacy", .load = vp_dl_iptc,
                                           .place = VP_XT_LEGACY_PLACE,
                                           .tool = {"iptables-legacy", "ip6tables-legacy"},
                                           .probe = iptc_probe, .render = vp_render_xt,
                                           .list = vp_xt_legacy_list, .where = vp_xt_where,
                                           .apply = iptc_apply, .owners = iptc_owners};
