/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Whole-host operations: bring every running guest's forwards in line with the table (apply,
 * the network hook), remove everything (flush).
 * Running guests are read from libvirt's own status files (/run/libvirt/qemu/<name>.xml), never
 * through libvirt's API: these run inside libvirt's network hook too, where calling libvirt
 * would deadlock. */
#pragma once

#include <stdbool.h>

#include "engine.h"

/* Install/refresh the forwards of every running guest and remove those of guests that no longer
 * run. network: only guests with a NIC on it (NULL: all). Returns the number of failures. */
int vp_apply_all(struct vp_ctx *c, const char *network);
/* Remove every rule of every guest we installed. Returns the number of failures. */
int vp_flush_all(struct vp_ctx *c);
