/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The nftables backend's neighbours on the forward hook. A packet must be accepted by every base
 * chain on its hook, in every table (netfilter.md): our accept at the top of libvirt's
 * `libvirt_network forward` is final only there. Docker (and ufw) set iptables-nft's
 * `filter FORWARD` policy to DROP, and a DNAT'd connection of ours then dies there.
 *
 * So, when iptables-nft's FORWARD of a family would drop (policy DROP, or a DROP or REJECT in it
 * or in a chain it jumps to), an accept of exactly our flows goes where that chain's owner
 * expects third-party accepts: Docker's DOCKER-USER when FORWARD jumps to it (Docker keeps
 * DOCKER-USER's rules across its restarts), else the top of FORWARD. Written through
 * iptables-nft-restore in iptables' own words (render-xt.c), never as native nft expressions in
 * iptables-nft's tables (netfilter.md trap 2), tagged with the owner like every rule of ours,
 * and removed by that tag. Another program's native nft table is not ours to write into: the
 * doctor names it instead. */
#include "fw-nft-nb.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fw-xt.h"
#include "listing.h"
#include "log.h"
#include "render-xt.h"
#include "run.h"

#define NB_TABLE  "filter"
#define NB_CHAIN  "FORWARD"
#define NB_DOCKER "DOCKER-USER"

static const char *const save_tool[N_FAMS] = {"iptables-nft-save", "ip6tables-nft-save"};

/* What iptables-nft's filter table shows. Pointers into its listing (listing.h). */
struct nb_view {
	bool drop;                /* FORWARD would drop: policy DROP, or a DROP/REJECT in reach */
	bool docker_user;         /* FORWARD jumps to DOCKER-USER */
	const char **dropping;    /* chains with a DROP or REJECT rule */
	size_t n_dropping;
	const char **jumps;       /* chains FORWARD jumps to */
	size_t n_jumps;
	const struct vp_listed_rule **mine;  /* the owner's rules in FORWARD and DOCKER-USER */
	size_t n_mine;
	const struct vp_listed_rule *head[2]; /* the first rule of FORWARD and of DOCKER-USER */
	size_t cap[3];            /* of dropping, jumps, mine */
};

/* A name into one of the view's lists of names (the caps count what is allocated). */
static int push(const char ***arr, size_t *n, size_t *cap, const char *s)
{
	if (vp_grow(arr, cap, *n + 1, sizeof(**arr)) < 0)
		return -ENOMEM;
	(*arr)[(*n)++] = s;
	return 0;
}

static void nb_view_free(struct nb_view *v)
{
	free(v->dropping);
	free(v->jumps);
	free(v->mine);
	*v = (struct nb_view){0};
}

/* The target of a rule spec ("... -j TARGET [options]"), into t ("" when it has none); returns
 * where it starts in spec. */
static const char *target_of(const char *spec, char *t, size_t tn)
{
	const char *p = strstr(spec, "-j ");

	while (p && p != spec && p[-1] != ' ')
		p = strstr(p + 1, "-j ");
	t[0] = '\0';
	if (p)
		snprintf(t, tn, "%.*s", (int)strcspn(p + 3, " "), p + 3);
	return p ? p + 3 : spec;
}

static bool owned(const char *spec, const char *owner)
{
	const char *p = strstr(spec, "--comment \"");
	size_t ol = strlen(owner);

	return p && !strncmp(p + 11, owner, ol) && p[11 + ol] == '"';
}

/* One rule of the filter table. */
static int nb_rule(struct nb_view *v, const struct vp_listed_rule *l, const char *owner)
{
	bool fwd = !strcmp(l->chain, NB_CHAIN), du = !strcmp(l->chain, NB_DOCKER);
	char t[64];
	const char *target = target_of(l->spec, t, sizeof(t));
	int r = 0;

	if ((fwd || du) && !v->head[du])
		v->head[du] = l;
	if ((fwd || du) && owned(l->spec, owner)) {
		if (vp_grow(&v->mine, &v->cap[2], v->n_mine + 1, sizeof(*v->mine)) < 0)
			return -ENOMEM;
		v->mine[v->n_mine++] = l;
		return 0;
	}
	if (!strcmp(t, "DROP") || !strcmp(t, "REJECT"))
		r = push(&v->dropping, &v->n_dropping, &v->cap[0], l->chain);
	if (r == 0 && fwd && *t && strcmp(t, "ACCEPT") && strcmp(t, "RETURN"))
		r = push(&v->jumps, &v->n_jumps, &v->cap[1], target);
	v->docker_user |= fwd && !strcmp(t, NB_DOCKER);
	return r;
}

