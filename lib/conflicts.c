/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Other tools' DNATs on host ports (conflicts.h). A rule is read as words (a quoted comment is
 * one word); only the words that say what it takes are looked at: protocol, destination
 * address, destination ports, and that its verdict is a DNAT or a redirect. Anything it cannot
 * read with certainty (a negated port, a port given by name) is no finding: a warning is always
 * about a rule seen. */
#include "conflicts.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "util.h"

#define MAX_WORDS  256   /* a rule with more words is read up to there */
#define MAX_RANGES 64    /* ports of one rule's set */

struct word {
	const char *s;
	size_t n;
};

struct rule {
	struct word w[MAX_WORDS];
	size_t n;
	const char *tool;
	int protos[3];               /* IPPROTO_*; 0 ends */
	int family;
	struct vp_addr addr;
	unsigned lo[MAX_RANGES], hi[MAX_RANGES];
	size_t n_ports;
	bool nat;                    /* its verdict DNATs or redirects */
	bool unsure;                 /* a negation or a name where a port was expected */
};

/* Words separated by spaces; "..." is one word with its quotes. */
static void split(struct rule *r, const char *s)
{
	r->n = 0;
	while (*s && r->n < MAX_WORDS) {
		size_t n;
		s += strspn(s, " \t");
		if (!*s)
			break;
		if (*s == '"') {
			const char *end = strchr(s + 1, '"');
			n = end ? (size_t)(end - s) + 1 : strlen(s);
		} else {
			n = strcspn(s, " \t");
		}
		r->w[r->n++] = (struct word){s, n};
		s += n;
	}
}

static bool is(const struct rule *r, size_t i, const char *lit)
{
	return i < r->n && r->w[i].n == strlen(lit) && !memcmp(r->w[i].s, lit, r->w[i].n);
}

static int proto_of(const char *s, size_t n)
{
	if (n == 3 && !memcmp(s, "tcp", 3))
		return IPPROTO_TCP;
	if (n == 3 && !memcmp(s, "udp", 3))
		return IPPROTO_UDP;
	return n == 4 && !memcmp(s, "sctp", 4) ? IPPROTO_SCTP : 0;
}

static void add_proto(struct rule *r, int p)
{
	for (size_t i = 0; p && i < VP_ARRAY_SIZE(r->protos); i++) {
		if (r->protos[i] == p)
			return;
		if (!r->protos[i]) {
			r->protos[i] = p;
			return;
		}
	}
}

/* "8080", "8000-8010" (nft) or "8000:8010" (iptables), with a trailing ',' of a list cut. */
static void add_range(struct rule *r, const char *s, size_t n, char sep)
{
	const char *mid;
	unsigned long lo, hi;

	while (n && (s[n - 1] == ',' || s[n - 1] == '}'))
		n--;
	if (!n)
		return;
	mid = memchr(s, sep, n);
	if (vp_parse_uint(s, mid ? (size_t)(mid - s) : n, 1, 65535, &lo) < 0 ||
	    (mid && vp_parse_uint(mid + 1, n - (size_t)(mid - s) - 1, lo, 65535, &hi) < 0)) {
		r->unsure = true;   /* a service name, or what this reader does not know */
		return;
	}
	if (!mid)
		hi = lo;
	if (r->n_ports < MAX_RANGES) {
		r->lo[r->n_ports] = (unsigned)lo;
		r->hi[r->n_ports++] = (unsigned)hi;
	}
}

/* An address as the rule gives it: one host (ADDR, ADDR/32, ADDR/128) or, for a network or
 * what cannot be read, any. */
static void set_addr(struct rule *r, const struct word *w)
{
	const char *slash = memchr(w->s, '/', w->n);
	size_t n = slash ? (size_t)(slash - w->s) : w->n;
	struct vp_addr a;

	if (vp_addr_parse(w->s, n, &a) < 0)
		return;
	if (slash) {
		const char *host = a.family == AF_INET ? "/32" : "/128";
		if (w->n - n != strlen(host) || memcmp(slash, host, w->n - n))
			return;
	}
	r->addr = a;
}

/* ------------------------------------------------------------------------------------------- */
/* iptables-save */

static const char *xt_tool(const char *table, const char *chain)
{
	size_t n = strlen(chain);

	if (strcmp(table, "nat") != 0)
		return NULL;
	if (!strcmp(chain, "DOCKER"))
		return "Docker";
	if (!strncmp(chain, "NETAVARK-", 9))
		return "netavark";
	if (!strncmp(chain, "PRE_", 4) && n > 10 && !strcmp(chain + n - 6, "_allow"))
		return "firewalld";
	return NULL;
}

