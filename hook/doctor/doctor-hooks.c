/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The other base chains on the forward hook. A packet must be accepted by every base chain on
 * its hook, in every table and family: our accept counts only in its own chain. So every base
 * chain hooked at forward that would drop a forward's connections is looked at, whoever owns it:
 * iptables' FORWARD in nf_tables (iptables-nft) and in the legacy tables, from their save
 * listings, and every other table's forward-hook chains of families ip, ip6 and inet, through
 * libnftables (a JSON listing of chains, then of the rules of those that may drop). A chain
 * "drops" when its policy is drop, or when one of its rules drops or rejects without any
 * condition; a conditional drop is not judged (doctor-shadow.c does that for FORWARD).
 *
 * Each such chain is then either passed by a rule of ours (our jump at the top of FORWARD on an
 * iptables host; on libvirt's nftables backend the accept fw-nft-nb.c puts in DOCKER-USER or
 * FORWARD of iptables-nft) or named with its owner (Docker, ufw, firewalld when the chains tell)
 * and the fix. */
#include "doctor-int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render-xt.h"

#define HK_NAME 64

/* One forward-hook base chain that would drop. */
struct dr_hook {
	char family[8], table[HK_NAME], name[HK_NAME];
	int variant;                /* DR_IPT_NFT, DR_IPT_LEGACY: iptables' FORWARD; -1 native */
	unsigned drop_rule;         /* 0: by its policy; else the position of the rule that drops */
	const char *owner;          /* "Docker", "ufw", "firewalld" or NULL */
};


static int hook_add(struct dr_hooks *h, const struct dr_hook *k)
{
	if (vp_grow(&h->c, &h->cap, h->n + 1, sizeof(*h->c)) < 0)
		return -ENOMEM;
	h->c[h->n++] = *k;
	return 0;
}

void dr_hooks_free(struct doctor *dr)
{
	for (int fi = 0; fi < 2; fi++) {
		free(dr->hooks[fi].c);
		dr->hooks[fi] = (struct dr_hooks){0};
	}
}

/* ------------------------------------------------------------------------------------------- */
/* iptables' FORWARD, from a save listing. */

static bool has_chain_prefix(const struct vp_listing *s, const char *prefix)
{
	for (size_t i = 0; i < s->n_c; i++)
		if (!strcmp(s->c[i].table, "filter") && !strncmp(s->c[i].name, prefix, strlen(prefix)))
			return true;
	return false;
}

/* A rule that drops whatever reaches it: no match, a DROP or REJECT target. */
static bool drops_all(const char *spec)
{
	static const char cm[] = "-m comment --comment ";

	if (!strncmp(spec, cm, sizeof(cm) - 1)) {   /* a comment is no condition */
		spec += sizeof(cm) - 1;
		spec += *spec == '"' ? strcspn(spec + 1, "\"") + 2 : strcspn(spec, " ");
		spec += *spec == ' ';
	}
	return !strcmp(spec, "-j DROP") || !strncmp(spec, "-j REJECT", 9);
}

static void xt_hook(struct doctor *dr, int variant, int family, struct dr_hooks *h)
{
	const struct vp_listing *s = dr_listing(dr, variant, family);
	struct dr_hook k = {.variant = variant, .drop_rule = ~0u};

	if (s->r < 0)
		return;
	for (size_t i = 0; i < s->n_c; i++)
		if (!strcmp(s->c[i].table, "filter") && !strcmp(s->c[i].name, "FORWARD") &&
		    s->c[i].policy && !strcmp(s->c[i].policy, "DROP"))
			k.drop_rule = 0;
	for (size_t i = 0; k.drop_rule && i < s->n; i++)
		if (!strcmp(s->l[i].table, "filter") && !strcmp(s->l[i].chain, "FORWARD") &&
		    drops_all(s->l[i].spec))
			k.drop_rule = s->l[i].pos;
	if (k.drop_rule == ~0u)
		return;
	snprintf(k.family, sizeof(k.family), "%s", family == AF_INET6 ? "ip6" : "ip");
	snprintf(k.table, sizeof(k.table), "filter");
	snprintf(k.name, sizeof(k.name), "FORWARD");
	k.owner = has_chain_prefix(s, "DOCKER") ? "Docker" : has_chain_prefix(s, "ufw-") ? "ufw"
	        : NULL;
	if (hook_add(h, &k) < 0)
		dr->c->out->err = -ENOMEM;
}

/* ------------------------------------------------------------------------------------------- */
/* Every other table's forward-hook chains, through libnftables. */

#ifdef HAVE_LIBNFTABLES
#include <json-c/json.h>

#include "dl-nft.h"

