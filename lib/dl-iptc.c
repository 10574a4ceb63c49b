/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The functions of libip4tc and libip6tc we call, loading them on first use (see dl.h).
 * Everything starts with iptc_init / ip6tc_init; *_strerror also explains a failure to load. */
#include <errno.h>
#include <stddef.h>
#include <libiptc/libip6tc.h>
#include <libiptc/libiptc.h>

#include "dl.h"

#define NO VP_DL_UNREACHABLE

/* The functions of one family: P the prefix, E its rule type, L its library. */
#define VP_DL_IPTC(L, P, E)                                                                      \
	VP_DL_FN(L, VP_DL_FAIL(NULL), struct xtc_handle *, P##_init, (const char *tablename),    \
	         (tablename))                                                                    \
	VP_DL_FN(L, return "its library (lib" #P ") cannot be loaded", const char *,              \
	         P##_strerror, (int err), (err))                                                 \
	VP_DL_VOID(L, P##_free, (struct xtc_handle *h), (h))                                     \
	VP_DL_FN(L, NO, int, P##_commit, (struct xtc_handle *handle), (handle))                  \
	VP_DL_FN(L, NO, int, P##_is_chain, (const char *chain, struct xtc_handle *const handle),  \
	         (chain, handle))                                                                \
	VP_DL_FN(L, NO, const struct E *, P##_first_rule,                                        \
	         (const char *chain, struct xtc_handle *handle), (chain, handle))                \
	VP_DL_FN(L, NO, const struct E *, P##_next_rule,                                         \
	         (const struct E *prev, struct xtc_handle *handle), (prev, handle))              \
	VP_DL_FN(L, NO, const char *, P##_get_target,                                            \
	         (const struct E *e, struct xtc_handle *handle), (e, handle))                    \
	VP_DL_FN(L, NO, int, P##_insert_entry, (const xt_chainlabel chain, const struct E *e,    \
	         unsigned int rulenum, struct xtc_handle *handle), (chain, e, rulenum, handle))   \
	VP_DL_FN(L, NO, int, P##_append_entry, (const xt_chainlabel chain, const struct E *e,    \
	         struct xtc_handle *handle), (chain, e, handle))                                 \
	VP_DL_FN(L, NO, int, P##_delete_num_entry, (const xt_chainlabel chain,                   \
	         unsigned int rulenum, struct xtc_handle *handle), (chain, rulenum, handle))      \
	VP_DL_FN(L, NO, int, P##_create_chain, (const xt_chainlabel chain,                       \
	         struct xtc_handle *handle), (chain, handle))                                    \
	VP_DL_FN(L, NO, int, P##_delete_chain, (const xt_chainlabel chain,                       \
	         struct xtc_handle *handle), (chain, handle))                                    \
	VP_DL_FN(L, NO, int, P##_get_references, (unsigned int *ref, const xt_chainlabel chain,  \
	         struct xtc_handle *handle), (ref, chain, handle))

VP_DL_IPTC(VP_DL_IP4TC, iptc, ipt_entry)
VP_DL_IPTC(VP_DL_IP6TC, ip6tc, ip6t_entry)
