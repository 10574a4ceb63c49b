/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Libraries loaded on demand: libnftables and libiptc, each the library of one optional
 * firewall backend.
 *
 * The hook runs on every guest start and stop, most of them for guests without forwards. Linked
 * the usual way, the dynamic loader would map and relocate libnftables (libnftnl, libmnl,
 * jansson, gmp, libxtables) and libiptc before main: 1.5 ms per run on the reference machine,
 * twice the cost of starting a program at all. So a backend loads its library when it is about
 * to be used, the way systemd does it:
 *
 * - each function we call is a pointer sym_NAME, typed after the library's own prototype
 *   (VP_DL_SYM_DECLARE in a dl-*.h, VP_DL_SYM_DEFINE in the dl-*.c); callers call sym_NAME;
 * - one table per library lists every such pointer (VP_DL_SYM); loading the library resolves
 *   all of them at once, so a missing symbol is found before anything is called: the library is
 *   then unavailable (every pointer stays NULL), which is logged once, and the backend's
 *   operations fail with -ELIBACC;
 * - an ELF note (VP_DL_NOTE) names the sonames in the binary, in the format of the FDO "ELF
 *   dlopen metadata" specification, so packaging tools can turn them into dependencies
 *   (`readelf --notes` shows them);
 * - the soname is the one of the library we were built against (meson.build, VP_SONAME_*).
 *
 * A library stays loaded until the process exits. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* The pointer to the library function fn, of fn's own type (its header must be included). */
#define VP_DL_SYM_DECLARE(fn) extern typeof(fn) *sym_##fn
#define VP_DL_SYM_DEFINE(fn) typeof(fn) *sym_##fn = NULL

/* One entry of a library's symbol table (struct vp_dl_sym), with a compile-time check that
 * sym_fn has fn's type. */
#define VP_DL_SYM(fn)                                                                            \
	{(void **)&sym_##fn + 0 * sizeof(char[__builtin_types_compatible_p(typeof(sym_##fn),      \
	                                                                    typeof(&fn)) ? 1 : -1]), \
	 #fn}

struct vp_dl_sym {
	void **fn;          /* where its address goes */
	const char *name;
};

struct vp_dl_lib {
	const char *soname;
	const char *what;   /* what needs it, for the log: "the nftables backend" */
	const struct vp_dl_sym *sym;
	size_t n_sym;
	void *handle;       /* once loaded */
	int r;              /* 0 not tried yet, 1 loaded, < 0 unavailable */
};

/* The initializer of a struct vp_dl_lib, table being its array of struct vp_dl_sym. */
#define VP_DL_LIB(soname_, what_, table)                                                         \
	{.soname = (soname_), .what = (what_), .sym = (table),                                   \
	 .n_sym = sizeof(table) / sizeof((table)[0])}

/* Load l and resolve every symbol of its table: 0 (also when already loaded), or -ELIBACC when
 * the library or one of its symbols is missing; that is logged the first time only, and every
 * pointer of the table is then NULL. */
int vp_dl_open(struct vp_dl_lib *l);

/* The FDO "ELF dlopen metadata" note (https://systemd.io/ELF_DLOPEN_METADATA/): owner "FDO",
 * type 0x407c0c0a, a NUL-terminated JSON array of objects naming a feature, its priority
 * ("required", "recommended", "suggested") and its sonames. json must be a string literal. */
#define VP_DL_NOTE_OWNER "FDO"
#define VP_DL_NOTE_TYPE UINT32_C(0x407c0c0a)
#define VP_DL_NOTE(id, json)                                                                     \
	__attribute__((used, section(".note.dlopen"), aligned(4))) static const struct {        \
		uint32_t namesz, descsz, type;                                                   \
		char owner[(sizeof(VP_DL_NOTE_OWNER) + 3) & ~(size_t)3];                          \
		char desc[(sizeof(json) + 3) & ~(size_t)3];                                      \
	} vp_dl_note_##id = {sizeof(VP_DL_NOTE_OWNER), sizeof(json), VP_DL_NOTE_TYPE,            \
	                     VP_DL_NOTE_OWNER, json}