static const char *jstr(json_object *o, const char *key)
{
	json_object *v;
	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
	       ? json_object_get_string(v) : NULL;
}

/* The "nftables" array of a JSON listing, or NULL. The caller puts the root. */
static json_object *nft_json(struct nft_ctx *ctx, const char *cmd, json_object **root)
{
	json_object *items;

	const char *out;

	*root = NULL;
	if (sym_nft_run_cmd_from_buffer(ctx, cmd) != 0 || !(out = sym_nft_ctx_get_output_buffer(ctx)))
		return NULL;
	*root = json_tokener_parse(out);
	return *root && json_object_object_get_ex(*root, "nftables", &items) &&
	       json_object_is_type(items, json_type_array) ? items : NULL;
}

/* Whether a rule's expressions drop or reject without a condition: only counters, logging and
 * the verdict. */
static bool rule_drops_all(json_object *rule)
{
	json_object *expr;
	size_t n;

	if (!json_object_object_get_ex(rule, "expr", &expr) ||
	    !json_object_is_type(expr, json_type_array) || !(n = json_object_array_length(expr)))
		return false;
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(expr, i);
		bool last = i + 1 == n;
		json_object_object_foreach(e, key, val) {
			(void)val;
			if (last ? strcmp(key, "drop") && strcmp(key, "reject")
			         : strcmp(key, "counter") && strcmp(key, "log"))
				return false;
		}
	}
	return true;
}

/* Whether e is the match `ct status dnat`. */
static bool is_ct_dnat(json_object *e)
{
	json_object *m, *left, *ct, *right;

	return json_object_object_get_ex(e, "match", &m) &&
	       json_object_object_get_ex(m, "left", &left) &&
	       json_object_object_get_ex(left, "ct", &ct) && jstr(ct, "key") &&
	       !strcmp(jstr(ct, "key"), "status") && json_object_object_get_ex(m, "right", &right) &&
	       json_object_is_type(right, json_type_string) &&
	       !strcmp(json_object_get_string(right), "dnat");
}

/* Whether the rule accepts every DNAT'd connection (`ct status dnat accept`, firewalld's unless
 * StrictForwardPorts=yes): every forward's connections are, so a drop after it is not theirs. */
static bool rule_accepts_dnat(json_object *rule)
{
	json_object *expr;
	size_t n, dnat = 0;

	if (!json_object_object_get_ex(rule, "expr", &expr) ||
	    !json_object_is_type(expr, json_type_array) || !(n = json_object_array_length(expr)) ||
	    !json_object_object_get_ex(json_object_array_get_idx(expr, n - 1), "accept", NULL))
		return false;
	for (size_t i = 0; i + 1 < n; i++) {
		json_object *e = json_object_array_get_idx(expr, i);
		if (is_ct_dnat(e))
			dnat++;
		else if (!json_object_object_get_ex(e, "counter", NULL) &&
		         !json_object_object_get_ex(e, "log", NULL))
			return false;
	}
	return dnat == 1;
}

/* The position of the first rule of the chain that drops everything, 0 if none (or if an
 * accept of every DNAT'd connection comes first). */
static unsigned chain_drop_rule(struct nft_ctx *ctx, const struct dr_hook *k)
{
	char cmd[3 * HK_NAME];
	json_object *root, *items, *rule;
	unsigned pos = 0, found = 0;

	snprintf(cmd, sizeof(cmd), "list chain %s %s %s", k->family, k->table, k->name);
	items = nft_json(ctx, cmd, &root);
	for (size_t i = 0; items && !found && i < json_object_array_length(items); i++) {
		if (!json_object_object_get_ex(json_object_array_get_idx(items, i), "rule", &rule))
			continue;
		pos++;
		if (rule_accepts_dnat(rule))
			break;
		if (rule_drops_all(rule))
			found = pos;
	}
	json_object_put(root);
	return found;
}

static const char *native_owner(const char *table, const char *chain)
{
	if (!strcmp(table, "firewalld"))
		return "firewalld";
	if (!strncmp(table, "docker", 6))
		return "Docker";
	return strstr(table, "ufw") || strstr(chain, "ufw") ? "ufw" : NULL;
}

/* iptables-nft's own tables are read through its save listing (xt_hook); libvirt's and ours
 * are the rule checks' business. */
static bool native_skipped(const char *family, const char *table)
{
	return !strcmp(table, "libvirt_network") || !strcmp(table, "virt_portfwd") ||
	       (strcmp(family, "inet") && !strcmp(table, "filter"));
}

