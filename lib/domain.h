/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Domain XML (the live XML libvirt passes to the hook on stdin, or libvirt's status file of a
 * running guest, /run/libvirt/qemu/<name>.xml) -> struct vp_domain. Pure. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define VP_DOMAIN_XML_MAX  (64u << 20)  /* stdin bound */
#define VP_MAX_NICS        1024u
#define VP_NAME_MAX        256u         /* network / bridge / domain name bytes incl. NUL */

/* Forwards kept in the domain's <metadata>, in an element of this namespace (forwards.conf(5)):
 *   <portfwd:forwards xmlns:portfwd="https://virt-portfwd.example/xmlns/1">
 *     <portfwd:forward proto="tcp" host="2222" guest="22" from="203.0.113.0/24"/>
 * The parser here only copies what is written; metadata.h gives it the table's meaning. */
#define VP_META_NS            "https://virt-portfwd.example/xmlns/1"
#define VP_META_MAX_FORWARDS  1024u   /* elements inside <portfwd:forwards>, all together */
#define VP_META_MAX_ATTRS     16u     /* attributes kept per element (a forward has at most 10) */

struct vp_meta_attr {
	char *key;                   /* "proto", ...; "prefix:name" for one in a namespace */
	char *value;
};

/* One element inside <portfwd:forwards>, as written. */
struct vp_meta_item {
	char *name;                  /* "forward" in our namespace, else "prefix:name" as written */
	struct vp_meta_attr *attrs;
	size_t n_attrs;
	bool too_many_attrs;         /* more than VP_META_MAX_ATTRS: none kept past them */
};

enum vp_nic_type { VP_NIC_OTHER = 0, VP_NIC_NETWORK, VP_NIC_BRIDGE };

struct vp_nic {
	enum vp_nic_type type;       /* <interface type='network'|'bridge'|...> */
	char mac[18];                /* lowercase aa:bb:cc:dd:ee:ff, "" when absent */
	char network[VP_NAME_MAX];   /* <source network='..'/>, "" when absent */
	char bridge[VP_NAME_MAX];    /* <source bridge='..'/> (live XML), "" when absent */
	char target[VP_NAME_MAX];    /* <target dev='vnetN'/>, "" when absent */
};

struct vp_domain {
	char name[VP_NAME_MAX];
	char uuid[37];               /* lowercase 8-4-4-4-12 */
	struct vp_nic *nics;
	size_t n_nics;
	bool status;                 /* parsed from a <domstatus> wrapper */
	bool running;                /* <domstatus state='running'|'paused'|...>: true unless shut off */
	struct vp_meta_item *meta;   /* our <metadata> elements, in document order */
	size_t n_meta;
	bool meta_too_many;          /* over VP_META_MAX_FORWARDS: meta is empty, all are refused */
};

/* Parse a <domain> document, or a <domstatus state=.. reason=.. pid=..> wrapping one (libvirt's
 * status file), from buf[0..len). In a status file a NIC's type and bridge come from its
 * <actual> element, as libvirt's live XML reports them, so both forms give the same NICs.
 * A plain <domain> gives status=false, running=true. libxml2 with XML_PARSE_NONET, no entity
 * substitution, no DTD at all, bounded element count. 0, -EINVAL (not a domain or domstatus,
 * no state, no name or uuid, bad uuid or mac), -E2BIG (over VP_MAX_NICS or VP_DOMAIN_XML_MAX),
 * -ENOMEM. A metadata element of ours in any shape never fails the parse: it is copied as
 * written (meta), judged by metadata.h. On failure *ret is untouched. */
int vp_domain_parse(const char *buf, size_t len, struct vp_domain *ret);
void vp_domain_free(struct vp_domain *d);  /* NULL-safe; frees members, not d itself */
