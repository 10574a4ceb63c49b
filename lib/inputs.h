/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Reading what libvirt keeps on disk: a network's status and leases, the running guests.
 * Nothing here calls libvirt or logs; callers decide what a failure means to them. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "domain.h"
#include "leases.h"
#include "network.h"

/* One network: /run/libvirt/network/<name>.xml and /var/lib/libvirt/dnsmasq/<bridge>.status. */
struct vp_netinfo {
	char name[VP_NAME_MAX];
	int r;                      /* 0: status parsed; <0: why not */
	struct vp_network net;
	int leases_r;               /* 0: leases parsed; <0: why not (-ENOENT: no file); 1: not read */
	struct vp_leases leases;
};

#define VP_NETCACHE_MAX 8

/* Each network read at most once per invocation. */
struct vp_netcache {
	struct vp_netinfo n[VP_NETCACHE_MAX];
	size_t len;
};

/* The network's status (read on first use); NULL if the name cannot be a file name or the cache
 * is full. Check ->r. */
struct vp_netinfo *vp_netcache_get(struct vp_netcache *c, const char *name);
/* Its leases, read on first use; NULL when there are none to use (see ->leases_r). */
const struct vp_leases *vp_netinfo_leases(struct vp_netinfo *n);
void vp_netcache_free(struct vp_netcache *c);

/* Call fn for each running guest in libvirt's status files (/run/libvirt/qemu/<name>.xml),
 * skipping files that vanish or do not parse (a guest that stopped meanwhile). fn gets the parsed
 * domain and the file's text; it returns 1 when it keeps both (then it frees them), 0 when not,
 * <0 to stop with that error. */
int vp_foreach_running(int (*fn)(void *ctx, struct vp_domain *d, char *xml, size_t len),
                       void *ctx);
