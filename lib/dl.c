/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Loading a library on demand, every symbol at once (see dl.h). */
#include "dl.h"

#include <dlfcn.h>
#include <errno.h>

#include "log.h"

static void syms_clear(const struct vp_dl_lib *l)
{
	for (size_t i = 0; i < l->n_sym; i++)
		*l->sym[i].fn = NULL;
}

/* Every symbol of l's table from its handle: 0, or -ELIBACC (logged) at the first missing. */
static int syms_resolve(const struct vp_dl_lib *l)
{
	for (size_t i = 0; i < l->n_sym; i++) {
		*l->sym[i].fn = dlsym(l->handle, l->sym[i].name);
		if (!*l->sym[i].fn) {
			vp_log(LOG_ERR, "cannot load %s (%s is unavailable): it has no %s", l->soname,
			       l->what, l->sym[i].name);
			return -ELIBACC;
		}
	}
	return 0;
}

int vp_dl_open(struct vp_dl_lib *l)
{
	if (l->r != 0)
		return l->r > 0 ? 0 : l->r;
	/* RTLD_LOCAL: its symbols stay its own; RTLD_NOW: its own dependencies resolved now too. */
	l->handle = dlopen(l->soname, RTLD_NOW | RTLD_LOCAL);
	if (!l->handle) {
		vp_log(LOG_ERR, "cannot load %s (%s is unavailable): %s", l->soname, l->what,
		       dlerror());
		l->r = -ELIBACC;
		return l->r;
	}
	l->r = syms_resolve(l);
	if (l->r < 0) {
		syms_clear(l);
		dlclose(l->handle);
		l->handle = NULL;
		return l->r;
	}
	l->r = 1;
	return 0;
}