static bool in_list(const char *const *l, size_t n, const char *s, size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(l[i]) == len && !strncmp(l[i], s, len))
			return true;
	return false;
}

/* The view of the listing of `iptables-nft-save -t filter`. */
static int nb_parse(const struct vp_listing *ls, const char *owner, struct nb_view *v)
{
	int r = 0;

	for (size_t i = 0; i < ls->n_c; i++)
		v->drop |= !strcmp(ls->c[i].table, NB_TABLE) && !strcmp(ls->c[i].name, NB_CHAIN) &&
		           ls->c[i].policy && !strcmp(ls->c[i].policy, "DROP");
	for (size_t i = 0; r == 0 && i < ls->n; i++)
		if (!strcmp(ls->l[i].table, NB_TABLE))
			r = nb_rule(v, &ls->l[i], owner);
	for (size_t i = 0; r == 0 && i < v->n_jumps; i++)
		v->drop |= in_list(v->dropping, v->n_dropping, v->jumps[i],
		                   strcspn(v->jumps[i], " "));
	v->drop |= in_list(v->dropping, v->n_dropping, NB_CHAIN, strlen(NB_CHAIN));
	return r;
}

static void put_ports(struct vp_buf *b, const char *opt, uint16_t lo, uint16_t hi)
{
	vp_buf_printf(b, lo == hi ? " %s %u" : " %s %u:%u", opt, lo, hi);
}

/* The replies of a forward accept's connections: a chain that drops by policy drops them too
 * (libvirt's accept of its guests' traffic is in its own table). The same connections, seen
 * from the guest's side, as iptables-save prints it. */
static void render_reply(const struct vp_rule *r, const char *owner, struct vp_buf *b)
{
	const char *p = vp_proto_name(r->proto);
	char a[VP_ADDR_STRLEN], c[VP_CIDR_STRLEN];

	vp_buf_printf(b, "-s %s/%u", vp_addr_str(&r->guest, a), r->family == AF_INET ? 32 : 128);
	if (r->has_src)
		vp_buf_printf(b, " -d %s", vp_cidr_str(&r->src, c));
	vp_buf_printf(b, " -i %s -p %s -m %s", r->bridge, p, p);
	put_ports(b, "--sport", r->gport, r->gport_end);
	vp_buf_printf(b, " -m conntrack --ctstate DNAT");
	put_ports(b, "--ctorigdstport", r->hport, r->hport_end);
	vp_buf_printf(b, " -m comment --comment \"%s\" -j ACCEPT", owner);
}

static int want_add(char ***want, size_t *n, size_t *cap, struct vp_buf *b)
{
	if (b->err || !b->s || vp_grow(want, cap, *n + 1, sizeof(**want)) < 0) {
		vp_buf_free(b);
		return -ENOMEM;
	}
	(*want)[(*n)++] = b->s;
	return 0;
}

/* The owner's accepts of family f, in iptables' words, into want[0..*n) (*cap allocated): each
 * forward accept (render-xt.c) and the accept of its replies. */
static int nb_wanted(const struct vp_ruleset *rs, const struct nft_fam *f, char ***want,
                     size_t *n, size_t *cap)
{
	int r = 0;

	for (size_t i = 0; r == 0 && i < rs->n; i++) {
		struct vp_buf b = {0}, reply = {0};

		if (rs->r[i].family != f->af || rs->r[i].stage != VP_ST_FWD_ACCEPT)
			continue;
		vp_render_xt_rule(&rs->r[i], rs->owner, &b);
		render_reply(&rs->r[i], rs->owner, &reply);
		r = want_add(want, n, cap, &b);
		if (r == 0)
			r = want_add(want, n, cap, &reply);
		else
			vp_buf_free(&reply);
	}
	return r;
}

