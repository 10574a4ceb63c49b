/* SPDX-License-Identifier: GPL-2.0-or-later */
/* dnsmasq lease status file written by libvirt_leaseshelper
 * (/var/lib/libvirt/dnsmasq/<bridge>.status): a JSON array of
 *   {"ip-address":"..","mac-address":"..","client-id":"..","expiry-time":N,"hostname":"..","iaid":".."}
 * Guest-controlled fields (hostname, client-id) are never used beyond validation. Pure. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "addr.h"

#define VP_LEASES_MAX_SIZE (32u << 20)   /* libvirt's own cap on the file */
#define VP_LEASES_MAX      200000u

struct vp_lease {
	struct vp_addr ip;
	char mac[18];          /* lowercase; "" for entries without one (some DHCPv6) */
	int64_t expiry;        /* unix time; 0 = infinite */
	bool has_iaid;         /* DHCPv6 entry */
};

struct vp_leases {
	struct vp_lease *l;
	size_t n;
};

/* Parse buf[0..len). An empty or all-whitespace buffer is a valid empty list. Entries that
 * lack an address or have an unparsable one are skipped, not fatal. 0, -EINVAL (not a JSON
 * array), -E2BIG, -ENOMEM. */
int vp_leases_parse(const char *buf, size_t len, struct vp_leases *ret);
void vp_leases_free(struct vp_leases *l);  /* NULL-safe */
/* Newest unexpired lease (largest expiry; 0 = infinite counts as newest) of the given family
 * for mac at time now. NULL if none. */
/* Whether lease a is newer than b. 0 is an infinite lease, newer than any finite one. On a tie
 * the later entry (a) wins: leaseshelper appends a renewed lease after the entries it keeps. */
bool vp_lease_newer(const struct vp_lease *a, const struct vp_lease *b);
const struct vp_lease *vp_leases_find(const struct vp_leases *l, const char *mac, int family,
                                      time_t now);
