/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The nftables backend without reading: listing a table costs time in proportion to every
 * guest's rules, so a guest's own change should not. Our record ("rules" in our state, state.h)
 * holds the handle of each rule of the owner and the handle of each table they are in; the
 * kernel answers questions about one named table or chain (nfnl.h) without listing anything.
 * Whatever does not match the record falls back to reading (fw-nft.c). */
#include "fw-nft.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fw-nft-nb.h"
#include "log.h"
#include "nfnl.h"

/* The record: one line per rule, "<family> <table> <chain> <handle>", and one per table they are
 * in, "table <family> <table> <handle>" (nfnl.h: while a table's handle is the same, the rule
 * handles recorded in it name those rules or nothing). */

struct rec_ent {
	size_t fam;             /* index in fams */
	enum nchain c;
	uint64_t handle;
};

/* The two tables a rule of ours can be in: ours, and libvirt's (NC_LV). */
#define N_TABLES 2
static size_t table_of(enum nchain c)
{
	return c == NC_LV;
}
static const char *const table_names[N_TABLES] = {OUR_TABLE, LV_TABLE};

struct rec {
	struct rec_ent *e;
	size_t n;
	uint64_t table[N_FAMS][N_TABLES];   /* the tables' handles, 0 where not known */
};

static void rec_free(struct rec *r)
{
	free(r->e);
	*r = (struct rec){0};
}

static int rec_add(struct rec *r, const char *family, const char *table, const char *chain,
                   uint64_t handle)
{
	struct rec_ent e = {.handle = handle};
	struct rec_ent *ne;

	for (e.fam = 0; e.fam < N_FAMS && strcmp(vp_nft_fams[e.fam].name, family); e.fam++)
		;
	for (e.c = 0; e.c < NC_COUNT; e.c++)
		if (!strcmp(vp_nft_chains[e.c].table, table) && !strcmp(vp_nft_chains[e.c].name, chain))
			break;
	if (e.fam == N_FAMS || e.c == NC_COUNT)
		return -EBADMSG;
	ne = realloc(r->e, (r->n + 1) * sizeof(*ne));
	if (!ne)
		return -ENOMEM;
	ne[r->n++] = e;
	r->e = ne;
	return 0;
}

static int rec_table(struct rec *r, const char *family, const char *table, uint64_t handle)
{
	for (size_t fi = 0; fi < N_FAMS; fi++)
		for (size_t ti = 0; ti < N_TABLES; ti++)
			if (!strcmp(vp_nft_fams[fi].name, family) && !strcmp(table_names[ti], table)) {
				r->table[fi][ti] = handle;
				return 0;
			}
	return -EBADMSG;
}

static int rec_parse(char *body, struct rec *ret)
{
	int r = 0;

	for (char *line = body, *next; r == 0 && line && *line; line = next) {
		char *w[4] = {line};
		unsigned long h;
		size_t n = 1;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		for (char *sp = strchr(line, ' '); sp && n < 4; sp = strchr(sp + 1, ' ')) {
			*sp = '\0';
			w[n++] = sp + 1;
		}
		r = n == 4 && vp_parse_uint(w[3], strlen(w[3]), 1, ULONG_MAX, &h) == 0
		    ? !strcmp(w[0], "table") ? rec_table(ret, w[1], w[2], h) : rec_add(ret, w[0], w[1], w[2], h)
		    : -EBADMSG;
	}
	return r;
}

/* The record's text into next; next is left alone when it cannot be written. */
static void rec_format(const struct rec *r, struct vp_record *next)
{
	struct vp_buf b = {0};

	for (size_t fi = 0; fi < N_FAMS; fi++)
		for (size_t ti = 0; ti < N_TABLES; ti++)
			if (r->table[fi][ti])
				vp_buf_printf(&b, "table %s %s %" PRIu64 "\n", vp_nft_fams[fi].name,
				              table_names[ti], r->table[fi][ti]);
	for (size_t i = 0; i < r->n; i++)
		vp_buf_printf(&b, "%s %s %s %" PRIu64 "\n", vp_nft_fams[r->e[i].fam].name,
		              vp_nft_chains[r->e[i].c].table, vp_nft_chains[r->e[i].c].name, r->e[i].handle);
	if (!b.err && (b.s || (b.s = strdup(""))))
		*next = (struct vp_record){.kind = VP_RULES_KNOWN, .body = b.s};
	else
		vp_buf_free(&b);
}

