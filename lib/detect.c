/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "detect.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "nfq.h"
#include "run.h"
#include "util.h"

#define LIBVIRT_CHAIN "LIBVIRT_FWI"
#define LEGACY_SAVE_MAX (256u << 20)

static const struct vp_backend *legacy_backend(void)
{
#ifdef HAVE_LIBIPTC
	return &vp_backend_iptc;
#else
	return &vp_backend_xt_legacy;
#endif
}

static const struct vp_backend *nft_backend(void)
{
#ifdef HAVE_LIBNFTABLES
	return &vp_backend_nft;
#else
	return NULL;
#endif
}

const struct vp_backend *vp_backend_by_name(const char *name)
{
	if (nft_backend() && !strcmp(name, nft_backend()->name))
		return nft_backend();
	if (!strcmp(name, vp_backend_xt.name))
		return &vp_backend_xt;
	if (!strcmp(name, legacy_backend()->name))
		return legacy_backend();
	return NULL;
}

/* Whether an nf_tables chain exists, asked of the kernel by name (an nft listing would fetch
 * every rule of the table first); a failing probe counts as "no". */
static bool nft_chain_exists(int family, const char *table, const char *chain)
{
	struct vp_nfq q;
	unsigned use;
	bool found;

	if (vp_nfq_open(&q) < 0)
		return false;
	found = vp_nfq_chain_use(&q, family, table, chain, &use) == 0;
	vp_nfq_close(&q);
	return found;
}

/* libvirt's chain in nf_tables, where iptables-nft put it. */
static bool nft_has_libvirt_chain(void)
{
	return nft_chain_exists(AF_INET, "filter", LIBVIRT_CHAIN);
}

/* libvirt >= 10.4 with firewall_backend nftables: its own table, with the forward chain our
 * accepts go to. */
static bool libvirt_nft_table(void)
{
	return nft_backend() && nft_chain_exists(AF_INET, "libvirt_network", "forward");
}

/* libvirt's chain in the legacy tables. Never instantiate a legacy table to find out: a table
 * not listed in /proc/net/ip_tables_names does not exist in this namespace. */
static bool legacy_has_libvirt_chain(void)
{
#ifdef HAVE_LIBIPTC
	/* In process, one atomic get of the table, no xtables lock: what the save below does,
	 * without an exec. */
	return vp_iptc_has_chain("filter", LIBVIRT_CHAIN);
#else
	char *names = NULL;
	size_t len;
	bool has_filter;

	if (vp_read_file("/proc/net/ip_tables_names", 4096, false, &names, &len) < 0)
		return false;
	has_filter = strstr(names, "filter\n") == names || strstr(names, "\nfilter\n");
	free(names);
	if (!has_filter)
		return false;
	/* iptables-legacy-save, not `iptables-legacy -w -S`: reading a table is one atomic get
	 * and the save tool takes no xtables lock, so a process holding that lock cannot stall
	 * detection (-w would wait for it without bound); the write that follows waits a
	 * bounded time. */
	const char *argv[] = {"iptables-legacy-save", "-t", "filter", NULL};
	struct vp_buf out = {0};
	bool found = vp_spawn(argv, NULL, 0, &out, LEGACY_SAVE_MAX, NULL) == 0 && out.s &&
	             strstr(out.s, "\n:" LIBVIRT_CHAIN " ");
	vp_buf_free(&out);
	return found;
#endif
}

/* Neither table has libvirt's rules: go by what `iptables` is on this host. */
static const struct vp_backend *by_iptables_version(void)
{
	const char *argv[] = {"iptables", "-V", NULL};
	struct vp_buf out = {0};
	const struct vp_backend *b = &vp_backend_xt;

	if (vp_spawn(argv, NULL, 0, &out, 4096, NULL) == 0 && out.s && strstr(out.s, "legacy"))
		b = legacy_backend();
	vp_buf_free(&out);
	return b;
}

static int forced_backend(enum vp_backend_choice forced, const struct vp_backend **ret)
{
	switch (forced) {
	case VP_BACKEND_IPT_LEGACY: *ret = legacy_backend(); return 0;
	case VP_BACKEND_IPT_NFT: *ret = &vp_backend_xt; return 0;
	case VP_BACKEND_NFT: return (*ret = nft_backend()) ? 0 : -EOPNOTSUPP;
	case VP_BACKEND_AUTO: break;
	}
	return -EINVAL;
}

int vp_detect(const struct vp_network *net, enum vp_backend_choice forced,
              const struct vp_backend **ret, char *why, size_t whysz)
{
	if (forced != VP_BACKEND_AUTO) {
		snprintf(why, whysz, "backend %s set in the forward table", vp_backend_name(forced));
		return forced_backend(forced, ret);
	}
	enum vp_libvirt_fw fw = net ? net->fw : VP_LVFW_UNKNOWN;

	if (fw == VP_LVFW_NFTABLES || (fw == VP_LVFW_UNKNOWN && libvirt_nft_table())) {
		if (!(*ret = nft_backend())) {
			snprintf(why, whysz, "libvirt uses its nftables firewall backend, and this "
			         "build has no libnftables");
			return -EOPNOTSUPP;
		}
		snprintf(why, whysz, "libvirt uses its nftables firewall backend%s",
		         net && net->fw == VP_LVFW_NFTABLES ? " (network status)" : "");
	} else if (nft_has_libvirt_chain()) {
		snprintf(why, whysz, "libvirt's " LIBVIRT_CHAIN " is in nf_tables (iptables-nft)");
		*ret = &vp_backend_xt;
	} else if (legacy_has_libvirt_chain()) {
		snprintf(why, whysz, "libvirt's " LIBVIRT_CHAIN " is in the legacy iptables tables");
		*ret = legacy_backend();
	} else {
		*ret = by_iptables_version();
		snprintf(why, whysz, "no libvirt firewall rules found (NAT only?); "
		         "using %s, as `iptables -V` reports", (*ret)->name);
	}
	return 0;
}
