/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What every check of the doctor uses: its output (one line per check, as text or as a JSON array
 * of {check, subject, ok, detail, fix}, one object per line so that line tools can read it too),
 * a network's inputs read once, and where a backend writes. Calls no check. */
#include "doctor-int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "detect.h"

static void json_str(struct vp_buf *b, const char *s)
{
	vp_buf_append(b, "\"", 1);
	for (; s && *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			vp_buf_printf(b, "\\%c", ch);
		else if (ch < 0x20 || ch == 0x7f)
			vp_buf_printf(b, "\\u%04x", ch);
		else
			vp_buf_append(b, s, 1);
	}
	vp_buf_append(b, "\"", 1);
}

/* "WORD  SUBJECT: TEXT\n", with no control character from a name in it (one line is one
 * line: a guest's name cannot forge another). */
static void text_line(struct vp_buf *o, const char *word, const char *subject, const char *text)
{
	struct vp_buf l = {0};

	vp_buf_printf(&l, "%-5s %s: %s", word, subject, text);
	vp_text_sanitize(l.s);
	vp_buf_printf(o, "%s\n", l.s ? l.s : "");
	vp_buf_free(&l);
}

void dr_report(struct doctor *dr, const char *check, const char *subject, enum dr_status st,
               const char *fix, const char *fmt, ...)
{
	static const char *const word[] = {"ok", "FAIL", "skip"};
	static const char *const json_ok[] = {"true", "false", "null"};
	struct vp_buf *o = dr->c->out, detail = {0};
	va_list ap;

	va_start(ap, fmt);
	vp_buf_vprintf(&detail, fmt, ap);
	va_end(ap);
	if (st != DR_FAIL)
		fix = NULL;
	else
		dr->n_fail++;
	if (dr->quiet) {
		vp_buf_free(&detail);
		return;
	}
	if (dr->json) {
		vp_buf_printf(o, "%s{\"check\":", dr->n_lines ? ",\n" : "[\n");
		json_str(o, check);
		vp_buf_printf(o, ",\"subject\":");
		json_str(o, subject);
		vp_buf_printf(o, ",\"ok\":%s,\"detail\":", json_ok[st]);
		json_str(o, detail.s ? detail.s : "");
		vp_buf_printf(o, ",\"fix\":");
		if (fix)
			json_str(o, fix);
		else
			vp_buf_printf(o, "null");
		vp_buf_printf(o, "}");
	} else {
		text_line(o, word[st], subject, detail.s ? detail.s : "");
		if (fix)
			text_line(o, "     ", "fix", fix);
	}
	dr->n_lines++;
	vp_buf_free(&detail);
}

void dr_report_end(struct doctor *dr)
{
	if (dr->json)
		vp_buf_printf(dr->c->out, dr->n_lines ? "\n]\n" : "[]\n");
	else if (dr->n_lines)
		vp_buf_printf(dr->c->out, "%u check%s failed\n", dr->n_fail, dr->n_fail == 1 ? "" : "s");
}

/* Inputs: libvirt's network status, leases and firewall backend, read once per network. */
struct dr_net *dr_net_get(struct doctor *dr, const char *name)
{
	struct vp_netinfo *in;

	for (size_t i = 0; i < dr->n_nets; i++)
		if (!strcmp(dr->nets[i].in->name, name))
			return &dr->nets[i];
	if (dr->n_nets == DR_MAX_NETS || !(in = vp_netcache_get(&dr->cache, name)))
		return NULL;
	struct dr_net *n = &dr->nets[dr->n_nets++];
	n->in = in;
	if (in->r < 0)
		return n;
	vp_netinfo_leases(in);
	n->lv_r = vp_detect(&in->net, VP_BACKEND_AUTO, 0, &n->lv, n->lv_why, sizeof(n->lv_why));
	return n;
}

static const char *const variant_backend[DR_VARIANTS] = {
	[DR_IPT_NFT] = "iptables-nft", [DR_IPT_LEGACY] = "iptables-legacy",
	[DR_NFTABLES] = "nftables",
};

int dr_variant(const struct vp_backend *b)
{
	for (int v = 0; b && v < DR_VARIANTS; v++)
		if (!strcmp(b->name, variant_backend[v]))
			return v;
	return -1;
}

const struct vp_backend *dr_backend(int variant)
{
	return vp_backend_by_name(variant_backend[variant]);
}

const char *dr_variant_name(int variant)
{
	return variant_backend[variant];
}

const char *dr_variant_place(int variant)
{
	const struct vp_backend *b = dr_backend(variant);
	return b && b->place ? b->place : variant_backend[variant];
}

const char *dr_tool(int variant, int family)
{
	const struct vp_backend *b = dr_backend(variant);
	const char *t = b ? b->tool[family == AF_INET6] : NULL;
	return t ? t : variant_backend[variant];
}
