/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The libraries we use, loaded on first use instead of at process start.
 *
 * The hook runs on every guest start and stop, most of them for guests without forwards. Linked
 * the usual way, the dynamic loader maps and relocates libxml2 (with ICU and libstdc++),
 * json-c, libnftables (libnftnl, libmnl, jansson, gmp, libxtables) and libiptc before main: 1.4
 * ms on the reference machine, three times the cost of starting a program at all. Each
 * dl-*.c defines the few functions of one library that we call, with the library's own
 * prototypes; the first call loads the library (dlopen of the soname we built against). A
 * function that creates something (a parser, a context, a handle) returns its failure value when
 * the library cannot be loaded, with errno ELIBACC, and the failure is logged once; every other
 * function can only be reached with something created before, so its library is loaded. */
#pragma once

#include <stdbool.h>

enum vp_dl_lib {
	VP_DL_XML,
	VP_DL_JSON,
	VP_DL_NFT,
	VP_DL_IP4TC,
	VP_DL_IP6TC,
	VP_DL_COUNT
};

/* The address of name in lib, loading lib on first use; NULL (logged once) when the library
 * or the symbol is missing. */
void *vp_dl_sym(enum vp_dl_lib lib, const char *name);
/* Whether lib has been loaded by this process (for tests). */
bool vp_dl_loaded(enum vp_dl_lib lib);
/* Unload lib (its memory goes back); a later call loads it again. Nothing it made may be left. */
void vp_dl_unload(enum vp_dl_lib lib);
/* Bumped by each unload: a wrapper's cached address is good for one generation. */
extern unsigned vp_dl_generation[VP_DL_COUNT];

/* The body of a wrapper: fn, the cached address of the real function of type `ret (*) params`. */
#define VP_DL_RESOLVE(lib, name, ret, params)                                                    \
	static ret (*fn) params;                                                                 \
	static unsigned gen;                                                                     \
	if (!fn || gen != vp_dl_generation[lib]) {                                               \
		fn = (ret(*) params)vp_dl_sym(lib, #name);                                       \
		gen = vp_dl_generation[lib];                                                     \
	}

/* ret name params, forwarding args; `fail` is run when the library is missing. */
#define VP_DL_FN(lib, fail, ret, name, params, args)                                             \
	ret name params                                                                          \
	{                                                                                        \
		VP_DL_RESOLVE(lib, name, ret, params);                                           \
		if (!fn)                                                                         \
			fail;                                                                    \
		return fn args;                                                                  \
	}

#define VP_DL_VOID(lib, name, params, args)                                                      \
	void name params                                                                         \
	{                                                                                        \
		VP_DL_RESOLVE(lib, name, void, params);                                          \
		if (fn)                                                                          \
			fn args;                                                                 \
	}

/* What a function that cannot be reached without its library does if it is anyway. */
#define VP_DL_UNREACHABLE vp_dl_unreachable(__func__)
_Noreturn void vp_dl_unreachable(const char *func);
/* A constructor's failure: errno ELIBACC, return v. */
#define VP_DL_FAIL(v)                                                                            \
	do {                                                                                     \
		errno = ELIBACC;                                                                 \
		return v;                                                                        \
	} while (0)
