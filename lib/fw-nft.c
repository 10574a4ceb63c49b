/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The nftables backend, for hosts where libvirt (>= 10.4) uses its nftables firewall backend.
 * NAT lives in our own tables `ip virt_portfwd` / `ip6 virt_portfwd`. The forward accept must
 * sit in the same base chain as libvirt's reject path, above its jumps: the top of
 * `<family> libvirt_network forward` (netfilter.md: an accept in our own table never helps, and
 * libvirt's guest_* chains are re-filled at the top on every reload). Only when that table does
 * not exist does the accept go to a forward chain of our own table.
 *
 * In process through libnftables: read what is ours (JSON listing, parsed with json-c), compare
 * with what is wanted (text listing, canonical form), and apply every change of both families
 * as ONE buffer, which nf_tables commits as one transaction. Never touches iptables-nft's tables
 * (netfilter.md trap 2). */
#include "fw-nft.h"

#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

#define LIST_MAX    (256u << 20)   /* a listing larger than this is refused */
#define JSON_DEPTH  256

const struct nft_chain vp_nft_chains[NC_COUNT] = {
	[NC_PRE] = {OUR_TABLE, "prerouting",
	            "{ type nat hook prerouting priority dstnat; policy accept; }"},
	[NC_OUT] = {OUR_TABLE, "output",
	            "{ type nat hook output priority -100; policy accept; }"},
	[NC_POST] = {OUR_TABLE, "postrouting",
	             "{ type nat hook postrouting priority srcnat; policy accept; }"},
	[NC_FWD] = {OUR_TABLE, "forward",
	            "{ type filter hook forward priority filter; policy accept; }"},
	[NC_LV] = {LV_TABLE, LV_CHAIN, NULL},
};

const struct nft_fam vp_nft_fams[N_FAMS] = {
	{AF_INET, VP_FAM_V4, "ip", "127.0.0.0/8"},
	{AF_INET6, VP_FAM_V6, "ip6", "::1"},
};

static int push_str(char ***arr, size_t *n, size_t *cap, char *s)
{
	if (vp_grow(arr, cap, *n + 1, sizeof(**arr)) < 0)
		return -ENOMEM;
	(*arr)[(*n)++] = s;
	return 0;
}

static void view_free(struct view *v)
{
	for (size_t c = 0; c < NC_COUNT; c++) {
		for (size_t i = 0; v->own[c].text && i < v->own[c].n; i++)
			free(v->own[c].text[i]);
		free(v->own[c].text);
		free(v->own[c].handle);
	}
	*v = (struct view){0};
}

void vp_nft_wanted_free(struct nft_wanted *w)
{
	for (size_t c = 0; c < NC_COUNT; c++) {
		for (size_t i = 0; i < w->n[c]; i++)
			free(w->s[c][i]);
		free(w->s[c]);
	}
	*w = (struct nft_wanted){0};
}

/* ------------------------------------------------------------------------------------------- */
/* Rendering: each rule exactly as `nft -s list` prints it back (verified with nft 1.0.6), so a
 * listed rule compares equal to the rule we would write. */

static void put_cidr(struct vp_buf *b, const struct nft_fam *f, const char *dir,
                     const struct vp_cidr *c)
{
	char s[VP_CIDR_STRLEN];
	bool full = c->prefix == (c->addr.family == AF_INET ? 32 : 128);

	/* nft prints a full-length prefix as a bare address. */
	if (full)
		vp_buf_printf(b, "%s %s %s ", f->name, dir, vp_addr_str(&c->addr, s));
	else
		vp_buf_printf(b, "%s %s %s ", f->name, dir, vp_cidr_str(c, s));
}

static void put_addr(struct vp_buf *b, const struct nft_fam *f, const char *dir,
                     const struct vp_addr *a)
{
	char s[VP_ADDR_STRLEN];
	vp_buf_printf(b, "%s %s %s ", f->name, dir, vp_addr_str(a, s));
}

static void put_range(struct vp_buf *b, uint16_t lo, uint16_t hi)
{
	if (lo == hi)
		vp_buf_printf(b, "%u", lo);
	else
		vp_buf_printf(b, "%u-%u", lo, hi);
}

/* A port range maps one to one (8080 -> 80, 8081 -> 81, ...): a map keyed by the original
 * port; an identical range needs no port translation at all. */
static void put_dnat(struct vp_buf *b, const struct nft_fam *f, const struct vp_rule *r)
{
	char g[VP_ADDR_STRLEN];
	bool v6 = r->family == AF_INET6;

	vp_addr_str(&r->guest, g);
	if (r->hport == r->hport_end) {
		vp_buf_printf(b, "dnat to %s%s%s:%u", v6 ? "[" : "", g, v6 ? "]" : "", r->gport);
		return;
	}
	if (r->hport == r->gport) {
		vp_buf_printf(b, "dnat to %s", g);
		return;
	}
	vp_buf_printf(b, "dnat %s to %s dport map { ", f->name, vp_proto_name(r->proto));
	for (unsigned p = r->hport; p <= r->hport_end; p++)
		vp_buf_printf(b, "%s%u : %s . %u", p == r->hport ? "" : ", ", p, g,
		              r->gport + (p - r->hport));
	vp_buf_printf(b, " }");
}

/* The guest side of a DNAT'd connection: [oifname BR] daddr GIP P dport GP ct status dnat. */
static void put_guest_side(struct vp_buf *b, const struct nft_fam *f, const struct vp_rule *r,
                           bool oif)
{
	if (oif)
		vp_buf_printf(b, "oifname \"%s\" ", r->bridge);
	put_addr(b, f, "daddr", &r->guest);
	vp_buf_printf(b, "%s dport ", vp_proto_name(r->proto));
	put_range(b, r->gport, r->gport_end);
	vp_buf_printf(b, " ct status dnat ");
}

static void render_rule(const struct vp_rule *r, const struct nft_fam *f, const char *owner,
                        struct vp_buf *b)
{
	switch (r->stage) {
	case VP_ST_PRE_DNAT:
	case VP_ST_OUT_DNAT:
		if (r->not_from_bridge)
			vp_buf_printf(b, "iifname != \"%s\" ", r->bridge);
		if (r->stage == VP_ST_OUT_DNAT)
			vp_buf_printf(b, "%s daddr != %s ", f->name, f->loopback);
		if (r->host_addr.family)
			put_addr(b, f, "daddr", &r->host_addr);
		vp_buf_printf(b, "%s dport ", vp_proto_name(r->proto));
		put_range(b, r->hport, r->hport_end);
		vp_buf_printf(b, " ");
		if (!r->host_addr.family)   /* any local address: iptables' addrtype LOCAL */
			vp_buf_printf(b, "fib daddr type local ");
		break;
	case VP_ST_POST_HAIRPIN:
		put_cidr(b, f, "saddr", &r->net);
		put_guest_side(b, f, r, false);
		break;
	case VP_ST_POST_MASQ:
	case VP_ST_FWD_ACCEPT:
		put_guest_side(b, f, r, true);
		vp_buf_printf(b, "ct original proto-dst ");
		put_range(b, r->hport, r->hport_end);
		vp_buf_printf(b, " ");
		break;
	case VP_ST_COUNT:
		break;
	}
	if (r->has_src && r->stage != VP_ST_POST_HAIRPIN)
		put_cidr(b, f, "saddr", &r->src);
	vp_buf_printf(b, "counter ");
	if (r->stage == VP_ST_PRE_DNAT || r->stage == VP_ST_OUT_DNAT)
		put_dnat(b, f, r);
	else
		vp_buf_printf(b, "%s", r->stage == VP_ST_FWD_ACCEPT ? "accept" : "masquerade");
	vp_buf_printf(b, " comment \"%s\"", owner);
}

/* Strings that end up inside nft's double quotes must not be able to close them. */
static bool quotable(const char *s)
{
	for (; *s; s++)
		if (*s == '"' || *s == '\\' || (unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e)
			return false;
	return true;
}

enum nchain vp_nft_stage_chain(enum vp_stage s, bool lv)
{
	switch (s) {
	case VP_ST_PRE_DNAT: return NC_PRE;
	case VP_ST_OUT_DNAT: return NC_OUT;
	case VP_ST_POST_HAIRPIN:
	case VP_ST_POST_MASQ: return NC_POST;
	case VP_ST_FWD_ACCEPT:
	case VP_ST_COUNT: break;
	}
	return lv ? NC_LV : NC_FWD;
}

int vp_nft_wanted_build(const struct vp_ruleset *rs, const struct nft_fam *f, bool lv,
                        struct nft_wanted *w)
{
	if (!quotable(rs->owner))
		return -EINVAL;
	for (size_t k = 0; k < rs->n; k++) {
		const struct vp_rule *r = &rs->r[k];
		struct vp_buf b = {0};
		enum nchain c;
		int ret;

		if (r->family != f->af)
			continue;
		if (r->stage >= VP_ST_COUNT || !quotable(r->bridge) || r->hport > r->hport_end ||
		    (r->not_from_bridge && (r->stage != VP_ST_PRE_DNAT || !r->bridge[0])))
			return -EINVAL;
		c = vp_nft_stage_chain(r->stage, lv);
		render_rule(r, f, rs->owner, &b);
		ret = b.err ? b.err : !b.s ? -ENOMEM : push_str(&w->s[c], &w->n[c], &w->cap[c], b.s);
		if (ret < 0) {
			vp_buf_free(&b);
			return ret;
		}
	}
	return 0;
}

/* ------------------------------------------------------------------------------------------- */
/* Talking to nft. */

/* errno after a failed command is the kernel's answer when the kernel refused the batch, and
 * stale otherwise: trust only the answers a batch can get. */
static int nft_errno(int e)
{
	switch (e) {
	case EPERM: case EACCES: case ENOENT: case EEXIST: case EBUSY: case ENOMEM: case ENOBUFS:
	case EOPNOTSUPP: case EINVAL: case ENOSPC: case EMSGSIZE:
		return -e;
	default:
		return -EIO;
	}
}

/* Run one command with these output flags; *ret_out points into ctx's buffer until the next run. */
int vp_nft_run(struct nft_ctx *ctx, unsigned flags, const char *cmd, const char **ret_out)
{
	const char *out;
	int r;

	sym_nft_ctx_output_set_flags(ctx, flags);
	errno = 0;
	if (sym_nft_run_cmd_from_buffer(ctx, cmd) != 0) {
		r = nft_errno(errno);
		const char *err = sym_nft_ctx_get_error_buffer(ctx);
		vp_log(LOG_ERR, "nft failed (%s)", strerror(-r));
		vp_log_lines(LOG_ERR, "nft", "said", err && *err ? err : "no message");
		vp_log_lines(LOG_ERR, "nft", "was given", cmd);
		return r;
	}
	out = sym_nft_ctx_get_output_buffer(ctx);
	if (!out)
		out = "";
	if (strlen(out) > LIST_MAX) {
		vp_log(LOG_ERR, "nft listing of `%s' is larger than %u bytes, refusing it", cmd,
		       LIST_MAX);
		return -E2BIG;
	}
	*ret_out = out;
	return 0;
}

/* json_tokener_parse() stops at 32 levels; a foreign rule in libvirt's table may nest deeper. */
static json_object *parse_json(const char *text)
{
	struct json_tokener *tok = json_tokener_new_ex(JSON_DEPTH);
	json_object *o;
	size_t len = strlen(text);

	if (!tok)
		return NULL;
	o = len <= INT_MAX ? json_tokener_parse_ex(tok, text, (int)len) : NULL;
	if (o && json_tokener_get_error(tok) != json_tokener_success) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}

static int nft_list_json(struct nft_ctx *ctx, const char *cmd, json_object **ret_items)
{
	const char *out;
	json_object *root, *items;
	int r = vp_nft_run(ctx, NFT_CTX_OUTPUT_JSON | NFT_CTX_OUTPUT_HANDLE, cmd, &out);

	if (r < 0)
		return r;
	root = parse_json(out);
	if (!root || !json_object_object_get_ex(root, "nftables", &items) ||
	    !json_object_is_type(items, json_type_array)) {
		vp_log(LOG_ERR, "cannot parse the JSON listing of `%s'", cmd);
		json_object_put(root);
		return -EBADMSG;
	}
	json_object_get(items);
	json_object_put(root);
	*ret_items = items;
	return 0;
}

static const char *jstr(json_object *o, const char *key)
{
	json_object *v;
	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
	       ? json_object_get_string(v) : NULL;
}

/* The object under `kind` ("table", "chain", "rule") of one listing item, or NULL. */
static json_object *item_of(json_object *items, size_t i, const char *kind)
{
	json_object *v;
	return json_object_object_get_ex(json_object_array_get_idx(items, i), kind, &v) ? v : NULL;
}

/* ------------------------------------------------------------------------------------------- */
/* Reading what is there. */

static int owned_add(struct owned *o, uint64_t handle)
{
	if (vp_grow(&o->handle, &o->cap, o->n + 1, sizeof(*o->handle)) < 0)
		return -ENOMEM;
	o->handle[o->n++] = handle;
	return 0;
}

static bool is_jump(json_object *rule)
{
	json_object *expr, *v;

	if (!json_object_object_get_ex(rule, "expr", &expr) ||
	    !json_object_is_type(expr, json_type_array))
		return false;
	for (size_t i = 0; i < json_object_array_length(expr); i++) {
		json_object *e = json_object_array_get_idx(expr, i);
		if (json_object_object_get_ex(e, "jump", &v) ||
		    json_object_object_get_ex(e, "goto", &v))
			return true;
	}
	return false;
}

/* One rule of the listing of our table or of libvirt's. */
static int see_rule(json_object *rule, bool lv_table, const char *owner, bool *jump_seen,
                    struct view *v)
{
	const char *chain = jstr(rule, "chain"), *comment = jstr(rule, "comment");
	json_object *h;
	bool mine = comment && !strcmp(comment, owner);

	if (!chain || !json_object_object_get_ex(rule, "handle", &h))
		return -EBADMSG;
	if (lv_table) {
		if (strcmp(chain, LV_CHAIN) != 0)
			return 0;
		if (mine && *jump_seen)
			v->own[NC_LV].below_jump = true;
		*jump_seen |= is_jump(rule);
		return mine ? owned_add(&v->own[NC_LV], (uint64_t)json_object_get_int64(h)) : 0;
	}
	for (size_t c = 0; c < NC_LV; c++)
		if (mine && !strcmp(chain, vp_nft_chains[c].name))
			return owned_add(&v->own[c], (uint64_t)json_object_get_int64(h));
	v->n_other++;
	return 0;
}

static void see_chain(const char *name, bool lv_table, bool *lv_chain, struct view *v)
{
	if (lv_table) {
		*lv_chain |= !strcmp(name, LV_CHAIN);
		return;
	}
	for (size_t c = 0; c < NC_LV; c++)
		v->chain[c] |= !strcmp(name, vp_nft_chains[c].name);
}

/* List one table (JSON) and record this owner's rules in it. */
static int read_table(struct nft_ctx *ctx, const struct nft_fam *f, bool lv_table,
                      const char *owner, struct view *v)
{
	char cmd[128];
	json_object *items = NULL, *o;
	bool jump_seen = false, lv_chain = false;
	int r;

	snprintf(cmd, sizeof(cmd), "list table %s %s", f->name, lv_table ? LV_TABLE : OUR_TABLE);
	r = nft_list_json(ctx, cmd, &items);
	for (size_t i = 0; r == 0 && i < json_object_array_length(items); i++) {
		if ((o = item_of(items, i, "rule")))
			r = see_rule(o, lv_table, owner, &jump_seen, v);
		else if ((o = item_of(items, i, "chain")) && jstr(o, "name"))
			see_chain(jstr(o, "name"), lv_table, &lv_chain, v);
	}
	if (lv_table)
		v->lv = r == 0 && lv_chain;
	json_object_put(items);
	return r;
}

/* Which tables are there: asked of the kernel by name, since a listing of tables in nft 1.0
 * fetches every rule of the family. */
static int read_view(struct nft_ctx *ctx, struct vp_nfnl *q, const struct nft_fam *f,
                     const char *owner, struct view *v)
{
	unsigned use;
	int r = vp_nfnl_table(q, f->af, OUR_TABLE, &use), lv;

	if (r < 0 && r != -ENOENT)
		return r;
	v->table = r == 0;
	lv = vp_nfnl_table(q, f->af, LV_TABLE, &use);
	if (lv < 0 && lv != -ENOENT)
		return lv;
	r = 0;
	if (v->table)
		r = read_table(ctx, f, false, owner, v);
	if (r == 0 && lv == 0)
		r = read_table(ctx, f, true, owner, v);
	return r;
}

/* A rule line of a text listing with handles: "\t\t<rule> # handle N". The handle is read from
 * the end, so a comment of someone else's rule holding the same words cannot mislead. */
static bool rule_line(const char *line, size_t len, uint64_t *ret_handle, size_t *ret_textlen)
{
	static const char mark[] = " # handle ";
	const size_t ml = sizeof(mark) - 1;
	size_t d = len;
	unsigned long h;

	while (d > 0 && line[d - 1] >= '0' && line[d - 1] <= '9')
		d--;
	if (len < 2 || line[0] != '\t' || line[1] != '\t' || d < 2 + ml ||
	    memcmp(line + d - ml, mark, ml) != 0 ||
	    vp_parse_uint(line + d, len - d, 0, ULONG_MAX, &h) < 0)
		return false;
	*ret_handle = h;
	*ret_textlen = d - ml - 2;
	return true;
}

/* Canonical text of the listed rules whose handle is in `o`, from a stateless text listing. */
static int take_texts(const char *listing, struct owned *o)
{
	const char *end;

	o->text = calloc(o->n, sizeof(*o->text));
	if (!o->text)
		return -ENOMEM;
	for (const char *line = listing; *line; line = *end ? end + 1 : end) {
		uint64_t h;
		size_t tl;

		end = strchrnul(line, '\n');
		if (!rule_line(line, (size_t)(end - line), &h, &tl))
			continue;
		for (size_t i = 0; i < o->n; i++)
			if (o->handle[i] == h && !o->text[i] &&
			    !(o->text[i] = vp_strndup(line + 2, tl)))
				return -ENOMEM;
	}
	return 0;
}

/* Fetch texts only where they can matter: same number of rules installed as wanted. */
static bool needs_text(const struct view *v, const struct nft_wanted *w, enum nchain c)
{
	return v->own[c].n && v->own[c].n == w->n[c] && !(c == NC_LV && v->own[c].below_jump);
}

static int read_texts(struct nft_ctx *ctx, const struct nft_fam *f, struct view *v,
                      const struct nft_wanted *w)
{
	char cmd[128];
	const char *out;
	int r = 0;

	for (int lv = 0; lv < 2 && r == 0; lv++) {
		bool any = false;
		for (size_t c = lv ? NC_LV : 0; c < (lv ? NC_COUNT : NC_LV); c++)
			any |= needs_text(v, w, c);
		if (!any)
			continue;
		if (lv)
			snprintf(cmd, sizeof(cmd), "list chain %s " LV_TABLE " " LV_CHAIN, f->name);
		else
			snprintf(cmd, sizeof(cmd), "list table %s " OUR_TABLE, f->name);
		r = vp_nft_run(ctx, NFT_CTX_OUTPUT_STATELESS | NFT_CTX_OUTPUT_HANDLE, cmd, &out);
		for (size_t c = lv ? NC_LV : 0; r == 0 && c < (lv ? NC_COUNT : NC_LV); c++)
			if (needs_text(v, w, c))
				r = take_texts(out, &v->own[c]);
	}
	return r;
}

/* ------------------------------------------------------------------------------------------- */
/* The change. */

static bool same_rules(const struct view *v, const struct nft_wanted *w, enum nchain c)
{
	const struct owned *o = &v->own[c];

	if (o->n != w->n[c] || o->below_jump)
		return false;
	for (size_t i = 0; i < o->n; i++)
		if (!o->text || !o->text[i] || strcmp(o->text[i], w->s[c][i]) != 0)
			return false;
	return true;
}

/* The owner's rules of chain c at the top of it (inserted in reverse: the wanted order); our
 * table and chain are added only when missing: adding a base chain
 * that is there already re-registers its hook and waits for the kernel (~15 ms). */
static void batch_adds(const struct nft_fam *f, enum nchain c, const struct nft_wanted *w,
                       const struct view *v, bool *table_added, struct vp_buf *b)
{
	if (c == NC_LV) {
		for (size_t i = w->n[c]; i-- > 0;)
			vp_buf_printf(b, "insert rule %s " LV_TABLE " " LV_CHAIN " %s\n", f->name,
			              w->s[c][i]);
		return;
	}
	if (!v->table && !*table_added)
		vp_buf_printf(b, "add table %s " OUR_TABLE "\n", f->name);
	*table_added = true;
	if (!v->chain[c])
		vp_buf_printf(b, "add chain %s " OUR_TABLE " %s %s\n", f->name, vp_nft_chains[c].name,
		              vp_nft_chains[c].spec);
	for (size_t i = w->n[c]; i-- > 0;)
		vp_buf_printf(b, "insert rule %s " OUR_TABLE " %s %s\n", f->name, vp_nft_chains[c].name,
		              w->s[c][i]);
}

void vp_nft_batch_family(const struct nft_fam *f, const struct view *v, const struct nft_wanted *w,
                         struct vp_buf *b)
{
	size_t keep = v->n_other;
	bool table_added = false, drop_table;

	for (size_t c = 0; c < NC_LV; c++)
		keep += w->n[c];
	/* No rule of anyone left in our table: the table goes, with whatever it holds. */
	drop_table = v->table && keep == 0;
	for (size_t c = 0; c < NC_COUNT; c++) {
		if (same_rules(v, w, c))
			continue;
		for (size_t i = 0; i < v->own[c].n && !(drop_table && c != NC_LV); i++)
			vp_buf_printf(b, "delete rule %s %s %s handle %" PRIu64 "\n", f->name,
			              vp_nft_chains[c].table, vp_nft_chains[c].name, v->own[c].handle[i]);
		if (c == NC_FWD && w->n[c])
			vp_log(LOG_NOTICE, "no table %s " LV_TABLE " (libvirt's nftables rules): the "
			       "forward accept goes to table %s " OUR_TABLE, f->name, f->name);
		if (w->n[c])
			batch_adds(f, c, w, v, &table_added, b);
	}
	if (drop_table)
		vp_buf_printf(b, "delete table %s " OUR_TABLE "\n", f->name);
}

/* --dry-run: the batch a first install would run on a host with libvirt's table, i.e. the change
 * against a view holding nothing of ours. Reads nothing from the kernel. */
void vp_render_nft(const struct vp_ruleset *rs, int family, struct vp_buf *out)
{
	const struct view none = {.lv = true};
	struct nft_wanted w = {0};

	for (size_t i = 0; i < N_FAMS; i++) {
		if (vp_nft_fams[i].af != family)
			continue;
		int r = vp_nft_wanted_build(rs, &vp_nft_fams[i], true, &w);
		if (r < 0)
			vp_buf_printf(out, "# %s rules cannot be rendered: %s\n", vp_nft_fams[i].name, strerror(-r));
		else
			vp_nft_batch_family(&vp_nft_fams[i], &none, &w, out);
	}
	vp_nft_wanted_free(&w);
}

bool vp_nft_has_family(const struct vp_ruleset *rs, int af)
{
	for (size_t i = 0; i < rs->n; i++)
		if (rs->r[i].family == af)
			return true;
	return false;
}

static int plan_family(struct nft_ctx *ctx, struct vp_nfnl *q, const struct vp_ruleset *rs,
                       const struct nft_fam *f, struct vp_buf *batch)
{
	struct view v = {0};
	struct nft_wanted w = {0};
	int r;

	r = read_view(ctx, q, f, rs->owner, &v);
	if (r == 0)
		r = vp_nft_wanted_build(rs, f, v.lv, &w);
	if (r == 0)
		r = read_texts(ctx, f, &v, &w);
	if (r == 0)
		vp_nft_batch_family(f, &v, &w, batch);
	view_free(&v);
	vp_nft_wanted_free(&w);
	return r;
}

int vp_nft_ctx_open(struct nft_ctx **ret)
{
	struct nft_ctx *ctx;
	int r = vp_dl_nft();

	if (r < 0)
		return r;   /* libnftables unavailable: logged once, nothing done */
	ctx = sym_nft_ctx_new(NFT_CTX_DEFAULT);
	if (!ctx)
		return -ENOMEM;
	if (sym_nft_ctx_buffer_output(ctx) != 0 || sym_nft_ctx_buffer_error(ctx) != 0) {
		sym_nft_ctx_free(ctx);
		return -ENOMEM;
	}
	*ret = ctx;
	return 0;
}

/* Read what is there, change what differs. */
static int nft_apply_once(struct vp_nfnl *q, const struct vp_ruleset *rs,
                          const struct vp_fw_opts *o)
{
	struct nft_ctx *ctx = NULL;
	struct vp_buf batch = {0};
	const char *out;
	int r = vp_nft_ctx_open(&ctx);

	for (size_t i = 0; r == 0 && i < N_FAMS; i++)
		if (!o->families || (o->families & vp_nft_fams[i].bit) || vp_nft_has_family(rs, vp_nft_fams[i].af))
			r = plan_family(ctx, q, rs, &vp_nft_fams[i], &batch);
	if (r == 0)
		r = batch.err;
	/* Both families, every table: one buffer, one transaction. */
	if (r == 0 && batch.len)
		r = vp_nft_run(ctx, 0, batch.s, &out);
	vp_buf_free(&batch);
	if (ctx)
		sym_nft_ctx_free(ctx);
	return r;
}

int vp_nft_apply_read(struct vp_nfnl *q, const struct vp_ruleset *rs,
                          const struct vp_fw_opts *o)
{
	int r = nft_apply_once(q, rs, o);

	/* The transaction is atomic, so a failed one changed nothing; but the contract is "no rule
	 * at all on failure": drop whatever this owner had before. */
	if (r < 0 && rs->n) {
		struct vp_ruleset none = *rs;
		struct vp_fw_opts all = *o;
		none.n = 0;
		all.families = 0;
		all.deadline = o->rollback_deadline;
		if (nft_apply_once(q, &none, &all) < 0)
			vp_log(LOG_ERR, "rollback of %s failed: rules may be left, run 'virt-portfwd flush'",
			       rs->owner);
	}
	return r;
}
