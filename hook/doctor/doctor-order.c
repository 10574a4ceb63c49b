/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The doctor's host-wide rule checks: our accept above libvirt's reject in the chain where both
 * hang (the classic failure: DNAT in place, "connection refused", libvirt's LIBVIRT_FWI rejects
 * first), and nothing of ours in the other iptables variant's tables, where rules count
 * packets and do nothing. */
#include "doctor-int.h"

#include <stdio.h>
#include <string.h>

/* The variants the forwards looked at need, one bit each. */
static unsigned variants_in_use(const struct doctor *dr)
{
	unsigned m = 0;

	for (size_t i = 0; i < dr->n_nets; i++) {
		const struct dr_net *n = &dr->nets[i];
		int v = n->in->r == 0 && n->lv_r == 0 ? dr_variant(n->lv) : -1;
		if (v >= 0)
			m |= 1u << v;
	}
	return m;
}

/* In table/chain: the first rule containing `needle`, or with last, the last one. */
static const struct vp_listed_rule *rule_with(const struct vp_listing *s, const char *table,
                                              const char *chain, const char *needle, bool last)
{
	const struct vp_listed_rule *found = NULL;

	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->l[i].chain, chain) && !strcmp(s->l[i].table, table) &&
		    strstr(s->l[i].spec, needle)) {
			found = &s->l[i];
			if (!last)
				break;
		}
	return found;
}

static unsigned chain_len(const struct vp_listing *s, const char *table, const char *chain)
{
	unsigned n = 0;

	for (size_t i = 0; i < s->n; i++)
		n += !strcmp(s->l[i].chain, chain) && !strcmp(s->l[i].table, table);
	return n;
}

/* Our accept (iptables: the jump to our chain; nft: the last accept of ours) against libvirt's
 * way to its reject (iptables: the jump to LIBVIRT_FWI; nft: the jump to guest_input). */
static void check_position_in(struct doctor *dr, int v, int family)
{
	const struct vp_listing *s = dr_listing(dr, v, family);
	bool nft = v == DR_NFTABLES;
	const char *table = nft ? "libvirt_network" : "filter", *chain = nft ? "forward" : "FORWARD";
	const char *where = nft ? (family == AF_INET6 ? "ip6 libvirt_network forward"
	                                              : "ip libvirt_network forward") : "FORWARD";
	const char *theirs = nft ? "guest_input" : "LIBVIRT_FWI";
	const struct vp_listed_rule *ours, *lv;
	char subj[96];

	if (s->r < 0)
		return;   /* the rule checks reported it */
	snprintf(subj, sizeof(subj), "%s (%s, %s)", where, family == AF_INET6 ? "IPv6" : "IPv4",
	         dr_variant_name(v));
	ours = nft ? rule_with(s, table, chain, "comment \"" VP_OWNER_PREFIX, true)
	           : vp_listing_jump(s, table, chain, VP_CHAIN_FWD);
	lv = nft ? rule_with(s, table, chain, "jump guest_input", false)
	         : vp_listing_jump(s, table, chain, "LIBVIRT_FWI");
	if (!ours)
		dr_report(dr, "rules.position", subj, DR_SKIP, NULL, "no accept of ours in %s (the "
		          "accept checks say more)", where);
	else if (!lv)
		dr_report(dr, "rules.position", subj, DR_OK, NULL, "our accept is rule %u of %s, which "
		          "does not jump to libvirt's %s", ours->pos, where, theirs);
	else if (ours->pos < lv->pos)
		dr_report(dr, "rules.position", subj, DR_OK, NULL, "our accept (rule %u of %u in %s) is "
		          "above libvirt's reject (its jump to %s is rule %u)", ours->pos,
		          chain_len(s, table, chain), where, theirs, lv->pos);
	else
		dr_report(dr, "rules.position", subj, DR_FAIL, "run `virt-portfwd apply`: it puts our "
		          "accept back on top. libvirt put its jumps above ours (a network restart, a "
		          "firewall reload); installed as libvirt's network hook, virt-portfwd does this "
		          "by itself", "our accept is below libvirt's reject in %s (ours is rule %u of "
		          "%u, the jump to %s rule %u): new connections to the guests are rejected "
		          "before our accept sees them", where, ours->pos, chain_len(s, table, chain),
		          theirs, lv->pos);
}

