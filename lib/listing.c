/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Normalised listings (listing.h): both tools' text read into rules and chains, the lookups in
 * them, and `iptables-save -c` run for one. */
#include "listing.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run.h"
#include "util.h"

void vp_listing_free(struct vp_listing *s)
{
	if (!s)
		return;
	free(s->text);
	free(s->l);
	free(s->c);
	*s = (struct vp_listing){0};
}

int vp_listing_add_chain(struct vp_listing *s, const char *table, const char *name)
{
	if (vp_grow(&s->c, &s->cap_c, s->n_c + 1, sizeof(*s->c)) < 0)
		return -ENOMEM;
	s->c[s->n_c++] = (struct vp_listed_chain){.table = table, .name = name};
	return 0;
}

int vp_listing_add(struct vp_listing *s, const char *table, const char *chain, const char *spec,
                   uint64_t pkts)
{
	const struct vp_listed_rule *prev;
	unsigned pos;

	if (vp_grow(&s->l, &s->cap, s->n + 1, sizeof(*s->l)) < 0)
		return -ENOMEM;
	/* Both tools list a chain's rules together, in order. */
	prev = s->n ? &s->l[s->n - 1] : NULL;
	pos = prev && !strcmp(prev->table, table) && !strcmp(prev->chain, chain) ? prev->pos + 1 : 1;
	s->l[s->n++] = (struct vp_listed_rule){table, chain, spec, pkts, pos};
	return 0;
}

/* ------------------------------------------------------------------------------------------- */
/* `iptables-save [-c]` */

/* ":CHAIN POLICY [p:b]" */
static int xt_chain(struct vp_listing *s, const char *table, char *line)
{
	char *sp = strchr(line, ' '), *end;
	int r;

	if (sp)
		*sp++ = '\0';
	r = vp_listing_add_chain(s, table, line);
	if (r == 0 && sp && *sp != '-') {
		if ((end = strchr(sp, ' ')))
			*end = '\0';
		s->c[s->n_c - 1].policy = sp;
	}
	return r;
}

/* "[pkts:bytes] -A CHAIN SPEC", or without the counters */
static int xt_rule(struct vp_listing *s, const char *table, char *line)
{
	unsigned long pkts = 0;
	char *p = line, *chain, *sp;
	const char *spec = "";

	if (*p == '[') {
		char *colon = strchr(p, ':'), *end = colon ? strchr(colon, ']') : NULL;
		if (!end || vp_parse_uint(p + 1, (size_t)(colon - p - 1), 0, ULONG_MAX, &pkts) < 0)
			return 0;
		p = end + 1;
		while (*p == ' ')
			p++;
	}
	if (strncmp(p, "-A ", 3) != 0)
		return 0;
	chain = p + 3;
	sp = strchr(chain, ' ');
	if (sp) {
		*sp = '\0';
		spec = sp + 1;
	}
	return vp_listing_add(s, table, chain, spec, pkts);
}

/* The next line of text at *at, cut off in place; NULL at the end. */
static char *next_line(char **at)
{
	char *line = *at, *nl;

	if (!line || !*line)
		return NULL;
	nl = strchr(line, '\n');
	if (nl)
		*nl++ = '\0';
	*at = nl ? nl : line + strlen(line);
	return line;
}

int vp_listing_parse_xt(struct vp_listing *s)
{
	const char *table = "";
	char *at = s->text, *line;
	int r = 0;

	while (r == 0 && (line = next_line(&at))) {
		if (line[0] == '*')
			table = line + 1;
		else if (line[0] == ':')
			r = xt_chain(s, table, line + 1);
		else
			r = xt_rule(s, table, line);
	}
	return r;
}

/* ------------------------------------------------------------------------------------------- */
/* nft's listing */

/* The stateful listing prints "counter packets N bytes M" where the rule as written says
 * "counter": cut it to that, and return N. */
static uint64_t strip_counter(char *rule)
{
	static const char pk[] = "counter packets ";
	char *p = strstr(rule, pk), *q, *end;
	unsigned long n = 0;

	if (!p)
		return 0;
	q = p + sizeof(pk) - 1;
	end = q + strspn(q, "0123456789");
	if (vp_parse_uint(q, (size_t)(end - q), 0, ULONG_MAX, &n) < 0 || strncmp(end, " bytes ", 7))
		return 0;
	end += 7;
	end += strspn(end, "0123456789");
	memmove(p + 7, end, strlen(end) + 1);
	return n;
}