/* The handles of the owner's n rules at the top of chain c of family fi, where the batch put
 * them, into the record. 0, or <0 when they are not all there. */
static int rec_from_head(struct rec *rec, const char *owner, size_t fi, enum nchain c, size_t n)
{
	uint64_t *h = calloc(n, sizeof(*h));
	int r = h ? vp_nfnl_owner_head(vp_nft_fams[fi].af, vp_nft_chains[c].table,
	                               vp_nft_chains[c].name, owner, false, h, n) : -ENOMEM;

	for (size_t j = 0; r == 0 && j < n; j++)
		r = rec_add(rec, vp_nft_fams[fi].name, vp_nft_chains[c].table, vp_nft_chains[c].name,
		            h[j]);
	free(h);
	return r;
}

/* The handles of the owner's rules at the top of their chains, and first those of the tables
 * they are in: found there, the rules are in the tables whose handles were taken (only this
 * process adds rules of this owner, under the lock). A table whose handle the kernel does not
 * tell stays 0: the removal then reads. */
static int rec_from_heads(struct vp_nfnl *q, const struct vp_ruleset *rs, const bool *lv,
                          struct rec *rec)
{
	size_t want[N_FAMS][NC_COUNT] = {{0}};
	unsigned use;
	int r = 0;

	for (size_t fi = 0; fi < N_FAMS; fi++)
		for (size_t i = 0; i < rs->n; i++)
			want[fi][vp_nft_stage_chain(rs->r[i].stage, lv[fi])] +=
				rs->r[i].family == vp_nft_fams[fi].af;
	for (size_t fi = 0; fi < N_FAMS; fi++)
		for (enum nchain c = 0; c < NC_COUNT; c++)
			if (want[fi][c] && !rec->table[fi][table_of(c)] &&
			    vp_nfnl_table_handle(q, vp_nft_fams[fi].af, vp_nft_chains[c].table, &use,
			                        &rec->table[fi][table_of(c)]) < 0)
				rec->table[fi][table_of(c)] = 0;
	for (size_t fi = 0; r == 0 && fi < N_FAMS; fi++)
		for (enum nchain c = 0; r == 0 && c < NC_COUNT; c++)
			if (want[fi][c])
				r = rec_from_head(rec, rs->owner, fi, c, want[fi][c]) < 0 ? -ESTALE : 0;
	return r;
}

/* A guest with no rule anywhere (state.h: "none"): nothing to read but whether libvirt's table
 * is there. One transaction that puts every rule at the top of its chain, where the kernel then
 * tells their handles (nft's own echo would fetch the whole ruleset first). */
static int nft_install_new(struct vp_nfnl *q, const struct vp_ruleset *rs, struct rec *ret)
{
	struct nft_ctx *ctx = NULL;
	struct vp_buf batch = {0};
	const char *out;
	bool lv[N_FAMS] = {false};
	unsigned use;
	int r = vp_nft_ctx_open(&ctx);

	for (size_t i = 0; r == 0 && i < N_FAMS; i++) {
		struct view v = {0};
		struct nft_wanted w = {0};
		if (!vp_nft_has_family(rs, vp_nft_fams[i].af))
			continue;
		v.lv = lv[i] = vp_nfnl_chain_use(q, vp_nft_fams[i].af, LV_TABLE, LV_CHAIN, &use) == 0;
		v.table = vp_nfnl_table(q, vp_nft_fams[i].af, OUR_TABLE, &use) == 0;
		for (size_t c = 0; v.table && c < NC_LV; c++)
			v.chain[c] = vp_nfnl_chain_use(q, vp_nft_fams[i].af, OUR_TABLE, vp_nft_chains[c].name, &use) == 0;
		r = vp_nft_wanted_build(rs, &vp_nft_fams[i], v.lv, &w);
		if (r == 0)
			vp_nft_batch_family(&vp_nft_fams[i], &v, &w, &batch);
		vp_nft_wanted_free(&w);
	}
	if (r == 0)
		r = batch.err;
	/* One transaction, and the guest had nothing before: a failure leaves nothing behind. */
	if (r == 0)
		r = vp_nft_run(ctx, 0, batch.s, &out);
	if (ctx)
		sym_nft_ctx_free(ctx);
	/* In, but not every handle found: the record stays "unknown". */
	if (r == 0 && rec_from_heads(q, rs, lv, ret) < 0)
		rec_free(ret);
	vp_buf_free(&batch);
	return r;
}

