/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The record of nf_tables handles that the iptables-nft and nftables backends keep (record.h):
 * its lines read and written in each backend's syntax, the handles taken where an install puts
 * the owner's rules, and their removal by handle in one transaction (nfnl.h). */
#include "record.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "log.h"
#include "nfnl.h"
#include "util.h"

void vp_record_free(struct vp_record *rec)
{
	if (!rec)
		return;
	free(rec->body);
	rec->body = NULL;
	rec->kind = VP_RULES_UNKNOWN;
}

int vp_rec_af(size_t fam)
{
	return fam ? AF_INET6 : AF_INET;
}

void vp_rec_free(struct vp_rec *rec)
{
	if (!rec)
		return;
	for (size_t i = 0; i < rec->n; i++)
		free(rec->r[i].spec);
	free(rec->r);
	*rec = (struct vp_rec){.d = rec->d};
}

int vp_rec_add(struct vp_rec *rec, size_t fam, size_t chain, uint64_t handle, const char *spec)
{
	char *dup = spec ? strdup(spec) : NULL;

	if ((spec && !dup) || vp_grow(&rec->r, &rec->cap, rec->n + 1, sizeof(*rec->r)) < 0) {
		free(dup);
		return -ENOMEM;
	}
	rec->r[rec->n++] = (struct vp_rec_rule){fam, chain, handle, dup};
	return 0;
}

size_t vp_rec_count(const struct vp_rec *rec, size_t fam, size_t chain)
{
	size_t n = 0;

	for (size_t i = 0; i < rec->n; i++)
		n += rec->r[i].fam == fam && rec->r[i].chain == chain;
	return n;
}

size_t vp_rec_table_of(const struct vp_rec_desc *d, size_t chain)
{
	const char *table = d->chain(chain).table;
	size_t t = 0;

	while (t < VP_REC_TABLES && d->tables[t] && strcmp(d->tables[t], table))
		t++;
	return t < VP_REC_TABLES && d->tables[t] ? t : VP_REC_TABLES;
}

/* ---- the lines --------------------------------------------------------------------------- */

/* One line, its words pointing into it. */
struct rec_line {
	bool table;                     /* a table's handle; else a rule's */
	const char *fam, *table_name, *chain, *handle, *spec;
};

/* line cut at its first max - 1 single spaces into w[0..n), the last word the rest; n. */
static size_t words(char *line, char **w, size_t max)
{
	size_t n = 1;

	w[0] = line;
	for (char *sp = strchr(line, ' '); sp && n < max; sp = strchr(sp + 1, ' ')) {
		*sp = '\0';
		w[n++] = sp + 1;
	}
	return n;
}

/* "t<FAM> <table> <handle>", "<FAM> <chain> <handle> <spec>" */
static int split_xt(char *line, struct rec_line *l)
{
	char *w[4];

	if (line[0] == 't') {
		if (words(line + 1, w, 3) != 3)
			return -EBADMSG;
		*l = (struct rec_line){.table = true, .fam = w[0], .table_name = w[1], .handle = w[2]};
	} else {
		if (words(line, w, 4) != 4)
			return -EBADMSG;
		*l = (struct rec_line){.fam = w[0], .chain = w[1], .handle = w[2], .spec = w[3]};
	}
	return 0;
}

/* "table <FAM> <table> <handle>", "<FAM> <table> <chain> <handle>" */
static int split_nft(char *line, struct rec_line *l)
{
	char *w[4];

	if (words(line, w, 4) != 4)
		return -EBADMSG;
	if (!strcmp(w[0], "table"))
		*l = (struct rec_line){.table = true, .fam = w[1], .table_name = w[2], .handle = w[3]};
	else
		*l = (struct rec_line){.fam = w[0], .table_name = w[1], .chain = w[2], .handle = w[3]};
	return 0;
}

/* The index of s in the n names of a[], n when it is not there. */
static size_t lookup(const char *const *a, size_t n, const char *s)
{
	size_t i = 0;

	while (i < n && (!a[i] || strcmp(a[i], s)))
		i++;
	return i;
}

