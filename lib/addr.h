/* SPDX-License-Identifier: GPL-2.0-or-later */
/* IPv4/IPv6 addresses and prefixes. */
#pragma once

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct vp_addr {
	int family; /* AF_INET, AF_INET6, or 0 when unset */
	union {
		struct in_addr v4;
		struct in6_addr v6;
	};
};

struct vp_cidr {
	struct vp_addr addr;
	uint8_t prefix; /* 0..32 or 0..128 */
};

#define VP_ADDR_STRLEN 46  /* INET6_ADDRSTRLEN */
#define VP_CIDR_STRLEN 50

/* Parse "192.0.2.1" or "2001:db8::1" (no brackets) from s[0..len). 0 or -EINVAL. */
int vp_addr_parse(const char *s, size_t len, struct vp_addr *ret);
/* Parse "192.0.2.0/24", "2001:db8::/64" or a bare address (full-length prefix).
 * Host bits set below the prefix are an error (-EINVAL): "192.0.2.1/24" is ambiguous. */
int vp_cidr_parse(const char *s, size_t len, struct vp_cidr *ret);
/* Format; out must hold VP_ADDR_STRLEN / VP_CIDR_STRLEN. Returns out. */
const char *vp_addr_str(const struct vp_addr *a, char *out);
const char *vp_cidr_str(const struct vp_cidr *c, char *out);
bool vp_addr_equal(const struct vp_addr *a, const struct vp_addr *b);
bool vp_addr_is_any(const struct vp_addr *a);
/* Whether a lies inside c. */
bool vp_cidr_contains(const struct vp_cidr *c, const struct vp_addr *a);
/* Network of an address/prefix: host bits cleared. */
void vp_cidr_from(const struct vp_addr *a, unsigned prefix, struct vp_cidr *ret);
/* Netmask in dotted form -> prefix length; -EINVAL if not contiguous. */
int vp_netmask_to_prefix(const struct vp_addr *mask, unsigned *ret);

/* MAC and UUID, the link-layer and libvirt identities every input names guests and NICs by.
 * Each input writes them in its own case; normalising them once here is what lets a forward's
 * nic= or UUID match the domain XML, the network's static hosts and the leases. */
#define VP_MAC_STRLEN  18   /* "aa:bb:cc:dd:ee:ff" + NUL */
#define VP_UUID_STRLEN 37   /* 8-4-4-4-12 + NUL */
/* s[0..len) must be exactly six colon-separated hex pairs, any case; ret gets them lowercase.
 * 0 or -EINVAL (ret untouched). */
int vp_mac_normalize(const char *s, size_t len, char ret[VP_MAC_STRLEN]);
/* s[0..len) must be 8-4-4-4-12 or 32 hex digits, any case, nothing around them; ret gets the
 * lowercase 8-4-4-4-12 form (the one owner tags and the forward table use). 0 or -EINVAL. */
int vp_uuid_normalize(const char *s, size_t len, char ret[VP_UUID_STRLEN]);
