/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Domain XML (the live XML libvirt passes to the hook on stdin) -> struct vp_domain. Pure. */
#pragma once

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
};

/* Parse a <domain> document from buf[0..len). libxml2 with XML_PARSE_NONET, no entity
 * substitution, no DTD loading, huge-document limits off. 0, -EINVAL (not a domain, no
 * name or uuid, bad uuid), -E2BIG (over VP_MAX_NICS or VP_DOMAIN_XML_MAX), -ENOMEM.
 * On failure *ret is untouched. */
int vp_domain_parse(const char *buf, size_t len, struct vp_domain *ret);
void vp_domain_free(struct vp_domain *d);  /* NULL-safe; frees members, not d itself */