/* Whether the owner's rules are exactly want, on top of chain. */
static bool nb_same(const struct nb_view *v, const char *chain, char *const *want, size_t n)
{
	if (v->n_mine != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (strcmp(v->mine[i]->chain, chain) || strcmp(v->mine[i]->spec, want[i]))
			return false;
	return !n || v->head[!strcmp(chain, NB_DOCKER)] == v->mine[0];
}

static int nb_save(size_t fi, const struct vp_fw_opts *o, struct vp_buf *out)
{
	const char *argv[] = {save_tool[fi], "-t", NB_TABLE, NULL};
	struct vp_buf err = {0};
	int r = vp_spawn(argv, NULL, 0, out, VP_SPAWN_OUT_MAX, &err, o->hold_fd > 0 ? o->hold_fd : -1,
	                 o->deadline);

	if (r != 0) {
		vp_log(LOG_ERR, "cannot list iptables-nft's filter table with %s: %s", argv[0],
		       r < 0 ? strerror(-r) : "it failed");
		vp_log_lines(LOG_ERR, argv[0], "said", err.s);
	}
	vp_buf_free(&err);
	return r == 0 ? 0 : r < 0 ? r : -EIO;
}

/* One family: read iptables-nft's filter table, change what differs in one restore batch. */
static int nb_family(const struct vp_ruleset *rs, size_t fi, const struct vp_fw_opts *o)
{
	const struct nft_fam *f = &vp_nft_fams[fi];
	struct nb_view v = {0};
	struct vp_buf save = {0}, b = {0};
	struct vp_listing ls = {0};
	char **want = NULL;
	size_t n_want = 0, cap_want = 0;
	const char *chain;
	int r = nb_save(fi, o, &save);

	ls.text = save.s;   /* the listing's now */
	save = (struct vp_buf){0};
	if (r == 0 && ls.text)
		r = vp_listing_parse_xt(&ls);
	if (r == 0)
		r = nb_parse(&ls, rs->owner, &v);
	if (r == 0 && v.drop)
		r = nb_wanted(rs, f, &want, &n_want, &cap_want);
	chain = v.docker_user ? NB_DOCKER : NB_CHAIN;
	if (r < 0 || nb_same(&v, chain, want, n_want))
		goto out;
	vp_buf_printf(&b, "*" NB_TABLE "\n");
	for (size_t i = 0; i < v.n_mine; i++)
		vp_buf_printf(&b, "-D %s %s\n", v.mine[i]->chain, v.mine[i]->spec);
	for (size_t i = n_want; i-- > 0;)
		vp_buf_printf(&b, "-I %s 1 %s\n", chain, want[i]);
	vp_buf_printf(&b, "COMMIT\n");
	if (n_want)
		vp_log(LOG_INFO, "%s filter " NB_CHAIN " drops forwarded traffic: %s's accepts go "
		       "to %s", f->name, rs->owner, chain);
	r = b.err ? b.err : vp_xt_restore(&vp_xt_tools_nft, (int)fi, &b, o);
out:
	for (size_t i = 0; i < n_want; i++)
		free(want[i]);
	free(want);
	nb_view_free(&v);
	vp_listing_free(&ls);
	vp_buf_free(&save);
	vp_buf_free(&b);
	return r;
}

int vp_nft_neighbours(struct vp_nfnl *q, const struct vp_ruleset *rs, const struct vp_fw_opts *o)
{
	unsigned use;
	int r = 0;

	for (size_t fi = 0; r == 0 && fi < N_FAMS; fi++) {
		const struct nft_fam *f = &vp_nft_fams[fi];
		if (o->families && !(o->families & f->bit) && !vp_nft_has_family(rs, f->af))
			continue;
		/* No iptables-nft filter FORWARD: nothing that drops, and nothing of ours there. */
		if (vp_nfnl_chain_use(q, f->af, NB_TABLE, NB_CHAIN, &use) == 0)
			r = nb_family(rs, fi, o);
	}
	return r;
}