static void native_chain(struct doctor *dr, struct nft_ctx *ctx, json_object *c, int family,
                         struct dr_hooks *h)
{
	const char *fam = jstr(c, "family"), *table = jstr(c, "table"), *name = jstr(c, "name");
	const char *hook = jstr(c, "hook"), *policy = jstr(c, "policy");
	const char *want = family == AF_INET6 ? "ip6" : "ip";
	struct dr_hook k = {.variant = -1};

	if (!fam || !table || !name || !hook || strcmp(hook, "forward") ||
	    (strcmp(fam, want) && strcmp(fam, "inet")) || native_skipped(fam, table) ||
	    strlen(table) >= HK_NAME || strlen(name) >= HK_NAME)
		return;
	snprintf(k.family, sizeof(k.family), "%s", fam);
	snprintf(k.table, sizeof(k.table), "%s", table);
	snprintf(k.name, sizeof(k.name), "%s", name);
	k.owner = native_owner(table, name);
	if (!(policy && !strcmp(policy, "drop")) && !(k.drop_rule = chain_drop_rule(ctx, &k)))
		return;
	if (hook_add(h, &k) < 0)
		dr->c->out->err = -ENOMEM;
}

static void native_hooks(struct doctor *dr, int family, struct dr_hooks *h)
{
	struct nft_ctx *ctx = NULL;
	json_object *root = NULL, *items, *c;

	if (dr->offline)
		return;
	if (vp_dl_nft() < 0 || !(ctx = sym_nft_ctx_new(NFT_CTX_DEFAULT)) ||
	    sym_nft_ctx_buffer_output(ctx) || sym_nft_ctx_buffer_error(ctx)) {
		h->native_err = true;
		goto out;
	}
	sym_nft_ctx_output_set_flags(ctx, NFT_CTX_OUTPUT_JSON);
	items = nft_json(ctx, "list chains", &root);
	h->native_err = !items;
	for (size_t i = 0; items && i < json_object_array_length(items); i++)
		if (json_object_object_get_ex(json_object_array_get_idx(items, i), "chain", &c))
			native_chain(dr, ctx, c, family, h);
out:
	json_object_put(root);
	if (ctx)
		sym_nft_ctx_free(ctx);
}
#else
static void native_hooks(struct doctor *dr, int family, struct dr_hooks *h)
{
	(void)dr;
	(void)family;
	h->native_err = true;
}
#endif

static const struct dr_hooks *hooks(struct doctor *dr, int family)
{
	struct dr_hooks *h = &dr->hooks[family == AF_INET6];

	if (h->loaded)
		return h;
	h->loaded = true;
	for (int v = 0; v < DR_NFTABLES; v++)
		xt_hook(dr, v, family, h);
	native_hooks(dr, family, h);
	return h;
}

/* ------------------------------------------------------------------------------------------- */
/* Each such chain against one forward. */

static const struct vp_rule *accept_of(const struct dr_fwd *fw)
{
	for (size_t i = 0; i < fw->rs.n; i++)
		if (fw->rs.r[i].stage == VP_ST_FWD_ACCEPT)
			return &fw->rs.r[i];
	return NULL;
}

/* The rule of ours that passes the forward through k, NULL if none: our jump in FORWARD (above
 * the rule that drops) when our rules are in the same tables, else the accept the nftables
 * backend puts in iptables-nft's DOCKER-USER or FORWARD. */
static const struct vp_listed_rule *passed_by(struct doctor *dr, const struct dr_fwd *fw, int v,
                                              const struct dr_hook *k)
{
	const struct vp_listing *s;
	const struct vp_listed_rule *l = NULL;
	const struct vp_rule *acc = accept_of(fw);
	struct vp_buf spec = {0};

	if (k->variant < 0 || !acc)
		return NULL;
	s = dr_listing(dr, k->variant, fw->f->family);
	if (k->variant == v)
		l = vp_listing_jump(s, "filter", "FORWARD", VP_CHAIN_FWD);
	else if (v == DR_NFTABLES && k->variant == DR_IPT_NFT) {
		vp_render_xt_rule(acc, fw->rs.owner, &spec);
		if (spec.s && vp_listing_jump(s, "filter", "FORWARD", "DOCKER-USER"))
			l = vp_listing_find(s, "filter", "DOCKER-USER", spec.s);
		if (spec.s && !l)
			l = vp_listing_find(s, "filter", "FORWARD", spec.s);
		vp_buf_free(&spec);
	}
	return l && (!k->drop_rule || strcmp(l->chain, "FORWARD") || l->pos < k->drop_rule) ? l
	       : NULL;
}

