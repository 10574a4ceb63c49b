/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Loading a library on first use (see dl.h). */
#include "dl.h"

#include <dlfcn.h>
#include <stdlib.h>

#include "log.h"

static const char *const sonames[VP_DL_COUNT] = {
	[VP_DL_XML] = VP_SONAME_XML,
	[VP_DL_JSON] = VP_SONAME_JSON,
	[VP_DL_NFT] = VP_SONAME_NFT,
	[VP_DL_IP4TC] = VP_SONAME_IP4TC,
	[VP_DL_IP6TC] = VP_SONAME_IP6TC,
};

static void *handles[VP_DL_COUNT];
static bool failed[VP_DL_COUNT];
unsigned vp_dl_generation[VP_DL_COUNT];

static void *handle(enum vp_dl_lib lib)
{
	if (handles[lib] || failed[lib])
		return handles[lib];
	/* RTLD_LOCAL: its symbols stay its own, ours (same names, not exported) stay ours. */
	handles[lib] = dlopen(sonames[lib], RTLD_NOW | RTLD_LOCAL);
	if (!handles[lib]) {
		failed[lib] = true;
		vp_log(LOG_ERR, "cannot load %s: %s", sonames[lib], dlerror());
	}
	return handles[lib];
}

void *vp_dl_sym(enum vp_dl_lib lib, const char *name)
{
	void *h = handle(lib), *p;

	if (!h)
		return NULL;
	p = dlsym(h, name);
	if (!p)
		vp_log(LOG_ERR, "%s has no %s: %s", sonames[lib], name, dlerror());
	return p;
}

bool vp_dl_loaded(enum vp_dl_lib lib)
{
	return handles[lib] != NULL;
}

void vp_dl_unload(enum vp_dl_lib lib)
{
	if (!handles[lib])
		return;
	dlclose(handles[lib]);
	handles[lib] = NULL;
	vp_dl_generation[lib]++;
}

void vp_dl_unreachable(const char *func)
{
	vp_log(LOG_CRIT, "%s called without its library loaded: a bug", func);
	abort();
}
