/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The nftables backend's listing (fw.h list(), listing.h): our table `virt_portfwd` and
 * libvirt's `libvirt_network` listed through libnftables (in process, read-only), and where a
 * rule of ours shows in it: the line vp_render_nft would write. Also any other tables, for the
 * doctor's look at other tools' rules. */
#include "fw-nft.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "listing.h"

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

int vp_listing_nft(struct vp_listing *s, const char *family, const char *const *names, size_t n)
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
		s->r = vp_listing_parse_nft(s);
	}
	if (s->r < 0 && !s->err[0])
		snprintf(s->err, sizeof(s->err), "nft listing: %s", strerror(-s->r));
out:
	if (ctx)
		sym_nft_ctx_free(ctx);
	vp_buf_free(&text);
	return s->r;
}

int vp_nft_list(int family, struct vp_listing *out)
{
	static const char *const tables[] = {OUR_TABLE, LV_TABLE};

	return vp_listing_nft(out, family == AF_INET6 ? "ip6" : "ip", tables, VP_ARRAY_SIZE(tables));
}

/* The names a rendered rule can name, as static strings for struct vp_where. */
static const char *known_name(const char *s, size_t n)
{
	static const char *const names[] = {OUR_TABLE, LV_TABLE, "prerouting", "output",
	                                    "postrouting", "forward"};
	for (size_t i = 0; i < VP_ARRAY_SIZE(names); i++)
		if (strlen(names[i]) == n && !strncmp(s, names[i], n))
			return names[i];
	return NULL;
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

int vp_nft_where(const struct vp_rule *r, const char *owner, struct vp_where *ret)
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
			*ret = (struct vp_where){table, chain, spec};
			spec = NULL;
		}
	}
	free(spec);
	vp_buf_free(&out);
	return rc;
}
