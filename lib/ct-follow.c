/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "ct-follow.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "state.h"

void vp_dnat_list_free(struct vp_dnat_list *l)
{
	if (l) {
		free(l->d);
		*l = (struct vp_dnat_list){0};
	}
}

static bool listed(const struct vp_dnat_list *l, const struct vp_dnat *d)
{
	for (size_t i = 0; i < l->n; i++)
		if (vp_dnat_equal(&l->d[i], d))
			return true;
	return false;
}

static int add(struct vp_dnat_list *l, const struct vp_dnat *d)
{
	if (listed(l, d))
		return 0;
	if (l->n == VP_DNAT_MAX)
		return -E2BIG;
	if (l->n == l->cap && vp_grow(&l->d, &l->cap, l->n + 1, sizeof(*l->d)) < 0)
		return -ENOMEM;
	l->d[l->n++] = *d;
	return 0;
}

int vp_dnat_from_rules(const struct vp_ruleset *rs, struct vp_dnat_list *ret)
{
	int r = 0;

	*ret = (struct vp_dnat_list){0};
	for (size_t i = 0; r == 0 && i < rs->n; i++) {
		const struct vp_rule *x = &rs->r[i];
		struct vp_dnat d = {.family = x->family, .proto = (uint8_t)x->proto,
		                    .host = x->host_addr, .hport = x->hport, .hport_end = x->hport_end,
		                    .guest = x->guest, .gport = x->gport, .gport_end = x->gport_end};
		if (x->stage == VP_ST_PRE_DNAT)
			r = add(ret, &d);
	}
	if (r < 0)
		vp_dnat_list_free(ret);
	return r;
}

void vp_dnat_format(const struct vp_dnat_list *l, struct vp_buf *out)
{
	char host[VP_ADDR_STRLEN], guest[VP_ADDR_STRLEN];

	vp_buf_printf(out, "dnat 1\n");
	for (size_t i = 0; i < l->n; i++) {
		const struct vp_dnat *d = &l->d[i];
		vp_buf_printf(out, "%u %s %u-%u %s %u-%u\n", d->proto,
		              d->host.family ? vp_addr_str(&d->host, host) : "*", d->hport,
		              d->hport_end, vp_addr_str(&d->guest, guest), d->gport, d->gport_end);
	}
}

/* "A-B" with A <= B, both ports. */
static int parse_range(const char *s, size_t len, uint16_t *lo, uint16_t *hi)
{
	const char *dash = memchr(s, '-', len);
	unsigned long a, b;

	if (!dash || vp_parse_uint(s, (size_t)(dash - s), 1, 65535, &a) < 0 ||
	    vp_parse_uint(dash + 1, len - (size_t)(dash - s) - 1, 1, 65535, &b) < 0 || a > b)
		return -EINVAL;
	*lo = (uint16_t)a;
	*hi = (uint16_t)b;
	return 0;
}

/* The n-th space-separated word of line[0..len): its start and length, or -EINVAL. */
static int word(const char *line, size_t len, unsigned n, const char **ret, size_t *ret_len)
{
	size_t at = 0, end;

	for (unsigned i = 0;; i++) {
		const char *sp = memchr(line + at, ' ', len - at);
		end = sp ? (size_t)(sp - line) : len;
		if (i == n)
			break;
		if (!sp)
			return -EINVAL;
		at = end + 1;
	}
	*ret = line + at;
	*ret_len = end - at;
	return end > at ? 0 : -EINVAL;
}

static int parse_line(const char *line, size_t len, struct vp_dnat *d)
{
	const char *w[5];
	size_t wl[5], junk_len;
	const char *junk;
	unsigned long proto;
	int r = 0;

	memset(d, 0, sizeof(*d));
	for (unsigned i = 0; r == 0 && i < 5; i++)
		r = word(line, len, i, &w[i], &wl[i]);
	if (r < 0 || word(line, len, 5, &junk, &junk_len) == 0 ||
	    vp_parse_uint(w[0], wl[0], 1, 255, &proto) < 0 ||
	    ((wl[1] != 1 || w[1][0] != '*') && vp_addr_parse(w[1], wl[1], &d->host) < 0) ||
	    parse_range(w[2], wl[2], &d->hport, &d->hport_end) < 0 ||
	    vp_addr_parse(w[3], wl[3], &d->guest) < 0 ||
	    parse_range(w[4], wl[4], &d->gport, &d->gport_end) < 0 ||
	    (d->host.family && d->host.family != d->guest.family))
		return -EINVAL;
	d->proto = (uint8_t)proto;
	d->family = d->guest.family;
	return 0;
}

