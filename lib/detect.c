/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "detect.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "run.h"
#include "util.h"

/* No backend found libvirt's rules: go by what `iptables` is on this host. */
static const struct vp_backend *by_iptables_version(long long deadline)
{
	const char *argv[] = {"iptables", "-V", NULL};
	struct vp_buf out = {0};
	bool legacy = vp_spawn(argv, NULL, 0, &out, 4096, NULL, -1, deadline) == 0 && out.s &&
	              strstr(out.s, "legacy");

	vp_buf_free(&out);
	return vp_backend_by_name(legacy ? "iptables-legacy" : "iptables-nft");
}

int vp_detect(const struct vp_network *net, enum vp_backend_choice forced, long long deadline,
              const struct vp_backend **ret, char *why, size_t whysz)
{
	if (forced != VP_BACKEND_AUTO) {
		snprintf(why, whysz, "backend %s set in the forward table", vp_backend_name(forced));
		*ret = vp_backend_by_name(vp_backend_name(forced));
		return *ret ? 0 : -EOPNOTSUPP;
	}
	if (net && net->fw == VP_LVFW_NFTABLES && !vp_backend_by_name("nftables")) {
		snprintf(why, whysz, "libvirt uses its nftables firewall backend, and this build has "
		         "no libnftables");
		return -EOPNOTSUPP;
	}
	for (size_t i = 0; vp_backends[i]; i++)
		if (vp_backends[i]->probe(net, deadline, why, whysz)) {
			*ret = vp_backends[i];
			return 0;
		}
	*ret = by_iptables_version(deadline);
	snprintf(why, whysz, "no libvirt firewall rules found (NAT only?); using %s, as "
	         "`iptables -V` reports", (*ret)->name);
	return 0;
}