/* Whether our table holds nothing but the recorded rules of family fi: then the table goes.
 * The kernel's use counts: a table counts its chains (and sets, ...), a base chain its rules. */
static bool table_only_ours(struct vp_nfnl *q, const struct rec *rec, size_t fi)
{
	unsigned tuse, cuse, chains_seen = 0;

	if (vp_nfnl_table(q, vp_nft_fams[fi].af, OUR_TABLE, &tuse) < 0)
		return false;
	for (enum nchain c = 0; c < NC_LV; c++) {
		size_t mine = 0;
		int r = vp_nfnl_chain_use(q, vp_nft_fams[fi].af, OUR_TABLE, vp_nft_chains[c].name, &cuse);
		if (r == -ENOENT)
			continue;
		for (size_t i = 0; i < rec->n; i++)
			mine += rec->e[i].fam == fi && rec->e[i].c == c;
		if (r < 0 || cuse != mine)
			return false;
		chains_seen++;
	}
	return tuse == chains_seen;
}

/* Whether every table the recorded rules are in is still the one they were recorded in: then
 * each recorded handle names the owner's rule or nothing (nfnl.h). */
static bool tables_same(struct vp_nfnl *q, const struct rec *rec)
{
	bool used[N_FAMS][N_TABLES] = {{false}};
	uint64_t handle;
	unsigned use;

	for (size_t i = 0; i < rec->n; i++)
		used[rec->e[i].fam][table_of(rec->e[i].c)] = true;
	for (size_t fi = 0; fi < N_FAMS; fi++)
		for (size_t ti = 0; ti < N_TABLES; ti++)
			if (used[fi][ti] && (!rec->table[fi][ti] ||
			                     vp_nfnl_table_handle(q, vp_nft_fams[fi].af, table_names[ti],
			                                         &use, &handle) < 0 ||
			                     handle != rec->table[fi][ti]))
				return false;
	return true;
}

/* Remove the recorded rules by handle in one transaction, when the tables they were recorded in
 * are still there (a table made anew numbers its rules from 1 again); our table goes too when
 * nothing else is left in it. -ESTALE when the record is not what is there, a rule of it gone
 * included (nothing was written then); any other error is the transaction's. */
static int nft_remove_known(struct vp_nfnl *q, const struct rec *rec, const char *owner)
{
	struct vp_nfnl_del *del = calloc(rec->n + N_FAMS, sizeof(*del));
	size_t n = 0;
	int r = !del ? -ENOMEM : tables_same(q, rec) ? 0 : -ESTALE;

	for (size_t fi = 0; r == 0 && fi < N_FAMS; fi++) {
		bool drop = table_only_ours(q, rec, fi);
		for (size_t i = 0; i < rec->n; i++)
			if (rec->e[i].fam == fi && !(drop && rec->e[i].c != NC_LV))
				del[n++] = (struct vp_nfnl_del){vp_nft_fams[fi].af,
				                               vp_nft_chains[rec->e[i].c].table,
				                               vp_nft_chains[rec->e[i].c].name,
				                               rec->e[i].handle};
		if (drop)
			del[n++] = (struct vp_nfnl_del){.family = vp_nft_fams[fi].af, .table = OUR_TABLE};
	}
	if (r == 0) {
		/* All or nothing: a recorded rule that is gone (ENOENT) deleted nothing. */
		r = vp_nfnl_delete(q, del, n);
		if (r == -ENOENT)
			r = -ESTALE;
		else if (r < 0)
			vp_log(LOG_ERR, "nftables: deleting the rules of %s failed: %s", owner,
			       strerror(-r));
	}
	free(del);
	return r;
}

/* Whether libvirt's forward chain is there, per family: where the owner's accepts went. */
static const bool *lv_now(struct vp_nfnl *q, bool *lv)
{
	unsigned use;

	for (size_t i = 0; i < N_FAMS; i++)
		lv[i] = vp_nfnl_chain_use(q, vp_nft_fams[i].af, LV_TABLE, LV_CHAIN, &use) == 0;
	return lv;
}

static int nft_apply(const struct vp_ruleset *rs, const struct vp_fw_opts *o,
                     const struct vp_record *prev, struct vp_record *next);

/* The accepts in iptables-nft's FORWARD (fw-nft-nb.h), after ours in libvirt's table. When they
 * cannot be written the forwards would not work: the owner's rules go everywhere (fw.h). */
