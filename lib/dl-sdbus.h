/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The functions of sd-bus (libsystemd) the firewalld watcher calls, loaded on demand (see dl.h).
 *
 * Declared here, not taken from <systemd/sd-bus.h>: libsystemd0 is on every systemd
 * distribution, but its headers (libsystemd-dev) must match the installed library's exact
 * version, which a host with backported packages does not always offer; the watcher then needs
 * nothing to build. These are sd-bus's stable public prototypes (libsystemd.so.0, LIBSYSTEMD_221
 * and later), opaque types and all. */
#pragma once

#include <stdint.h>

#include "dl.h"

typedef struct sd_bus sd_bus;
typedef struct sd_bus_message sd_bus_message;
typedef struct sd_bus_slot sd_bus_slot;
typedef struct sd_bus_error sd_bus_error;
typedef int (*sd_bus_message_handler_t)(sd_bus_message *m, void *userdata,
                                        sd_bus_error *ret_error);

int sd_bus_open_system(sd_bus **ret);
sd_bus *sd_bus_flush_close_unref(sd_bus *bus);
int sd_bus_add_match(sd_bus *bus, sd_bus_slot **slot, const char *match,
                     sd_bus_message_handler_t callback, void *userdata);
int sd_bus_call_method(sd_bus *bus, const char *destination, const char *path,
                       const char *interface, const char *member, sd_bus_error *ret_error,
                       sd_bus_message **reply, const char *types, ...);
int sd_bus_process(sd_bus *bus, sd_bus_message **r);
int sd_bus_wait(sd_bus *bus, uint64_t timeout_usec);
int sd_bus_message_read(sd_bus_message *m, const char *types, ...);
sd_bus_message *sd_bus_message_unref(sd_bus_message *m);

VP_DL_SYM_DECLARE(sd_bus_open_system);
VP_DL_SYM_DECLARE(sd_bus_flush_close_unref);
VP_DL_SYM_DECLARE(sd_bus_add_match);
VP_DL_SYM_DECLARE(sd_bus_call_method);
VP_DL_SYM_DECLARE(sd_bus_process);
VP_DL_SYM_DECLARE(sd_bus_wait);
VP_DL_SYM_DECLARE(sd_bus_message_read);
VP_DL_SYM_DECLARE(sd_bus_message_unref);

extern struct vp_dl_lib vp_dl_libsystemd;

/* libsystemd loaded, every sym_ above set: 0, or -ELIBACC (logged once). */
int vp_dl_sdbus(void);