void dr_check_position(struct doctor *dr)
{
	unsigned m = variants_in_use(dr);

	for (int v = 0; v < DR_VARIANTS; v++)
		for (int fi = 0; fi < 2; fi++)
			if ((m & (1u << v)) && (dr->families & (fi ? VP_FAM_V6 : VP_FAM_V4)))
				check_position_in(dr, v, fi ? AF_INET6 : AF_INET);
}

static bool installed_with(const struct doctor *dr, const char *backend)
{
	for (size_t i = 0; i < dr->n_g; i++)
		if (dr->g[i].installed && !strcmp(dr->g[i].st.backend, backend))
			return true;
	return false;
}

/* Rules and chains of ours in one iptables variant's tables, both families; on libvirt's
 * nftables backend, our accepts in iptables-nft's FORWARD do count there (doctor-hooks.c). */
static size_t count_ours(struct doctor *dr, int v, int used, bool *ret_failed)
{
	bool hook_accepts = v == DR_IPT_NFT && used == DR_NFTABLES;
	size_t n = 0;

	for (int fi = 0; fi < 2; fi++) {
		const struct vp_listing *s = dr_listing(dr, v, fi ? AF_INET6 : AF_INET);
		*ret_failed |= s->r < 0;
		for (size_t i = 0; i < s->n; i++)
			n += !strncmp(s->l[i].chain, "VIRT_PORTFWD_", 13) ||
			     (strstr(s->l[i].spec, VP_TAG) != NULL &&
			      !(hook_accepts && dr_hooks_accept(&s->l[i])));
		for (size_t i = 0; i < s->n_c; i++)
			n += !strncmp(s->c[i].name, "VIRT_PORTFWD_", 13);
	}
	return n;
}

static void check_other(struct doctor *dr, int v, int used)
{
	bool failed = false;
	size_t n = count_ours(dr, v, used, &failed);
	char fix[512], subj[64];

	snprintf(subj, sizeof(subj), "%s tables", dr_variant_name(v));
	if (!n) {
		dr_report(dr, "rules.other_tables", subj, DR_OK, NULL, "nothing of ours in %s%s",
		          dr_variant_place(v), failed ? " (as far as it could be listed)" : "");
		return;
	}
	if (installed_with(dr, dr_variant_name(v)))
		snprintf(fix, sizeof(fix), "our state records rules installed with %s: remove `set "
		         "backend` from the table if it forces that, then run `virt-portfwd flush` and "
		         "`virt-portfwd apply`", dr_variant_name(v));
	else
		snprintf(fix, sizeof(fix), "delete them: `%s-save | grep -v -e virt-portfwd -e "
		         "VIRT_PORTFWD | %s-restore` (and the same with ip6tables for IPv6), then run "
		         "`virt-portfwd apply`", dr_tool(v, AF_INET), dr_tool(v, AF_INET));
	dr_report(dr, "rules.other_tables", subj, DR_FAIL, fix, "%zu rules and chains of ours are "
	          "in %s, where they do nothing: libvirt's rules, and so ours, are in %s", n,
	          dr_variant_place(v), dr_variant_place(used));
}

void dr_check_other_tables(struct doctor *dr)
{
	unsigned m = variants_in_use(dr);
	int used = -1;

	for (int v = 0; v < DR_VARIANTS; v++)
		if (m == 1u << v)
			used = v;
	if (used < 0)
		return;   /* no forward got as far as a network, or networks disagree */
	for (int v = 0; v < DR_NFTABLES; v++)
		if (v != used)
			check_other(dr, v, used);
}

int dr_owned_rules(struct doctor *dr, const struct dr_guest *g)
{
	char owner[VP_OWNER_MAX + 2];
	int found = -1;

	snprintf(owner, sizeof(owner), "\"" VP_OWNER_PREFIX "%s\"", g->d.uuid);
	for (size_t k = 0; k < g->n_fw && found < 1; k++) {
		const struct dr_fwd *fw = &g->fw[k];
		int v = fw->net ? dr_variant(fw->net->lv) : -1;
		const struct vp_listing *s = v >= 0 ? dr_listing(dr, v, fw->f->family) : NULL;
		if (!s || s->r < 0)
			continue;
		found = 0;
		for (size_t i = 0; i < s->n && !found; i++)
			found = strstr(s->l[i].spec, owner) != NULL;
	}
	return found;
}
