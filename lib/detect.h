/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Which firewall backend this host needs: go by where libvirt's own rules actually are. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "fw.h"
#include "network.h"

/* Pick the backend for a network (net may be NULL). `forced` is `set backend` from the table.
 * Read-only, cheap: the status XML's <firewall backend>, then whether LIBVIRT_FWI exists in
 * nf_tables (ip filter) or in the legacy filter table, then what `iptables -V` reports.
 * why receives one sentence for the log. 0, or -EOPNOTSUPP (backend not available here). */
int vp_detect(const struct vp_network *net, enum vp_backend_choice forced,
              const struct vp_backend **ret, char *why, size_t whysz);
/* A backend by name ("iptables-nft", ...), as recorded in our state; NULL if unknown. */
const struct vp_backend *vp_backend_by_name(const char *name);

#ifdef HAVE_LIBIPTC
/* Whether the legacy IPv4 table has this chain (fw-iptc.c, where every libiptc call lives); a
 * table the kernel has not instantiated is not created to find out. */
bool vp_iptc_has_chain(const char *table, const char *chain);
#endif