/* "table ip NAME {", "\tchain NAME {", "\t\tRULE", "\t}" */
int vp_listing_parse_nft(struct vp_listing *s)
{
	const char *table = NULL, *chain = NULL;
	char *at = s->text, *line, *sp;
	int r = 0;

	while (r == 0 && (line = next_line(&at))) {
		if (!strncmp(line, "table ", 6) && (sp = strchr(line + 6, ' '))) {
			table = sp + 1;
			if ((sp = strchr(sp + 1, ' ')))
				*sp = '\0';
			chain = NULL;
		} else if (line[0] == '\t' && line[1] != '\t') {
			chain = NULL;
			if (table && !strncmp(line, "\tchain ", 7)) {
				chain = line + 7;
				if ((sp = strchr(line + 7, ' ')))
					*sp = '\0';
				r = vp_listing_add_chain(s, table, chain);
			}
		} else if (chain && !strncmp(line, "\t\t", 2) && line[2] != '\t' &&
		           strncmp(line + 2, "type ", 5)) {
			uint64_t pkts = strip_counter(line + 2);
			r = vp_listing_add(s, table, chain, line + 2, pkts);
		}
	}
	return r;
}

/* ------------------------------------------------------------------------------------------- */
/* Lookups */

const struct vp_listed_rule *vp_listing_find(const struct vp_listing *s, const char *table,
                                             const char *chain, const char *spec)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->l[i].chain, chain) && !strcmp(s->l[i].table, table) &&
		    !strcmp(s->l[i].spec, spec))
			return &s->l[i];
	return NULL;
}

static bool jumps_to(const char *spec, const char *target)
{
	size_t sl = strlen(spec), tl = strlen(target);
	return sl >= tl + 3 && !strcmp(spec + sl - tl, target) &&
	       !memcmp(spec + sl - tl - 3, "-j ", 3) && (sl == tl + 3 || spec[sl - tl - 4] == ' ');
}

const struct vp_listed_rule *vp_listing_jump(const struct vp_listing *s, const char *table,
                                             const char *chain, const char *target)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->l[i].chain, chain) && !strcmp(s->l[i].table, table) &&
		    jumps_to(s->l[i].spec, target))
			return &s->l[i];
	return NULL;
}

bool vp_listing_has_chain(const struct vp_listing *s, const char *table, const char *chain)
{
	for (size_t i = 0; i < s->n_c; i++)
		if (!strcmp(s->c[i].name, chain) && !strcmp(s->c[i].table, table))
			return true;
	return false;
}

/* ------------------------------------------------------------------------------------------- */
/* Listing through iptables-save */

int vp_listing_xt_save(struct vp_listing *s, const char *tool, const char *table, int hold_fd,
                       long long deadline)
{
	const char *argv[] = {tool, "-c", table ? "-t" : NULL, table, NULL};
	struct vp_buf out = {0}, err = {0};
	int r;

	s->loaded = true;
	r = vp_spawn(argv, NULL, 0, &out, VP_SPAWN_OUT_MAX, &err, hold_fd, deadline);
	if (r != 0) {
		char *nl = err.s ? strchr(err.s, '\n') : NULL;
		if (nl)
			*nl = '\0';
		snprintf(s->err, sizeof(s->err), "%s failed: %s", tool,
		         r < 0 ? strerror(-r) : err.s && *err.s ? err.s : "non-zero exit status");
		s->r = r < 0 ? r : -EIO;
	} else if (out.s) {
		s->text = out.s;
		out = (struct vp_buf){0};
		s->r = vp_listing_parse_xt(s);
		if (s->r < 0)
			snprintf(s->err, sizeof(s->err), "%s: %s", tool, strerror(-s->r));
	}
	vp_buf_free(&out);
	vp_buf_free(&err);
	return s->r;
}

#ifndef HAVE_LIBNFTABLES
int vp_listing_nft(struct vp_listing *s, const char *family, const char *const *names, size_t n)
{
	(void)family;
	(void)names;
	(void)n;
	s->loaded = true;
	s->r = -EOPNOTSUPP;
	snprintf(s->err, sizeof(s->err), "this build has no libnftables");
	return s->r;
}
#endif

void vp_where_free(struct vp_where *w)
{
	if (!w)
		return;
	free(w->spec);
	*w = (struct vp_where){0};
}
