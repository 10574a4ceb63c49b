/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sd-bus (libsystemd), loaded on demand by the firewalld watcher only (see dl.h): the hook, which
 * starts the watcher, never maps it. */
#include "dl-sdbus.h"

VP_DL_SYM_DEFINE(sd_bus_open_system);
VP_DL_SYM_DEFINE(sd_bus_flush_close_unref);
VP_DL_SYM_DEFINE(sd_bus_add_match);
VP_DL_SYM_DEFINE(sd_bus_call_method);
VP_DL_SYM_DEFINE(sd_bus_process);
VP_DL_SYM_DEFINE(sd_bus_wait);
VP_DL_SYM_DEFINE(sd_bus_message_read);
VP_DL_SYM_DEFINE(sd_bus_message_unref);

static const struct vp_dl_sym syms[] = {
	VP_DL_SYM(sd_bus_open_system),
	VP_DL_SYM(sd_bus_flush_close_unref),
	VP_DL_SYM(sd_bus_add_match),
	VP_DL_SYM(sd_bus_call_method),
	VP_DL_SYM(sd_bus_process),
	VP_DL_SYM(sd_bus_wait),
	VP_DL_SYM(sd_bus_message_read),
	VP_DL_SYM(sd_bus_message_unref),
};

struct vp_dl_lib vp_dl_libsystemd = VP_DL_LIB(VP_SONAME_SDBUS, "the firewalld watcher", syms);

VP_DL_NOTE(sdbus,
	"[{\"feature\":\"firewalld\",\"description\":\"re-apply forwards after firewalld "
	"reloads (D-Bus)\",\"priority\":\"recommended\",\"soname\":[\"" VP_SONAME_SDBUS "\"]}]");

int vp_dl_sdbus(void)
{
	return vp_dl_open(&vp_dl_libsystemd);
}