static int neighbours(struct vp_nfnl *q, const struct vp_ruleset *rs, const struct vp_fw_opts *o)
{
	int r = vp_nft_neighbours(q, rs, o);

	if (r < 0 && rs->n) {
		struct vp_ruleset none = *rs;
		struct vp_fw_opts all = *o;
		struct vp_record unknown = {.kind = VP_RULES_UNKNOWN}, next = unknown;
		none.n = 0;
		all.families = 0;
		if (nft_apply(&none, &all, &unknown, &next) < 0)
			vp_log(LOG_ERR, "rollback of %s failed: rules may be left, run 'virt-portfwd "
			       "flush'", rs->owner);
		vp_record_free(&next);
	}
	return r;
}

static int nft_apply(const struct vp_ruleset *rs, const struct vp_fw_opts *o,
                     const struct vp_record *prev, struct vp_record *next)
{
	struct vp_nfnl q = {.fd = -1};
	struct rec rec = {0};
	bool lv[N_FAMS];
	char *body = prev->kind == VP_RULES_KNOWN ? strdup(prev->body) : NULL;
	int r = vp_dl_nft();

	if (r < 0) {
		free(body);
		return r;   /* libnftables unavailable (logged): nothing touched */
	}
	r = vp_nfnl_open(&q);
	if (r < 0) {
		vp_log(LOG_ERR, "nftables: cannot open a netlink socket: %s", strerror(-r));
		goto out;
	}
	r = -ESTALE;
	if (prev->kind == VP_RULES_NONE && rs->n)
		r = nft_install_new(&q, rs, &rec);
	else if (prev->kind == VP_RULES_KNOWN && !rs->n && body && rec_parse(body, &rec) == 0)
		r = nft_remove_known(&q, &rec, rs->owner);
	if (r == -ESTALE) {
		vp_log(LOG_DEBUG, "nftables: reading the ruleset for %s", rs->owner);
		rec_free(&rec);
		r = vp_nft_apply_read(&q, rs, o);
		/* Both paths put the owner's rules at the top: find their handles there. */
		if (r == 0 && rs->n && rec_from_heads(&q, rs, lv_now(&q, lv), &rec) < 0)
			rec_free(&rec);
	}
	/* The other base chains on the forward hook that would drop the forwards (Docker's). */
	if (r == 0)
		r = neighbours(&q, rs, o);
	if (r == 0 && rs->n && rec.n == rs->n)
		rec_format(&rec, next);
out:
	vp_nfnl_close(&q);
	rec_free(&rec);
	free(body);
	return r;
}

/* Every rule of our table, and libvirt's forward chain where our accepts go, both families:
 * each one's comment is its owner tag (libvirt's own rules have none of ours). */
static int nft_owners(int (*fn)(const char *owner, void *data), void *data)
{
	struct vp_nfnl_place p[N_FAMS * NC_COUNT];

	for (size_t i = 0; i < N_FAMS * NC_COUNT; i++)
		p[i] = (struct vp_nfnl_place){vp_nft_fams[i / NC_COUNT].af,
		                              vp_nft_chains[i % NC_COUNT].table,
		                              vp_nft_chains[i % NC_COUNT].name};
	return vp_nfnl_tags(p, N_FAMS * NC_COUNT, false, fn, data);
}

/* libvirt >= 10.4 with firewall_backend nftables: its network status says so, or (an older
 * status) its own table has the forward chain our accepts go to. */
static bool nft_probe(const struct vp_network *net, long long deadline, char *why,
                      size_t whysz)
{
	(void)deadline;
	enum vp_libvirt_fw fw = net ? net->fw : VP_LVFW_UNKNOWN;

	if (fw != VP_LVFW_NFTABLES &&
	    (fw != VP_LVFW_UNKNOWN || !vp_nfnl_chain_exists(AF_INET, LV_TABLE, LV_CHAIN)))
		return false;
	snprintf(why, whysz, "libvirt uses its nftables firewall backend%s",
	         fw == VP_LVFW_NFTABLES ? " (network status)" : "");
	return true;
}

const struct vp_backend vp_backend_nft = {.name = "nftables", .load = vp_dl_nft,
                                          .probe = nft_probe, .render = vp_render_nft,
                                          .apply = nft_apply, .records = true,
                                          .owners = nft_owners};
