/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libip4tc and libip6tc, loaded on demand by the iptables-legacy backend (see dl.h). */
#include "dl-iptc.h"

#define DEFINE(fn) VP_DL_SYM_DEFINE(fn);
#define ENTRY(fn) VP_DL_SYM(fn),

VP_DL_IPTC_FNS(iptc, DEFINE)
VP_DL_IPTC_FNS(ip6tc, DEFINE)

static const struct vp_dl_sym syms4[] = {VP_DL_IPTC_FNS(iptc, ENTRY)};
static const struct vp_dl_sym syms6[] = {VP_DL_IPTC_FNS(ip6tc, ENTRY)};

struct vp_dl_lib vp_dl_libip4tc = VP_DL_LIB(VP_SONAME_IP4TC, "the iptables-legacy backend", syms4);
struct vp_dl_lib vp_dl_libip6tc = VP_DL_LIB(VP_SONAME_IP6TC, "the iptables-legacy backend", syms6);

VP_DL_NOTE(iptc,
	"[{\"feature\":\"iptables-legacy\",\"description\":\"firewall backend for the legacy "
	"iptables tables (IPv4)\",\"priority\":\"recommended\",\"soname\":[\"" VP_SONAME_IP4TC
	"\"]},{\"feature\":\"iptables-legacy-ipv6\",\"description\":\"firewall backend for the "
	"legacy iptables tables (IPv6)\",\"priority\":\"recommended\",\"soname\":[\""
	VP_SONAME_IP6TC "\"]}]");

int vp_dl_iptc(void)
{
	int r = vp_dl_open(&vp_dl_libip4tc);

	return r < 0 ? r : vp_dl_open(&vp_dl_libip6tc);
}
