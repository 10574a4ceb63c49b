/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

int vp_addr_parse(const char *s, size_t len, struct vp_addr *ret)
{
	char tmp[VP_ADDR_STRLEN];
	struct vp_addr a = {0};

	if (!s || len == 0 || len >= sizeof(tmp))
		return -EINVAL;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	if (memchr(tmp, '\0', len))
		return -EINVAL;
	if (inet_pton(AF_INET, tmp, &a.v4) == 1)
		a.family = AF_INET;
	else if (inet_pton(AF_INET6, tmp, &a.v6) == 1)
		a.family = AF_INET6;
	else
		return -EINVAL;
	*ret = a;
	return 0;
}

static unsigned addr_bits(int family)
{
	return family == AF_INET ? 32 : 128;
}

static const uint8_t *addr_bytes(const struct vp_addr *a)
{
	return a->family == AF_INET ? (const uint8_t *)&a->v4 : (const uint8_t *)&a->v6;
}

void vp_cidr_from(const struct vp_addr *a, unsigned prefix, struct vp_cidr *ret)
{
	struct vp_cidr c = {.addr = *a, .prefix = (uint8_t)prefix};
	uint8_t *b = c.addr.family == AF_INET ? (uint8_t *)&c.addr.v4 : (uint8_t *)&c.addr.v6;
	unsigned nbytes = addr_bits(a->family) / 8;

	for (unsigned i = 0; i < nbytes; i++) {
		unsigned keep = prefix > i * 8 ? prefix - i * 8 : 0;
		if (keep < 8)
			b[i] &= (uint8_t)(0xff00u >> keep);
	}
	*ret = c;
}

int vp_cidr_parse(const char *s, size_t len, struct vp_cidr *ret)
{
	const char *slash = memchr(s, '/', len);
	struct vp_addr a;
	unsigned long prefix;
	struct vp_cidr c;

	if (vp_addr_parse(s, slash ? (size_t)(slash - s) : len, &a) < 0)
		return -EINVAL;
	if (!slash)
		prefix = addr_bits(a.family);
	else if (vp_parse_uint(slash + 1, len - (size_t)(slash - s) - 1, 0, addr_bits(a.family),
	                       &prefix) < 0)
		return -EINVAL;
	vp_cidr_from(&a, (unsigned)prefix, &c);
	if (!vp_addr_equal(&c.addr, &a))
		return -EINVAL;
	*ret = c;
	return 0;
}

const char *vp_addr_str(const struct vp_addr *a, char *out)
{
	if (!a->family || !inet_ntop(a->family, a->family == AF_INET ? (const void *)&a->v4
	                                                             : (const void *)&a->v6,
	                             out, VP_ADDR_STRLEN))
		memcpy(out, "?", 2);
	return out;
}

const char *vp_cidr_str(const struct vp_cidr *c, char *out)
{
	char a[VP_ADDR_STRLEN];
	snprintf(out, VP_CIDR_STRLEN, "%s/%u", vp_addr_str(&c->addr, a), c->prefix);
	return out;
}

bool vp_addr_equal(const struct vp_addr *a, const struct vp_addr *b)
{
	if (a->family != b->family)
		return false;
	if (!a->family)
		return true;
	return memcmp(addr_bytes(a), addr_bytes(b), addr_bits(a->family) / 8) == 0;
}

bool vp_addr_is_any(const struct vp_addr *a)
{
	static const uint8_t zero[16];
	return !a->family || memcmp(addr_bytes(a), zero, addr_bits(a->family) / 8) == 0;
}

bool vp_cidr_contains(const struct vp_cidr *c, const struct vp_addr *a)
{
	struct vp_cidr n;
	if (c->addr.family != a->family)
		return false;
	vp_cidr_from(a, c->prefix, &n);
	return vp_addr_equal(&n.addr, &c->addr);
}

int vp_netmask_to_prefix(const struct vp_addr *mask, unsigned *ret)
{
	const uint8_t *b = addr_bytes(mask);
	unsigned nbytes = addr_bits(mask->family) / 8, p = 0;
	bool ended = false;

	for (unsigned i = 0; i < nbytes; i++)
		for (int bit = 7; bit >= 0; bit--) {
			bool set = b[i] & (1u << bit);
			if (set && ended)
				return -EINVAL;
			if (set)
				p++;
			else
				ended = true;
		}
	*ret = p;
	return 0;
}

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static char hex_lower(char c)
{
	return c >= 'A' && c <= 'F' ? (char)(c - 'A' + 'a') : c;
}

int vp_mac_normalize(const char *s, size_t len, char ret[VP_MAC_STRLEN])
{
	char out[VP_MAC_STRLEN];

	if (!s || len != VP_MAC_STRLEN - 1)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (i % 3 == 2 ? s[i] != ':' : !is_hex(s[i]))
			return -EINVAL;
		out[i] = hex_lower(s[i]);
	}
	out[len] = '\0';
	memcpy(ret, out, sizeof(out));
	return 0;
}

int vp_uuid_normalize(const char *s, size_t len, char ret[VP_UUID_STRLEN])
{
	char out[VP_UUID_STRLEN];
	bool dashed = len == 36;
	size_t k = 0;

	if (!s || (len != 36 && len != 32))
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		bool dash_pos = dashed && (i == 8 || i == 13 || i == 18 || i == 23);
		if (dash_pos ? s[i] != '-' : !is_hex(s[i]))
			return -EINVAL;
		/* the undashed form gets its dashes where the dashed one has them */
		if (!dashed && (i == 8 || i == 12 || i == 16 || i == 20))
			out[k++] = '-';
		out[k++] = hex_lower(s[i]);
	}
	out[k] = '\0';
	memcpy(ret, out, sizeof(out));
	return 0;
}
