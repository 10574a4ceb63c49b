/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The backends of this build, in one table: detection, `set backend`, dry-run, removal by the
 * name in a state file and the doctor go through it. A new backend is one file and one line
 * here. */
#include "fw.h"

#include <string.h>

const struct vp_backend *const vp_backends[] = {
#ifdef HAVE_LIBNFTABLES
	&vp_backend_nft,        /* first: libvirt's own nftables firewall names itself */
#endif
	&vp_backend_xt,
#ifdef HAVE_LIBIPTC
	&vp_backend_iptc,
#else
	&vp_backend_xt_legacy,
#endif
	NULL,
};

bool vp_owner_uuid(const char *owner, char uuid[37])
{
	size_t pl = strlen(VP_OWNER_PREFIX), n;

	if (strncmp(owner, VP_OWNER_PREFIX, pl))
		return false;
	owner += pl;
	n = strlen(owner);
	/* A tag is text anyone with CAP_NET_ADMIN can write: only a normalised uuid is taken. */
	if (n != 36 || strspn(owner, "0123456789abcdef-") != n)
		return false;
	memcpy(uuid, owner, n + 1);
	return true;
}

const struct vp_backend *vp_backend_by_name(const char *name)
{
	for (size_t i = 0; vp_backends[i]; i++)
		if (!strcmp(vp_backends[i]->name, name))
			return vp_backends[i];
	return NULL;
}
