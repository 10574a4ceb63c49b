/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Foreign rules that shadow ours: a rule of a built-in chain, ahead of our jump, that takes the
 * forward's traffic away (FORWARD: DROP or REJECT before our accept; nat PREROUTING: a DNAT,
 * REDIRECT or ACCEPT before our DNAT). A rule is reported only when each of its matches
 * certainly matches the forward's traffic: a match this reader does not understand, or one
 * that depends on what is unknown here (the client's address, the input interface), makes
 * it stay silent rather than cry wolf. */
#include "doctor-int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CT_NEW  1u
#define CT_EST  2u
#define CT_DNAT 4u
#define CT_OTHER 8u

enum tri { T_NO = 0, T_YES, T_UNKNOWN };

/* The traffic as one chain sees it. */
struct flow {
	const struct vp_forward *f;
	const struct vp_addr *dst;      /* NULL: "some local address" */
	bool dst_local;
	const char *oif;                /* NULL: not known at this hook */
	uint16_t dport, dport_end;
	unsigned ct;                    /* CT_* the forward's packets have here */
};

/* Next word of a rule spec; a "quoted value" loses its quotes. NULL at the end. */
static const char *next_word(const char **p, char *buf, size_t n)
{
	const char *s = *p;
	size_t k = 0;

	while (*s == ' ')
		s++;
	if (!*s)
		return NULL;
	if (*s == '"') {
		for (s++; *s && *s != '"'; s++) {
			if (*s == '\\' && s[1])
				s++;
			if (k + 1 < n)
				buf[k++] = *s;
		}
		if (*s)
			s++;
	} else {
		for (; *s && *s != ' '; s++)
			if (k + 1 < n)
				buf[k++] = *s;
	}
	buf[k] = '\0';
	*p = s;
	return buf;
}

static enum tri cidr_match(const char *val, const struct vp_addr *a)
{
	struct vp_cidr c;

	if (!a || vp_cidr_parse(val, strlen(val), &c) < 0)
		return T_UNKNOWN;
	return vp_cidr_contains(&c, a) ? T_YES : T_NO;
}

/* -s: the clients are unknown; only when from= limits them can the answer be certain. */
static enum tri src_match(const struct flow *fl, const char *val)
{
	struct vp_cidr c;
	size_t in = 0, out = 0;

	if (!fl->f->n_from || vp_cidr_parse(val, strlen(val), &c) < 0)
		return T_UNKNOWN;
	for (size_t i = 0; i < fl->f->n_from; i++) {
		const struct vp_cidr *fr = &fl->f->from[i];
		if (fr->addr.family != c.addr.family)
			return T_UNKNOWN;
		if (fr->prefix >= c.prefix && vp_cidr_contains(&c, &fr->addr))
			in++;
		else if (!vp_cidr_contains(fr, &c.addr))
			out++;
	}
	return in == fl->f->n_from ? T_YES : out == fl->f->n_from ? T_NO : T_UNKNOWN;
}

static enum tri iface_match(const char *pattern, const char *name)
{
	size_t n = strlen(pattern);

	if (!name)
		return T_UNKNOWN;
	if (n && pattern[n - 1] == '+')
		return !strncmp(pattern, name, n - 1) ? T_YES : T_NO;
	return !strcmp(pattern, name) ? T_YES : T_NO;
}

static enum tri proto_match(const struct flow *fl, const char *val)
{
	unsigned long num;

	if (!strcmp(val, "all") || !strcmp(val, "0"))
		return T_YES;
	if (vp_parse_uint(val, strlen(val), 0, 255, &num) == 0)
		return (int)num == fl->f->proto ? T_YES : T_NO;
	return !strcmp(val, vp_proto_name(fl->f->proto)) ? T_YES : T_NO;
}

/* "22", "22:25" (--dport) or "22,80:89" (--dports): any overlap with the forward's ports. */
static enum tri ports_match(const struct flow *fl, const char *val)
{
	const char *p = val;

	while (*p) {
		size_t n = strcspn(p, ","), c = strcspn(p, ":");
		unsigned long lo, hi;
		if (c > n)
			c = n;
		if (vp_parse_uint(p, c, 0, 65535, &lo) < 0 ||
		    (c < n ? vp_parse_uint(p + c + 1, n - c - 1, 0, 65535, &hi) : (hi = lo, 0)) < 0)
			return T_UNKNOWN;
		if (lo <= fl->dport_end && hi >= fl->dport)
			return T_YES;
		p += n + (p[n] == ',');
	}
	return T_NO;
}

static enum tri ct_match(const struct flow *fl, const char *val)
{
	static const struct { const char *name; unsigned bit; } states[] = {
		{"NEW", CT_NEW}, {"ESTABLISHED", CT_EST}, {"DNAT", CT_DNAT}, {"RELATED", CT_OTHER},
		{"INVALID", CT_OTHER}, {"UNTRACKED", CT_OTHER}, {"SNAT", CT_OTHER},
	};
	unsigned mask = 0;

	for (const char *p = val; *p;) {
		size_t n = strcspn(p, ","), i;
		for (i = 0; i < VP_ARRAY_SIZE(states); i++)
			if (strlen(states[i].name) == n && !strncmp(p, states[i].name, n))
				break;
		if (i == VP_ARRAY_SIZE(states))
			return T_UNKNOWN;
		mask |= states[i].bit;
		p += n + (p[n] == ',');
	}
	return mask & fl->ct ? T_YES : T_NO;
}

static enum tri opt_match(const struct flow *fl, const char *opt, const char *val)
{
	if (!strcmp(opt, "-s"))
		return src_match(fl, val);
	if (!strcmp(opt, "-d"))
		return cidr_match(val, fl->dst);
	if (!strcmp(opt, "-o"))
		return iface_match(val, fl->oif);
	if (!strcmp(opt, "-p"))
		return proto_match(fl, val);
	if (!strcmp(opt, "--dport") || !strcmp(opt, "--dports"))
		return ports_match(fl, val);
	if (!strcmp(opt, "--ctstate") || !strcmp(opt, "--state"))
		return ct_match(fl, val);
	if (!strcmp(opt, "--dst-type"))
		return strcmp(val, "LOCAL") ? T_UNKNOWN : fl->dst_local ? T_YES : T_NO;
	if (!strcmp(opt, "--comment") || !strcmp(opt, "-m"))
		return T_YES;   /* no condition */
	return T_UNKNOWN;   /* -i and everything else */
}

/* Whether every match of the rule certainly matches the flow and its verdict is one of
 * `verdicts`; the verdict goes to target. */
static bool takes(const char *spec, const struct flow *fl, const char *const *verdicts,
                  char *target, size_t tn)
{
	char opt[64], val[512];
	const char *p = spec;
	bool neg = false;

	while (next_word(&p, opt, sizeof(opt))) {
		if (!strcmp(opt, "!")) {
			neg = true;
			continue;
		}
		if (!strcmp(opt, "-j")) {
			if (!next_word(&p, target, tn))
				return false;
			for (; *verdicts; verdicts++)
				if (!strcmp(*verdicts, target))
					return true;
			return false;
		}
		if (!strcmp(opt, "-g") || !next_word(&p, val, sizeof(val)))
			return false;
		enum tri t = opt_match(fl, opt, val);
		if (t == T_UNKNOWN || (t == T_YES) == neg)
			return false;
		neg = false;
	}
	return false;   /* no target: a rule that only counts */
}

/* The first rule ahead of our jump in table/chain that takes the flow; NULL if none. */
static const struct vp_listed_rule *shadow_in(const struct vp_listing *s, const char *table,
                                              const char *chain, const char *ours,
                                              const struct flow *fl, const char *const *verdicts,
                                              char *target, size_t tn)
{
	const struct vp_listed_rule *jump = vp_listing_jump(s, table, chain, ours);

	for (size_t i = 0; jump && i < s->n; i++) {
		const struct vp_listed_rule *l = &s->l[i];
		if (strcmp(l->chain, chain) || strcmp(l->table, table) || l->pos >= jump->pos)
			continue;
		if (takes(l->spec, fl, verdicts, target, tn))
			return l;
	}
	return NULL;
}

static const struct vp_rule *rule_of(const struct dr_fwd *fw, enum vp_stage st)
{
	for (size_t i = 0; i < fw->rs.n; i++)
		if (fw->rs.r[i].stage == st)
			return &fw->rs.r[i];
	return NULL;
}

static void report_shadow(struct doctor *dr, const struct dr_fwd *fw, const char *table,
                          const struct vp_listed_rule *l, const char *target, const char *tool)
{
	char fix[512];
	bool fwd = !strcmp(table, "filter");

	snprintf(fix, sizeof(fix), "that rule is not ours: delete it (`%s -t %s -D %s %u`), narrow "
	         "it, or put an exception above it; then run the doctor again", tool, table,
	         l->chain, l->pos);
	dr_report(dr, "rules.shadow", fw->label, DR_FAIL, fix, "%s%s rule %u (`%s`) %s this traffic "
	          "(-j %s) before our %s sees it", fwd ? "" : "nat ", l->chain, l->pos, l->spec,
	          fwd ? "drops" : "takes", target, fwd ? "accept" : "DNAT");
}

void dr_check_shadow(struct doctor *dr, const struct dr_fwd *fw, const struct vp_listing *s,
                     const char *tool)
{
	static const char *const drop[] = {"DROP", "REJECT", NULL};
	static const char *const divert[] = {"DNAT", "REDIRECT", "NETMAP", "ACCEPT", "RETURN",
	                                     "DROP", NULL};
	const struct vp_rule *acc = rule_of(fw, VP_ST_FWD_ACCEPT), *pre = rule_of(fw, VP_ST_PRE_DNAT);
	const struct vp_listed_rule *l = NULL;
	char target[64] = "";

	if (acc) {
		struct flow fl = {.f = fw->f, .dst = &acc->guest, .oif = acc->bridge,
		                  .dport = acc->gport, .dport_end = acc->gport_end,
		                  .ct = CT_NEW | CT_EST | CT_DNAT};
		l = shadow_in(s, "filter", "FORWARD", VP_CHAIN_FWD, &fl, drop, target, sizeof(target));
		if (l) {
			report_shadow(dr, fw, "filter", l, target, tool);
			return;
		}
	}
	if (pre) {
		struct flow fl = {.f = fw->f, .dst = pre->host_addr.family ? &pre->host_addr : NULL,
		                  .dst_local = true, .dport = pre->hport, .dport_end = pre->hport_end,
		                  .ct = CT_NEW};
		l = shadow_in(s, "nat", "PREROUTING", VP_CHAIN_PRE, &fl, divert, target, sizeof(target));
		if (l) {
			report_shadow(dr, fw, "nat", l, target, tool);
			return;
		}
	}
	dr_report(dr, "rules.shadow", fw->label, DR_OK, NULL, "no rule ahead of ours in FORWARD or "
	          "nat PREROUTING drops or diverts this traffic");
}
