/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The doctor on libvirt's nftables backend: our table `virt_portfwd` and libvirt's
 * `libvirt_network` listed through libnftables (in process, read-only), reduced to the same
 * table / chain / rule text / counter lines as an iptables-save listing, and each wanted rule
 * located by the text fw-nft.c would write (vp_render_nft), so that the rule, traffic and
 * position checks work the same on both kinds of host. */
#include "doctor-int.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef HAVE_LIBNFTABLES
#include "dl-nft.h"

static const char *const tables[] = {"virt_portfwd", "libvirt_network"};

/* The names a rendered rule can name, as static strings for struct dr_where. */
static const char *known_name(const char *s, size_t n)
{
	static const char *const names[] = {"virt_portfwd", "libvirt_network", "prerouting",
	                                    "output", "postrouting", "forward"};
	for (size_t i = 0; i < VP_ARRAY_SIZE(names); i++)
		if (strlen(names[i]) == n && !strncmp(s, names[i], n))
			return names[i];
	return NULL;
}

/* The stateful listing prints "counter packets N bytes M" where the rule as written (and as
 * vp_render_nft prints it) says "counter": cut it to that, and return N. */
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

/* "table ip NAME {", "\tchain NAME {", "\t\tRULE", "\t}": rules of chains only (not the base
 * chains' type lines, not the elements of sets). */
int dr_nft_parse(struct dr_listing *s)
{
	const char *table = NULL, *chain = NULL;
	char *next, *sp;
	int r = 0;

	for (char *line = s->text; r == 0 && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		else
			next = line + strlen(line);
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
				r = dr_listing_add_chain(s, table, chain);
			}
		} else if (chain && !strncmp(line, "\t\t", 2) && line[2] != '\t' &&
		           strncmp(line + 2, "type ", 5)) {
			uint64_t pkts = strip_counter(line + 2);
			r = dr_listing_add(s, table, chain, line + 2, pkts);
		}
	}
	return r;
}

static int list_tables(struct nft_ctx *ctx, const char *fam, const char *const *names, size_t n,
                       struct vp_buf *text, char *err, size_t errsz)
{
	char cmd[64];

	for (size_t i = 0; i < n; i++) {
		snprintf(cmd, sizeof(cmd), "list table %s %s", fam, names[i]);
		if (sym_nft_run_cmd_from_buffer(ctx, cmd) != 0) {
			const char *e = sym_nft_ctx_get_error_buffer(ctx);
			if (e && strstr(e, "No such file or directory"))
				continue;   /* no such table: nothing in it */
			snprintf(err, errsz, "nft %s failed: %.*s", cmd,
			         e ? (int)strcspn(e, "\n") : 0, e ? e : "");
			return -EIO;
		}
		const char *out = sym_nft_ctx_get_output_buffer(ctx);
		vp_buf_printf(text, "%s\n", out ? out : "");
	}
	return text->err;
}

void dr_nft_load_tables(struct dr_listing *s, const char *family, const char *const *names,
                        size_t n)
{
	struct nft_ctx *ctx = NULL;
	struct vp_buf text = {0};

	s->loaded = true;
	if (vp_dl_nft() < 0) {
		s->r = -ELIBACC;
		snprintf(s->err, sizeof(s->err), "cannot load %s", VP_SONAME_NFT);
		goto out;
	}
	ctx = sym_nft_ctx_new(NFT_CTX_DEFAULT);
	if (!ctx || sym_nft_ctx_buffer_output(ctx) || sym_nft_ctx_buffer_error(ctx)) {
		s->r = -ENOMEM;
		snprintf(s->err, sizeof(s->err), "cannot set up libnftables");
		goto out;
	}
	s->r = list_tables(ctx, family, names, n, &text, s->err, sizeof(s->err));
	if (s->r == 0 && text.s) {
		s->text = text.s;
		text = (struct vp_buf){0};
		s->r = dr_nft_parse(s);
	}
	if (s->r < 0 && !s->err[0])
		snprintf(s->err, sizeof(s->err), "nft listing: %s", strerror(-s->r));
out:
	if (ctx)
		sym_nft_ctx_free(ctx);
	vp_buf_free(&text);
}

void dr_nft_load(struct dr_listing *s, int family)
{
	dr_nft_load_tables(s, family == AF_INET6 ? "ip6" : "ip", tables, VP_ARRAY_SIZE(tables));
}

/* The first "add rule FAMILY TABLE CHAIN RULE" or "insert rule ..." line of a rendering. */
static const char *rule_line(const char *text)
{
	for (const char *line = text; line && *line;) {
		if (!strncmp(line, "add rule ", 9))
			return line + 9;
		if (!strncmp(line, "insert rule ", 12))
			return line + 12;
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return NULL;
}

/* Where the rule is: the line vp_render_nft prints for a ruleset of this rule alone. */
int dr_nft_where(const struct vp_rule *r, const char *owner, struct dr_where *ret)
{
	struct vp_rule copy = *r;
	struct vp_ruleset one = {.r = &copy, .n = 1, .cap = 1};
	struct vp_buf out = {0};
	const char *p, *word[3] = {NULL};
	size_t len[3] = {0};
	char *spec = NULL;
	int rc = -EINVAL;

	snprintf(one.owner, sizeof(one.owner), "%s", owner);
	vp_render_nft(&one, r->family, &out);
	p = rule_line(out.s);
	for (int i = 0; p && i < 3; i++) {   /* family, table, chain */
		word[i] = p;
		len[i] = strcspn(p, " \n");
		p = p[len[i]] == ' ' ? p + len[i] + 1 : NULL;
	}
	if (p) {
		const char *table = known_name(word[1], len[1]), *chain = known_name(word[2], len[2]);
		spec = vp_strndup(p, strcspn(p, "\n"));
		rc = !spec ? -ENOMEM : table && chain ? 0 : -EINVAL;
		if (rc == 0) {
			*ret = (struct dr_where){table, chain, spec};
			spec = NULL;
		}
	}
	free(spec);
	vp_buf_free(&out);
	return rc;
}

#else /* !HAVE_LIBNFTABLES */

void dr_nft_load_tables(struct dr_listing *s, const char *family, const char *const *names,
                        size_t n)
{
	(void)family;
	(void)names;
	(void)n;
	s->loaded = true;
	s->r = -EOPNOTSUPP;
	snprintf(s->err, sizeof(s->err), "this build has no libnftables");
}

void dr_nft_load(struct dr_listing *s, int family)
{
	dr_nft_load_tables(s, family == AF_INET6 ? "ip6" : "ip", NULL, 0);
}

int dr_nft_where(const struct vp_rule *r, const char *owner, struct dr_where *ret)
{
	(void)r;
	(void)owner;
	(void)ret;
	return -EOPNOTSUPP;
}

#endif