/* The chain the line names (by its name alone in VP_REC_XT); n_chains when not ours. */
static size_t chain_index(const struct vp_rec_desc *d, const struct rec_line *l)
{
	size_t c = 0;

	for (; c < d->n_chains; c++) {
		struct vp_rec_chain ch = d->chain(c);
		if (!strcmp(ch.chain, l->chain) && (!l->table_name || !strcmp(ch.table, l->table_name)))
			break;
	}
	return c;
}

static int parse_line(struct vp_rec *rec, char *line)
{
	const struct vp_rec_desc *d = rec->d;
	struct rec_line l;
	unsigned long h;
	size_t fam, i;
	int r = d->syntax == VP_REC_XT ? split_xt(line, &l) : split_nft(line, &l);

	if (r < 0)
		return r;
	fam = lookup(d->fams, VP_REC_FAMS, l.fam);
	i = l.table ? lookup(d->tables, VP_REC_TABLES, l.table_name) : chain_index(d, &l);
	/* A rule whose handle was not found is recorded as 0 (VP_REC_XT); a table's is never. */
	if (fam == VP_REC_FAMS || i == (l.table ? VP_REC_TABLES : d->n_chains) ||
	    vp_parse_uint(l.handle, strlen(l.handle), !l.table && d->syntax == VP_REC_XT ? 0 : 1,
	                  ULONG_MAX, &h) < 0)
		return -EBADMSG;
	if (l.table) {
		rec->table[fam][i] = h;
		return 0;
	}
	return vp_rec_add(rec, fam, i, h, l.spec);
}

int vp_rec_parse(struct vp_rec *rec, const char *body)
{
	char *copy = strdup(body);   /* cut into words: the caller's stays as it was */
	int r = copy ? 0 : -ENOMEM;

	/* Up to the end; the last line may lack its newline. */
	for (char *line = copy, *next; r == 0 && line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		r = parse_line(rec, line);
	}
	free(copy);
	return r;
}

static void put_tables(const struct vp_rec *rec, size_t fam, struct vp_buf *b)
{
	const struct vp_rec_desc *d = rec->d;

	for (size_t t = 0; t < VP_REC_TABLES; t++) {
		if (!rec->table[fam][t])
			continue;
		if (d->syntax == VP_REC_XT)
			vp_buf_printf(b, "t%s %s %" PRIu64 "\n", d->fams[fam], d->tables[t],
			              rec->table[fam][t]);
		else
			vp_buf_printf(b, "table %s %s %" PRIu64 "\n", d->fams[fam], d->tables[t],
			              rec->table[fam][t]);
	}
}

/* The rules of family fam; with fam VP_REC_FAMS, every rule. */
static void put_rules(const struct vp_rec *rec, size_t fam, struct vp_buf *b)
{
	const struct vp_rec_desc *d = rec->d;

	for (size_t i = 0; i < rec->n; i++) {
		const struct vp_rec_rule *r = &rec->r[i];
		struct vp_rec_chain ch = d->chain(r->chain);
		if (fam != VP_REC_FAMS && r->fam != fam)
			continue;
		if (d->syntax == VP_REC_XT)
			vp_buf_printf(b, "%s %s %" PRIu64 " %s\n", d->fams[r->fam], ch.chain, r->handle,
			              r->spec ? r->spec : "");
		else
			vp_buf_printf(b, "%s %s %s %" PRIu64 "\n", d->fams[r->fam], ch.table, ch.chain,
			              r->handle);
	}
}

void vp_rec_format(const struct vp_rec *rec, struct vp_record *next)
{
	struct vp_buf b = {0};

	/* Each syntax in the order its release wrote it: VP_REC_XT a family at a time. */
	for (size_t fam = 0; fam < VP_REC_FAMS; fam++) {
		put_tables(rec, fam, &b);
		if (rec->d->syntax == VP_REC_XT)
			put_rules(rec, fam, &b);
	}
	if (rec->d->syntax != VP_REC_XT)
		put_rules(rec, VP_REC_FAMS, &b);
	if (!b.err && (b.s || (b.s = strdup(""))))
		*next = (struct vp_record){.kind = VP_RULES_KNOWN, .body = b.s};
	else
		vp_buf_free(&b);
}

/* ---- with the kernel --------------------------------------------------------------------- */

/* Whether rec has a rule of family fam in table t. */
static bool table_used(const struct vp_rec *rec, size_t fam, size_t t)
{
	for (size_t i = 0; i < rec->n; i++)
		if (rec->r[i].fam == fam && vp_rec_table_of(rec->d, rec->r[i].chain) == t)
			return true;
	return false;
}

