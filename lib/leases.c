/* SPDX-License-Identifier: GPL-2.0-or-later */
/* dnsmasq lease status file (libvirt_leaseshelper's JSON) -> struct vp_leases.
 *
 * Guests choose their hostname and client-id, and leaseshelper writes them here verbatim
 * (JSON-escaped). Those fields are never read; a malformed entry is skipped, never fatal,
 * so one guest cannot hide every other guest's lease. */
#include "leases.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

/* The file is an array of flat objects: anything nested deeper is not leaseshelper's. */
#define LEASES_JSON_DEPTH 16

static bool is_blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
			return false;
	return true;
}

static bool get_string(json_object *o, const char *key, const char **ret, size_t *ret_len,
                       bool *ret_bad)
{
	json_object *v;

	*ret_bad = false;
	if (!json_object_object_get_ex(o, key, &v))
		return false;
	if (!json_object_is_type(v, json_type_string)) {
		*ret_bad = true;
		return false;
	}
	*ret = json_object_get_string(v);
	*ret_len = (size_t)json_object_get_string_len(v);
	return true;
}

/* One array element -> lease. false: skip it (not an object, no usable address, malformed
 * MAC, expiry that is not a non-negative integer). */
static bool parse_entry(json_object *o, struct vp_lease *ret)
{
	struct vp_lease l = {0};
	const char *s;
	size_t len;
	bool bad;
	json_object *v;

	if (!json_object_is_type(o, json_type_object))
		return false;
	if (!get_string(o, "ip-address", &s, &len, &bad) || vp_addr_parse(s, len, &l.ip) < 0)
		return false;
	if (get_string(o, "mac-address", &s, &len, &bad)) {
		if (vp_mac_normalize(s, len, l.mac) < 0)
			return false;
	} else if (bad) {
		return false;
	}
	/* leaseshelper leaves expiry-time out for infinite leases (dnsmasq passes 0). */
	if (json_object_object_get_ex(o, "expiry-time", &v)) {
		if (!json_object_is_type(v, json_type_int))
			return false;
		l.expiry = json_object_get_int64(v);
		if (l.expiry < 0)
			return false;
	}
	l.has_iaid = json_object_object_get_ex(o, "iaid", NULL);
	*ret = l;
	return true;
}

static int parse_array(json_object *arr, struct vp_leases *ret)
{
	size_t n = json_object_array_length(arr), k = 0;
	struct vp_lease *l;

	if (n > VP_LEASES_MAX)
		return -E2BIG;
	if (n == 0)
		return 0;
	l = calloc(n, sizeof(*l));
	if (!l)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (parse_entry(json_object_array_get_idx(arr, i), &l[k]))
			k++;
	ret->l = l;
	ret->n = k;
	return 0;
}

int vp_leases_parse(const char *buf, size_t len, struct vp_leases *ret)
{
	struct vp_leases out = {0};
	json_tokener *tok = NULL;
	json_object *root = NULL;
	size_t end;
	int r = 0;

	if (!ret || (len && !buf))
		return -EINVAL;
	if (len > VP_LEASES_MAX_SIZE)
		return -E2BIG;
	if (is_blank(buf, len))
		goto done;
	/* json-c would stop at a NUL; the rest of the buffer must not go unseen. */
	if (memchr(buf, '\0', len))
		return -EINVAL;
	tok = json_tokener_new_ex(LEASES_JSON_DEPTH);
	if (!tok)
		return -ENOMEM;
	root = json_tokener_parse_ex(tok, buf, (int)len);
	if (!root) {
		r = -EINVAL;   /* bad or truncated JSON (json_tokener_continue) */
		goto out;
	}
	end = json_tokener_get_parse_end(tok);
	if (end > len || !is_blank(buf + end, len - end) ||
	    !json_object_is_type(root, json_type_array)) {
		r = -EINVAL;
		goto out;
	}
	r = parse_array(root, &out);
	if (r < 0)
		goto out;
done:
	*ret = out;
out:
	json_object_put(root);
	if (tok)
		json_tokener_free(tok);
	return r;
}

void vp_leases_free(struct vp_leases *l)
{
	if (!l)
		return;
	free(l->l);
	l->l = NULL;
	l->n = 0;
}

/* Whether a is newer than b. 0 is an infinite lease, newer than any finite one. On a tie the
 * later entry (a) wins: leaseshelper appends a renewed lease after the entries it keeps. */
bool vp_lease_newer(const struct vp_lease *a, const struct vp_lease *b)
{
	if (b->expiry == 0)
		return a->expiry == 0;
	return a->expiry == 0 || a->expiry >= b->expiry;
}

const struct vp_lease *vp_leases_find(const struct vp_leases *l, const char *mac, int family,
                                      time_t now)
{
	const struct vp_lease *best = NULL;

	/* An empty MAC must not match the MAC-less DHCPv6 entries. */
	if (!l || !mac || !mac[0])
		return NULL;
	for (size_t i = 0; i < l->n; i++) {
		const struct vp_lease *c = &l->l[i];
		if (c->ip.family != family || strcasecmp(c->mac, mac) != 0)
			continue;
		if (c->expiry != 0 && c->expiry <= (int64_t)now)
			continue;
		if (!best || vp_lease_newer(c, best))
			best = c;
	}
	return best;
}
