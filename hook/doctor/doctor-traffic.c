/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The doctor's traffic stage: packet counters of each forward's rules and of libvirt's reject
 * on its bridge, since the last check, so that "the DNAT counts but the accept does not" shows.
 * The previous counters are kept per guest in the state directory, "<uuid>.doctor":
 *   time UNIXTIME
 *   PACKETS<TAB>TABLE CHAIN RULE-SPEC
 * (a rule's text is its identity: a rule made again starts from zero, and then so do we). */
#include "doctor-int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define COUNTERS_MAX (4u << 20)

struct tally {
	uint64_t cur, delta;
	bool seen;                  /* a rule was found to count */
};

static bool uuid_ok(const char *uuid)
{
	size_t n = strlen(uuid);
	return n > 0 && n < 64 && strspn(uuid, "0123456789abcdef-") == n;
}

static char *counters_load(const char *uuid)
{
	char *buf = NULL;
	size_t len;
	int dirfd = vp_state_open_dir();

	if (dirfd < 0)
		return NULL;
	if (vp_state_get(dirfd, uuid, "doctor", COUNTERS_MAX, &buf, &len) < 0)
		buf = NULL;
	close(dirfd);
	return buf;
}

/* Replace the side file atomically. Best effort: the doctor still reports without it. The
 * guest's removal drops it with its state. */
static void counters_save(const char *uuid, const struct vp_buf *b)
{
	int dirfd = vp_state_open_dir();

	if (dirfd < 0)
		return;
	if (b->s && !b->err)
		vp_state_put(dirfd, uuid, "doctor", b->s, b->len);
	close(dirfd);
}

/* The value of "key" in the previous counters. */
bool dr_counters_get(const char *text, const char *key, uint64_t *ret)
{
	size_t kl = strlen(key);

	for (const char *line = text; line && *line;) {
		const char *eol = strchr(line, '\n'), *tab = strchr(line, '\t');
		size_t ll = eol ? (size_t)(eol - line) : strlen(line);
		unsigned long v;
		if (tab && tab < line + ll && (size_t)(line + ll - tab - 1) == kl &&
		    !memcmp(tab + 1, key, kl) &&
		    vp_parse_uint(line, (size_t)(tab - line), 0, ULONG_MAX, &v) == 0) {
			*ret = v;
			return true;
		}
		line = eol ? eol + 1 : NULL;
	}
	return false;
}

long long dr_counters_time(const char *text)
{
	unsigned long v;
	size_t n;

	if (!text || strncmp(text, "time ", 5))
		return -1;
	n = strcspn(text + 5, "\n");
	return vp_parse_uint(text + 5, n, 0, LLONG_MAX, &v) == 0 ? (long long)v : -1;
}

/* Count one listed rule under key "TABLE CHAIN SPEC"; keep it for the next check. */
static void count(const struct vp_listed_rule *l, const char *prev, struct vp_buf *next,
                  struct tally *t)
{
	struct vp_buf key = {0};
	uint64_t p;

	vp_buf_printf(&key, "%s %s %s", l->table, l->chain, l->spec);
	if (!key.s)
		return;
	t->seen = true;
	t->cur += l->pkts;
	t->delta += prev && dr_counters_get(prev, key.s, &p) && p <= l->pkts ? l->pkts - p : l->pkts;
	if (!next->s || !dr_counters_get(next->s, key.s, &p))
		vp_buf_printf(next, "%llu\t%s\n", (unsigned long long)l->pkts, key.s);
	vp_buf_free(&key);
}

static void count_stage(const struct vp_listing *s, int v, const struct dr_fwd *fw,
                        enum vp_stage st, const char *prev, struct vp_buf *next, struct tally *t)
{
	for (size_t k = 0; k < fw->rs.n; k++) {
		const struct vp_listed_rule *l;
		struct vp_where w;
		if (fw->rs.r[k].stage != st || dr_where(v, &fw->rs.r[k], fw->rs.owner, &w) < 0)
			continue;
		l = vp_listing_find(s, w.table, w.chain, w.spec);
		if (l)
			count(l, prev, next, t);
		vp_where_free(&w);
	}
}

/* libvirt's reject of new connections into the network: iptables "-o BR -j REJECT" in
 * LIBVIRT_FWI, nft "oif "BR" counter reject" in guest_input. */
static const struct vp_listed_rule *libvirt_reject(const struct vp_listing *s, int v,
                                                   const char *bridge)
{
	bool nft = v == DR_NFTABLES;
	const char *table = nft ? "libvirt_network" : "filter";
	const char *chain = nft ? "guest_input" : "LIBVIRT_FWI";
	const char *verdict = nft ? " reject" : " -j REJECT";
	char head[VP_NAME_MAX + 16], head2[VP_NAME_MAX + 16];

	/* libvirt 11 matches the bridge by index (oif); "oifname" is accepted too. */
	snprintf(head, sizeof(head), nft ? "oif \"%s\" " : "-o %s ", bridge);
	snprintf(head2, sizeof(head2), nft ? "oifname \"%s\" " : "-o %s ", bridge);
	for (size_t i = 0; i < s->n; i++) {
		const char *sp = s->l[i].spec;
		if (!strcmp(s->l[i].chain, chain) && !strcmp(s->l[i].table, table) &&
		    (!strncmp(sp, head, strlen(head)) || !strncmp(sp, head2, strlen(head2))) &&
		    strstr(sp, verdict))
			return &s->l[i];
	}
	return NULL;
}

static const char *plural(uint64_t n)
{
	return n == 1 ? "" : "s";
}

static void report(struct doctor *dr, const struct dr_fwd *fw, const char *since,
                   const struct tally *t)
{
	unsigned long long dnat = t[0].delta, local = t[1].delta, acc = t[2].delta, rej = t[3].delta;
	char rejected[VP_NAME_MAX + 64] = "";

	if (t[3].seen)
		snprintf(rejected, sizeof(rejected), "; libvirt's reject on %s %llu packet%s",
		         fw->net->in->net.bridge, rej, plural(rej));
	if (dnat && t[2].seen && !acc)
		dr_report(dr, "traffic", fw->label, DR_FAIL, "the connections are dropped between "
		          "the DNAT and our accept: see the failing rules checks (our accept below "
		          "libvirt's reject, a foreign rule ahead of ours), fix them, connect again and "
		          "run the doctor again", "%s: the DNAT took %llu new connection%s but our "
		          "accept saw none of their packets%s", since, dnat, plural(dnat), rejected);
	else
		dr_report(dr, "traffic", fw->label, DR_OK, NULL, "%s: DNAT %llu new connection%s, "
		          "from the host itself %llu, accept %llu packet%s%s", since, dnat,
		          plural(dnat), local, acc, plural(acc), rejected);
}

void dr_check_traffic(struct doctor *dr, const struct dr_guest *g)
{
	char *prev;
	char since[64] = "since the rules were installed", d[32];
	struct vp_buf next = {0};
	long long then;

	if (!g->n_fw || !uuid_ok(g->d.uuid))
		return;
	prev = counters_load(g->d.uuid);
	then = dr_counters_time(prev);
	if (then >= 0 && then <= (long long)dr->c->now) {
		long long s = (long long)dr->c->now - then;
		if (s < 120)
			snprintf(d, sizeof(d), "%lld s", s);
		else
			snprintf(d, sizeof(d), "%lld min", s / 60);
		snprintf(since, sizeof(since), "since the last check, %s ago", d);
	}
	vp_buf_printf(&next, "time %lld\n", (long long)dr->c->now);
	for (size_t i = 0; i < g->n_fw; i++) {
		const struct dr_fwd *fw = &g->fw[i];
		int v = fw->net ? dr_variant(fw->net->lv) : -1;
		const struct vp_listing *s = v >= 0 && fw->planned ? dr_listing(dr, v, fw->f->family) : NULL;
		struct tally t[4] = {{0}};   /* DNAT, OUTPUT DNAT, accept, libvirt's reject */
		const struct vp_listed_rule *rej;
		if (!s || s->r < 0)
			continue;   /* the rules checks said why */
		count_stage(s, v, fw, VP_ST_PRE_DNAT, prev, &next, &t[0]);
		count_stage(s, v, fw, VP_ST_OUT_DNAT, prev, &next, &t[1]);
		count_stage(s, v, fw, VP_ST_FWD_ACCEPT, prev, &next, &t[2]);
		if ((rej = libvirt_reject(s, v, fw->net->in->net.bridge)))
			count(rej, prev, &next, &t[3]);
		if (t[0].seen || t[1].seen || t[2].seen)
			report(dr, fw, since, t);
		else
			dr_report(dr, "traffic", fw->label, DR_SKIP, NULL, "no rule of ours to count");
	}
	/* Only with a state to go with: its removal drops the counters (a guest without rules of
	 * ours would keep them forever). */
	if (g->installed)
		counters_save(g->d.uuid, &next);
	vp_buf_free(&next);
	free(prev);
}
