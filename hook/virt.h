/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libvirt's API for the command line (virt.c): a connection, a guest's definitions as we parse
 * them, and the <portfwd:forwards> element written back. Never used by the hook (dl-virt.h).
 * Each failure is logged here, once, with libvirt's own message. */
#pragma once

#include <stdbool.h>

#include "domain.h"
#include "util.h"

struct virt_guest {
	void *dom;                   /* virDomainPtr */
	bool active, persistent;
	struct vp_domain cfg;        /* the persistent definition, when persistent */
	struct vp_domain live;       /* the running one, when active */
	char *live_xml;              /* its text, for a lease waiter */
};

/* Which definition: the persistent one (what the next start uses), the running one. */
enum virt_def { VIRT_CFG = 0, VIRT_LIVE };

/* Connect to uri; NULL: virsh's default (VIRSH_DEFAULT_CONNECT_URI, then libvirt's own:
 * LIBVIRT_DEFAULT_URI, uri_default, probing). Returns the connection (virConnectPtr) or NULL. */
void *virt_open(const char *uri);
void virt_close(void *conn);   /* NULL-safe */

/* The guest named name (or with that uuid), both its definitions read. 0, -ENOENT (logged: no
 * such guest), -errno (logged). g is zeroed first: virt_guest_free() it whatever the result. */
int virt_guest_open(void *conn, const char *name, struct virt_guest *g);
/* Re-read the running definition (after a change to it). 0 or -errno (logged). */
int virt_guest_reload_live(struct virt_guest *g);
void virt_guest_free(struct virt_guest *g);

/* Every guest of the connection, into *ret (sorted by name, each read as virt_guest_open
 * reads one); *ret_n of them. A guest that vanishes meanwhile is left out. 0 or -errno. */
int virt_guests_all(void *conn, struct virt_guest **ret, size_t *ret_n);
void virt_guests_free(struct virt_guest *g, size_t n);

/* Whether g has definition which (cfg: persistent; live: active), and that definition. */
const struct vp_domain *virt_def(const struct virt_guest *g, enum virt_def which);

/* Replace our element in definition which of g by xml (a <forwards> element in no namespace:
 * libvirt puts it in ours, prefix portfwd), or remove it (xml NULL). 0 or -EIO (logged). */
int virt_set_meta(struct virt_guest *g, enum virt_def which, const char *xml);

/* The <forwards> element of d's items, less item skip (SIZE_MAX: none), plus the item of
 * attributes keys[i]=values[i] (n: 0 for none), into out; false when it has no item at all. */
bool virt_meta_xml(const struct vp_domain *d, size_t skip, const char *const *keys,
                   const char *const *values, size_t n, struct vp_buf *out);
