/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Domain XML (the live XML libvirt passes to the hook on stdin, or libvirt's status file of a
 * running guest, /run/libvirt/qemu/<name>.xml) -> struct vp_domain. Pure. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define VP_DOMAIN_XML_MAX  (64u << 20)  /* stdin bound */
#define VP_MAX_NICS        1024u
#define VP_NAME_MAX        256u         /* network / bridge / domain name bytes incl. NUL */

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
};

/* Parse a <domain> document, or a <domstatus state=.. reason=.. pid=..> wrapping one (libvirt's
 * status file), from buf[0..len). In a status file a NIC's type and bridge come from its
 * <actual> element, as libvirt's live XML reports them, so both forms give the same NICs.
 * A plain <domain> gives status=false, running=true. libxml2 with XML_PARSE_NONET, no entity
 * substitution, no DTD at all, bounded element count. 0, -EINVAL (not a domain or domstatus,
 * no state, no name or uuid, bad uuid or mac), -E2BIG (over VP_MAX_NICS or VP_DOMAIN_XML_MAX),
 * -ENOMEM. On failure *ret is untouched. */
int vp_domain_parse(const char *buf, size_t len, struct vp_domain *ret);
void vp_domain_free(struct vp_domain *d);  /* NULL-safe; frees members, not d itself */