int vp_dnat_parse(const char *buf, size_t len, struct vp_dnat_list *ret)
{
	static const char head[] = "dnat 1\n";
	struct vp_dnat d;
	int r = 0;

	*ret = (struct vp_dnat_list){0};
	if (len < sizeof(head) - 1 || memcmp(buf, head, sizeof(head) - 1))
		return -EINVAL;
	for (size_t at = sizeof(head) - 1; r == 0 && at < len;) {
		const char *nl = memchr(buf + at, '\n', len - at);
		r = nl ? parse_line(buf + at, (size_t)(nl - buf) - at, &d) : -EINVAL;   /* cut short */
		if (r == 0)
			r = add(ret, &d);
		at = nl ? (size_t)(nl - buf) + 1 : len;
	}
	if (r < 0)
		vp_dnat_list_free(ret);
	return r;
}

/* The DNATs of a that b does not have; with udp_only, of those the UDP ones. */
static int minus(const struct vp_dnat_list *a, const struct vp_dnat_list *b, bool udp_only,
                 struct vp_dnat_list *ret)
{
	int r = 0;

	*ret = (struct vp_dnat_list){0};
	for (size_t i = 0; r == 0 && i < a->n; i++)
		if (!listed(b, &a->d[i]) && (!udp_only || a->d[i].proto == IPPROTO_UDP))
			r = add(ret, &a->d[i]);
	if (r < 0)
		vp_dnat_list_free(ret);
	return r;
}

void vp_ct_plan_free(struct vp_ct_plan *p)
{
	if (p) {
		vp_dnat_list_free(&p->gone);
		vp_dnat_list_free(&p->added);
		vp_dnat_list_free(&p->now);
	}
}

/* What old had and now has not, and the UDP DNATs now has anew, into p (which keeps now). */
static int plan(const char *name, struct vp_dnat_list *old, struct vp_dnat_list *now,
                struct vp_ct_plan *p)
{
	int r = minus(old, now, false, &p->gone);

	if (r == 0)
		r = minus(now, old, true, &p->added);
	if (r < 0) {
		vp_ct_plan_free(p);
		return r;
	}
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->now = *now;
	*now = (struct vp_dnat_list){0};
	return 0;
}

void vp_ct_end(const struct vp_ct_plan *p, long long deadline)
{
	struct vp_ct_sel sel = {.gone = p->gone.d, .n_gone = p->gone.n, .keep = p->now.d,
	                        .n_keep = p->now.n, .added = p->added.d, .n_added = p->added.n,
	                        .deadline = deadline};
	unsigned n = 0;
	int r;

	if (!vp_ct_planned(p))
		return;
	r = vp_ct_flush(&sel, &n);
	if (r < 0)
		vp_log(LOG_WARNING, "%s: ending the connections its forwards no longer carry "
		       "failed after %u: %s, ignoring", p->name, n, strerror(-r));
	else if (n)
		vp_log(LOG_INFO, "%s: forwards changed: %u connection%s ended", p->name, n,
		       n == 1 ? "" : "s");
}

bool vp_ct_planned(const struct vp_ct_plan *p)
{
	return p->gone.n || p->added.n;
}

void vp_ct_follow(int dirfd, const char *uuid, const char *name, const struct vp_ruleset *rs,
                  struct vp_ct_plan *ret)
{
	struct vp_dnat_list old = {0}, now = {0};
	struct vp_buf text = {0};
	char *buf = NULL;
	size_t len = 0;
	int r = vp_dnat_from_rules(rs, &now);

	*ret = (struct vp_ct_plan){0};
	if (r == 0 && vp_state_get(dirfd, uuid, "dnat", VP_DNAT_FILE_MAX, &buf, &len) == 0 &&
	    vp_dnat_parse(buf, len, &old) < 0)
		vp_log(LOG_WARNING, "%s: its list of installed DNATs is damaged: the connections of "
		       "forwards it had are left alone", name);
	if (r == 0)
		r = plan(name, &old, &now, ret);
	if (r == 0)
		vp_dnat_format(&ret->now, &text);
	r = r < 0 ? r : text.err;
	if (r == 0 && !rs->n)
		r = vp_state_drop(dirfd, uuid, "dnat");
	else if (r == 0 && (!buf || len != text.len || memcmp(buf, text.s, len)))
		r = vp_state_put(dirfd, uuid, "dnat", text.s, text.len);
	if (r < 0)
		vp_log(LOG_WARNING, "%s: keeping its list of installed DNATs failed: %s, ignoring",
		       name, strerror(-r));
	vp_buf_free(&text);
	free(buf);
	vp_dnat_list_free(&now);
	vp_dnat_list_free(&old);
}