bool dr_hooks_accept(const struct vp_listed_rule *l)
{
	size_t n = strlen(l->spec);

	return !strcmp(l->table, "filter") &&
	       (!strcmp(l->chain, "FORWARD") || !strcmp(l->chain, "DOCKER-USER")) &&
	       strstr(l->spec, "--ctstate DNAT ") && strstr(l->spec, "--comment \"" VP_OWNER_PREFIX) &&
	       n > 10 && !strcmp(l->spec + n - 10, " -j ACCEPT");
}

static void describe(const struct dr_hook *k, struct vp_buf *b)
{
	vp_buf_printf(b, "%s %s %s (%s%s, %s)", k->family, k->table, k->name,
	              k->owner ? k->owner : "owner unknown", k->owner ? "'s" : "",
	              k->variant >= 0 ? dr_tool(k->variant, AF_INET) : "nftables");
	if (k->drop_rule)
		vp_buf_printf(b, " drops everything at its rule %u", k->drop_rule);
	else
		vp_buf_printf(b, " has policy %s", k->variant >= 0 ? "DROP" : "drop");
}

static void fix_of(const struct dr_fwd *fw, int v, const struct dr_hook *k, char *fix, size_t n)
{
	const struct vp_rule *acc = accept_of(fw);
	const char *br = acc ? acc->bridge : "virbr0";

	bool docker = k->owner && !strcmp(k->owner, "Docker");

	if (k->variant >= 0 && k->variant == v)
		snprintf(fix, n, "run `virt-portfwd apply`: it puts our jump back on top of FORWARD");
	else if (k->variant == DR_IPT_NFT && v == DR_NFTABLES)
		snprintf(fix, n, "run `virt-portfwd apply`: it puts an accept of exactly this "
		         "forward's connections %s", docker ? "in DOCKER-USER, Docker's place for them"
		         : "at the top of FORWARD");
	else if (k->variant >= 0)
		snprintf(fix, n, "that chain is in %s, ours are where libvirt's rules are: accept the "
		         "forwarded connections there too, e.g. `%s -I %s -o %s -m conntrack --ctstate "
		         "DNAT -j ACCEPT` and the same for their replies (`-i %s`), or have %s use the "
		         "iptables variant libvirt uses", dr_tool(k->variant, AF_INET),
		         dr_tool(k->variant, AF_INET),
		         docker ? "DOCKER-USER" : "FORWARD", br, br,
		         k->owner ? k->owner : "its owner");
	else if (k->owner && !strcmp(k->owner, "firewalld"))
		snprintf(fix, n, "firewalld accepts DNAT'd connections unless StrictForwardPorts=yes "
		         "(firewalld.conf): set it to no, or add a forward port in firewalld as well");
	else
		snprintf(fix, n, "virt-portfwd does not write into another program's nftables table: "
		         "have %s accept connections DNAT'd to the guests (%s), e.g. `nft insert rule %s "
		         "%s %s oifname \"%s\" ct status dnat accept` and the same for their replies "
		         "(`iifname \"%s\"`)", k->owner ? k->owner : "its owner",
		         docker ? "Docker's nftables mode has no "
		         "DOCKER-USER; see dockerd's --bridge-accept-fwmark" : "its own rule",
		         k->family, k->table, k->name, br, br);
}

void dr_check_hooks(struct doctor *dr, const struct dr_fwd *fw, int v)
{
	const struct dr_hooks *h = hooks(dr, fw->f->family);
	const struct vp_listed_rule *first = NULL;
	const struct dr_hook *firstk = NULL;
	struct vp_buf d = {0};
	char fix[768];

	for (size_t i = 0; i < h->n; i++) {
		const struct vp_listed_rule *l = passed_by(dr, fw, v, &h->c[i]);
		if (!l) {
			describe(&h->c[i], &d);
			fix_of(fw, v, &h->c[i], fix, sizeof(fix));
			dr_report(dr, "rules.shadow", fw->label, DR_FAIL, fix, "%s, and no rule of ours "
			          "passes this forward there: its connections are dropped on the forward "
			          "hook whatever our accept lets through", d.s ? d.s : "?");
			vp_buf_free(&d);
			return;
		}
		if (!first) {
			first = l;
			firstk = &h->c[i];
		}
	}
	if (firstk) {
		describe(firstk, &d);
		dr_report(dr, "rules.shadow", fw->label, DR_OK, NULL, "%s; rule %u of %s, ours, "
		          "passes this forward%s", d.s ? d.s : "?", first->pos, first->chain,
		          h->n > 1 ? ", and every other forward-hook chain that drops passes it too"
		          : "");
	} else if (v == DR_NFTABLES) {
		dr_report(dr, "rules.shadow", fw->label, DR_OK, NULL, "no other base chain on the "
		          "forward hook drops this traffic%s", h->native_err ? " (as far as nftables "
		          "could be listed)" : "");
	}
	vp_buf_free(&d);
}