/* The handles of the owner's n rules at the top of chain c, into rec. */
static int take_chain(struct vp_rec *rec, size_t fam, size_t c, const char *owner, size_t n,
                      char *const *spec)
{
	const struct vp_rec_desc *d = rec->d;
	struct vp_rec_chain ch = d->chain(c);
	uint64_t *h = calloc(n, sizeof(*h));
	int r = h ? vp_nfnl_owner_head(vp_rec_af(fam), ch.table, ch.chain, owner, d->xt, h, n)
	          : -ENOMEM;

	if (r < 0 && h && d->syntax == VP_REC_XT) {
		memset(h, 0, n * sizeof(*h));   /* not found near the top: the removal reads */
		r = 0;
	}
	for (size_t j = 0; r == 0 && j < n; j++)
		r = vp_rec_add(rec, fam, c, h[j], spec ? spec[j] : NULL);
	free(h);
	return r == -ENOMEM ? r : r < 0 ? -ESTALE : 0;
}

int vp_rec_take(struct vp_rec *rec, struct vp_nfnl *q, size_t fam, const char *owner,
                const size_t *want, char **const *spec)
{
	const struct vp_rec_desc *d = rec->d;
	bool used[VP_REC_TABLES] = {false};
	unsigned use;
	int r = 0;

	for (size_t c = 0; c < d->n_chains; c++)
		if (want[c] && vp_rec_table_of(d, c) < VP_REC_TABLES)
			used[vp_rec_table_of(d, c)] = true;
	for (size_t t = 0; t < VP_REC_TABLES; t++)
		if (used[t] && !rec->table[fam][t] &&
		    vp_nfnl_table_handle(q, vp_rec_af(fam), d->tables[t], &use, &rec->table[fam][t]) < 0)
			rec->table[fam][t] = 0;
	for (size_t c = 0; r == 0 && c < d->n_chains; c++)
		if (want[c])
			r = take_chain(rec, fam, c, owner, want[c], spec ? spec[c] : NULL);
	return r;
}

bool vp_rec_tables_same(const struct vp_rec *rec, struct vp_nfnl *q, size_t fam)
{
	uint64_t h;
	unsigned use;

	for (size_t t = 0; t < VP_REC_TABLES; t++)
		if (table_used(rec, fam, t) &&
		    (!rec->table[fam][t] ||
		     vp_nfnl_table_handle(q, vp_rec_af(fam), rec->d->tables[t], &use, &h) < 0 ||
		     h != rec->table[fam][t]))
			return false;
	return true;
}

int vp_rec_dels(const struct vp_rec *rec, size_t fam, size_t chain, struct vp_nfnl_del *del,
                size_t *n)
{
	struct vp_rec_chain ch = rec->d->chain(chain);

	for (size_t i = 0; i < rec->n; i++) {
		if (rec->r[i].fam != fam || rec->r[i].chain != chain)
			continue;
		if (!rec->r[i].handle)
			return -ESTALE;
		del[(*n)++] = (struct vp_nfnl_del){vp_rec_af(fam), ch.table, ch.chain, rec->r[i].handle};
	}
	return 0;
}

int vp_rec_delete(const struct vp_rec_desc *d, struct vp_nfnl *q, const struct vp_nfnl_del *del,
                  size_t n, const char *owner)
{
	int r = vp_nfnl_delete(q, del, n);

	if (r == -EBUSY || r == -ENOENT)
		return -ESTALE;
	if (r < 0)
		vp_log(LOG_ERR, "%s: deleting the rules of %s failed: %s", d->name, owner, strerror(-r));
	return r;
}

int vp_rec_owners(const struct vp_rec_desc *d, int (*fn)(const char *owner, void *data),
                  void *data)
{
	size_t n = VP_REC_FAMS * d->n_chains;
	struct vp_nfnl_place *p = calloc(n, sizeof(*p));
	int r;

	if (!p)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct vp_rec_chain ch = d->chain(i % d->n_chains);
		p[i] = (struct vp_nfnl_place){vp_rec_af(i / d->n_chains), ch.table, ch.chain};
	}
	r = vp_nfnl_tags(p, n, d->xt, fn, data);
	free(p);
	return r;
}
