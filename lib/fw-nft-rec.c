/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The nftables backend without reading: listing a table costs time in proportion to every
 * guest's rules, so a guest's own change should not. Our record ("rules" in our state, state.h;
 * its lines, handles and removal by handle are record.c's) holds the handle of each rule of the
 * owner and the handle of each table they are in; the kernel answers questions about one named
 * table or chain (nfnl.h) without listing anything.
 * Whatever does not match the record falls back to reading (fw-nft.c). */
#include "fw-nft.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw-nft-nb.h"
#include "log.h"
#include "nfnl.h"

/* The record (record.h): "table <family> <table> <handle>" for each table the owner's rules are
 * in, ours and libvirt's, then "<family> <table> <chain> <handle>" for each rule. */
static struct vp_rec_chain nft_chain(size_t i)
{
	return (struct vp_rec_chain){vp_nft_chains[i].table, vp_nft_chains[i].name};
}

#define T_OURS 0   /* OUR_TABLE's index in vp_rec_nft.tables */
const struct vp_rec_desc vp_rec_nft = {
	.name = "nftables", .syntax = VP_REC_NFT, .fams = {"ip", "ip6"},
	.tables = {OUR_TABLE, LV_TABLE}, .n_chains = NC_COUNT, .chain = nft_chain,
};

/* The handles of the owner's rules at the top of their chains, where both paths put them (the
 * accepts in libvirt's forward chain where lv says it is there), with those of their tables. */
static int rec_from_heads(struct vp_nfnl *q, const struct vp_ruleset *rs, const bool *lv,
                          struct vp_rec *rec)
{
	size_t want[N_FAMS][NC_COUNT] = {{0}};
	int r = 0;

	for (size_t fi = 0; fi < N_FAMS; fi++)
		for (size_t i = 0; i < rs->n; i++)
			want[fi][vp_nft_stage_chain(rs->r[i].stage, lv[fi])] +=
				rs->r[i].family == vp_nft_fams[fi].af;
	for (size_t fi = 0; r == 0 && fi < N_FAMS; fi++)
		r = vp_rec_take(rec, q, fi, rs->owner, want[fi], NULL);
	return r;
}

/* A guest with no rule anywhere (state.h: "none"): nothing to read but whether libvirt's table
 * is there. One transaction that puts every rule at the top of its chain, where the kernel then
 * tells their handles (nft's own echo would fetch the whole ruleset first). */
static int nft_install_new(struct vp_nfnl *q, const struct vp_ruleset *rs, struct vp_rec *ret)
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
		vp_rec_free(ret);
	vp_buf_free(&batch);
	return r;
}

/* Whether our table holds nothing but the recorded rules of family fi: then the table goes.
 * The kernel's use counts: a table counts its chains (and sets, ...), a base chain its rules. */
static bool table_only_ours(struct vp_nfnl *q, const struct vp_rec *rec, size_t fi)
{
	unsigned tuse, cuse, chains_seen = 0;

	if (vp_nfnl_table(q, vp_nft_fams[fi].af, OUR_TABLE, &tuse) < 0)
		return false;
	for (enum nchain c = 0; c < NC_LV; c++) {
		int r = vp_nfnl_chain_use(q, vp_nft_fams[fi].af, OUR_TABLE, vp_nft_chains[c].name, &cuse);
		if (r == -ENOENT)
			continue;
		if (r < 0 || cuse != vp_rec_count(rec, fi, c))
			return false;
		chains_seen++;
	}
	return tuse == chains_seen;
}

/* Remove the recorded rules by handle in one transaction, when the tables they were recorded in
 * are still there (a table made anew numbers its rules from 1 again); our table goes too when
 * nothing else is left in it. -ESTALE when the record is not what is there, a rule of it gone
 * included (nothing was written then); any other error is the transaction's. */
static int nft_remove_known(struct vp_nfnl *q, const struct vp_rec *rec, const char *owner)
{
	struct vp_nfnl_del *del = calloc(rec->n + N_FAMS, sizeof(*del));
	size_t n = 0;
	int r = del ? 0 : -ENOMEM;

	for (size_t fi = 0; r == 0 && fi < N_FAMS; fi++)
		r = vp_rec_tables_same(rec, q, fi) ? 0 : -ESTALE;
	for (size_t fi = 0; r == 0 && fi < N_FAMS; fi++) {
		bool drop = table_only_ours(q, rec, fi);
		/* Deleting our table deletes the rules in it. */
		for (enum nchain c = 0; r == 0 && c < NC_COUNT; c++)
			if (!drop || vp_rec_table_of(&vp_rec_nft, c) != T_OURS)
				r = vp_rec_dels(rec, fi, c, del, &n);
		if (drop)
			del[n++] = (struct vp_nfnl_del){.family = vp_nft_fams[fi].af, .table = OUR_TABLE};
	}
	if (r == 0)
		r = vp_rec_delete(&vp_rec_nft, q, del, n, owner);
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
		all.deadline = o->rollback_deadline;   /* a tool that hung has used the change's time */
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
	struct vp_rec rec = {.d = &vp_rec_nft};
	bool lv[N_FAMS];
	int r = vp_dl_nft();

	if (r < 0)
		return r;   /* libnftables unavailable (logged): nothing touched */
	r = vp_nfnl_open(&q);
	if (r < 0) {
		vp_log(LOG_ERR, "nftables: cannot open a netlink socket: %s", strerror(-r));
		goto out;
	}
	r = -ESTALE;
	if (prev->kind == VP_RULES_NONE && rs->n)
		r = nft_install_new(&q, rs, &rec);
	else if (prev->kind == VP_RULES_KNOWN && !rs->n && vp_rec_parse(&rec, prev->body) == 0)
		r = nft_remove_known(&q, &rec, rs->owner);
	if (r == -ESTALE) {
		vp_log(LOG_DEBUG, "nftables: reading the ruleset for %s", rs->owner);
		vp_rec_free(&rec);
		r = vp_nft_apply_read(&q, rs, o);
		/* Both paths put the owner's rules at the top: find their handles there. */
		if (r == 0 && rs->n && rec_from_heads(&q, rs, lv_now(&q, lv), &rec) < 0)
			vp_rec_free(&rec);
	}
	/* The other base chains on the forward hook that would drop the forwards (Docker's). */
	if (r == 0)
		r = neighbours(&q, rs, o);
	if (r == 0 && rs->n && rec.n == rs->n)
		vp_rec_format(&rec, next);
out:
	vp_nfnl_close(&q);
	vp_rec_free(&rec);
	return r;
}

/* Every rule of our table, and libvirt's forward chain where our accepts go, both families:
 * each one's comment is its owner tag (libvirt's own rules have none of ours). */
static int nft_owners(int (*fn)(const char *owner, void *data), void *data)
{
	return vp_rec_owners(&vp_rec_nft, fn, data);
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
                                          .place = "libvirt's nftables tables",
                                          .tool = {"nft", "nft"},
                                          .probe = nft_probe, .render = vp_render_nft,
                                          .list = vp_nft_list, .where = vp_nft_where,
                                          .apply = nft_apply, .records = true,
                                          .owners = nft_owners};