static void xt_words(struct rule *r)
{
	for (size_t i = 0; i < r->n; i++) {
		bool neg = i > 0 && is(r, i - 1, "!");
		const struct word *next = i + 1 < r->n ? &r->w[i + 1] : NULL;
		if (!next)
			break;
		if (is(r, i, "-p"))
			add_proto(r, neg ? 0 : proto_of(next->s, next->n));
		else if (is(r, i, "-d") && !neg)
			set_addr(r, next);
		else if (is(r, i, "--dport") || is(r, i, "--destination-port") ||
		         is(r, i, "--dports") || is(r, i, "--destination-ports")) {
			if (neg)
				r->unsure = true;
			for (const char *p = next->s, *end = next->s + next->n; !neg && p < end;) {
				const char *comma = memchr(p, ',', (size_t)(end - p));
				size_t n = comma ? (size_t)(comma - p) : (size_t)(end - p);
				add_range(r, p, n, ':');
				p += n + 1;
			}
		} else if (is(r, i, "-j")) {
			r->nat = is(r, i + 1, "DNAT") ||
			         (is(r, i + 1, "REDIRECT") && !strcmp(r->tool, "firewalld"));
		}
	}
}

/* ------------------------------------------------------------------------------------------- */
/* nft */

static const char *nft_tool(const char *table)
{
	if (!strncmp(table, "docker", 6))
		return "Docker";
	if (!strcmp(table, "netavark"))
		return "netavark";
	return !strcmp(table, "firewalld") ? "firewalld" : NULL;
}

/* The ports after "dport": one, a range, or a set "{ 80, 443, 8000-8010 }"; "!=" or a set
 * reference is not read. The index of the last word used. */
static size_t nft_ports(struct rule *r, size_t i)
{
	if (i >= r->n || is(r, i, "!=") || r->w[i].s[0] == '@') {
		r->unsure = true;
		return i;
	}
	if (!is(r, i, "{")) {
		add_range(r, r->w[i].s, r->w[i].n, '-');
		return i;
	}
	for (i++; i < r->n && !is(r, i, "}"); i++)
		add_range(r, r->w[i].s, r->w[i].n, '-');
	return i;
}

/* "meta l4proto tcp" or "meta l4proto { tcp, udp }", for "th dport". */
static size_t nft_l4proto(struct rule *r, size_t i)
{
	if (!is(r, i, "{")) {
		add_proto(r, i < r->n ? proto_of(r->w[i].s, r->w[i].n) : 0);
		return i;
	}
	for (i++; i < r->n && !is(r, i, "}"); i++) {
		size_t n = r->w[i].n;
		while (n && r->w[i].s[n - 1] == ',')
			n--;
		add_proto(r, proto_of(r->w[i].s, n));
	}
	return i;
}

static void nft_family(struct rule *r, int family)
{
	if (!r->family)
		r->family = family;
}

static void nft_words(struct rule *r)
{
	for (size_t i = 0; i < r->n; i++) {
		if (is(r, i, "comment")) {
			i++;
		} else if ((is(r, i, "ip") || is(r, i, "ip6")) && is(r, i + 1, "daddr")) {
			nft_family(r, is(r, i, "ip") ? AF_INET : AF_INET6);
			if (i + 2 < r->n && !is(r, i + 2, "!=") && !is(r, i + 2, "{"))
				set_addr(r, &r->w[i + 2]);
			i += 2;
		} else if (is(r, i, "ip") || is(r, i, "ip6")) {
			nft_family(r, is(r, i, "ip") ? AF_INET : AF_INET6);
		} else if (is(r, i, "meta") && is(r, i + 1, "nfproto")) {
			nft_family(r, is(r, i + 2, "ipv4") ? AF_INET : is(r, i + 2, "ipv6") ? AF_INET6 : 0);
			i += 2;
		} else if (is(r, i, "meta") && is(r, i + 1, "l4proto")) {
			i = nft_l4proto(r, i + 2);
		} else if (is(r, i + 1, "dport") && proto_of(r->w[i].s, r->w[i].n)) {
			add_proto(r, proto_of(r->w[i].s, r->w[i].n));
			i = nft_ports(r, i + 2);
		} else if (is(r, i, "th") && is(r, i + 1, "dport")) {
			i = nft_ports(r, i + 2);
		} else if (is(r, i, "dnat")) {
			/* "dnat to A", "dnat ip to A", "dnat ip6 to A"; not "ct status dnat" */
			r->nat = is(r, i + 1, "to") || ((is(r, i + 1, "ip") || is(r, i + 1, "ip6")) &&
			                                is(r, i + 2, "to"));
			if (r->nat && !is(r, i + 1, "to"))
				nft_family(r, is(r, i + 1, "ip") ? AF_INET : AF_INET6);
			i += 2;
		} else if (is(r, i, "redirect") && !is(r, i - 1, "status")) {
			r->nat = true;
		}
	}
}

