/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The functions of libip4tc and libip6tc the iptables-legacy backend calls, loaded on demand
 * (see dl.h). */
#pragma once

#include <libiptc/libip6tc.h>
#include <libiptc/libiptc.h>

#include "dl.h"

/* X(fn) for each function of one family: P is iptc (libip4tc) or ip6tc (libip6tc). */
#define VP_DL_IPTC_FNS(P, X)                                                                     \
	X(P##_init) X(P##_free) X(P##_commit) X(P##_strerror) X(P##_is_chain)                    \
	X(P##_first_rule) X(P##_next_rule) X(P##_get_target) X(P##_insert_entry)                 \
	X(P##_append_entry) X(P##_delete_num_entry) X(P##_create_chain) X(P##_delete_chain)      \
	X(P##_get_references)

#define VP_DL_IPTC_DECLARE(fn) VP_DL_SYM_DECLARE(fn);
VP_DL_IPTC_FNS(iptc, VP_DL_IPTC_DECLARE)
VP_DL_IPTC_FNS(ip6tc, VP_DL_IPTC_DECLARE)

extern struct vp_dl_lib vp_dl_libip4tc, vp_dl_libip6tc;

/* Both libraries loaded, every sym_ above set: 0, or -ELIBACC (logged once). */
int vp_dl_iptc(void);
