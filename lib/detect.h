/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Which firewall backend this host needs: go by where libvirt's own rules actually are. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "fw.h"
#include "network.h"

/* Pick the backend for a network (net may be NULL). `forced` is `set backend` from the table.
 * Read-only, cheap: each backend of vp_backends is asked whether libvirt's rules are in its
 * tables (the status XML's <firewall backend>, then LIBVIRT_FWI in nf_tables (ip filter) or in
 * the legacy filter table); when none says so, what `iptables -V` reports. A program
 * it runs ends by deadline (vp_now_ms; 0: its own bound only).
 * why receives one sentence for the log. 0, or -EOPNOTSUPP (backend not available here). */
int vp_detect(const struct vp_network *net, enum vp_backend_choice forced, long long deadline,
              const struct vp_backend **ret, char *why, size_t whysz);