/* ------------------------------------------------------------------------------------------- */

/* "iptables-nft nat DOCKER rule 3", "nftables inet netavark nv_1_dnat rule 2" */
static void where(const struct vp_other_src *src, char *out, size_t n)
{
	const char *fam = "";

	if (!strcmp(src->listing, "nftables"))
		fam = src->family == AF_INET ? "ip " : src->family == AF_INET6 ? "ip6 " : "inet ";
	snprintf(out, n, "%s %s%s %s rule %u", src->listing, fam, src->table, src->chain, src->pos);
}

static int add_found(struct vp_other_dnats *out, const struct vp_other_src *src,
                     const struct rule *r)
{
	int added = 0;

	if (!r->nat || r->unsure || !r->n_ports || !r->protos[0])
		return 0;
	if (r->addr.family && r->family && r->addr.family != r->family)
		return 0;   /* an address of the other family: matches nothing */
	for (size_t p = 0; p < VP_ARRAY_SIZE(r->protos) && r->protos[p]; p++)
		for (size_t i = 0; i < r->n_ports; i++) {
			struct vp_other_dnat *d;
			if (vp_grow(&out->d, &out->cap, out->n + 1, sizeof(*out->d)) < 0)
				return -ENOMEM;
			d = &out->d[out->n++];
			*d = (struct vp_other_dnat){.tool = r->tool, .proto = r->protos[p], .family = r->family,
			                      .addr = r->addr, .port = r->lo[i], .port_end = r->hi[i]};
			if (d->addr.family && !d->family)
				d->family = d->addr.family;
			where(src, d->where, sizeof(d->where));
			added = 1;
		}
	return added;
}

int vp_other_dnat_xt(struct vp_other_dnats *out, const struct vp_other_src *src, const char *spec)
{
	struct rule r = {0};

	if (!(r.tool = xt_tool(src->table, src->chain)))
		return 0;
	r.family = src->family;
	split(&r, spec);
	xt_words(&r);
	return add_found(out, src, &r);
}

int vp_other_dnat_nft(struct vp_other_dnats *out, const struct vp_other_src *src, const char *rule)
{
	struct rule r = {0};

	if (!(r.tool = nft_tool(src->table)))
		return 0;
	r.family = src->family;
	split(&r, rule);
	nft_words(&r);
	return add_found(out, src, &r);
}

static bool is_loopback(const struct vp_addr *a)
{
	if (a->family == AF_INET)
		return (ntohl(a->v4.s_addr) >> 24) == 127;
	return a->family == AF_INET6 && IN6_IS_ADDR_LOOPBACK(&a->v6);
}

const struct vp_other_dnat *vp_other_dnat_conflict(const struct vp_other_dnats *d,
                                                   const struct vp_forward *f)
{
	for (size_t i = 0; i < d->n; i++) {
		const struct vp_other_dnat *x = &d->d[i];
		if (x->proto != f->proto || (x->family && x->family != f->family) ||
		    x->port_end < f->host_port || x->port > f->host_port_end)
			continue;
		if (x->addr.family && f->host_addr.family && !vp_addr_equal(&x->addr, &f->host_addr))
			continue;
		if (x->addr.family && !f->host_addr.family && is_loopback(&x->addr) && !f->local)
			continue;
		return x;
	}
	return NULL;
}

const char *vp_other_dnat_ports_str(const struct vp_other_dnat *d, char *out, size_t n)
{
	char a[VP_ADDR_STRLEN];
	int len;

	if (d->port == d->port_end)
		len = snprintf(out, n, "%s port %u", vp_proto_name(d->proto), d->port);
	else
		len = snprintf(out, n, "%s ports %u-%u", vp_proto_name(d->proto), d->port,
		               d->port_end);
	if (d->addr.family && len > 0 && (size_t)len < n)
		snprintf(out + len, n - (size_t)len, " on %s", vp_addr_str(&d->addr, a));
	return out;
}

void vp_other_dnats_free(struct vp_other_dnats *d)
{
	free(d->d);
	*d = (struct vp_other_dnats){0};
}
