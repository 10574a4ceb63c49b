/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The lease waiter: at 'started' a new guest usually has no DHCP lease yet. Instead of blocking
 * libvirt, the hook leaves a fully detached process (own session, stdio on /dev/null, no other
 * fd, no libvirt calls) that watches the lease directory with inotify and the neighbour table
 * with rtnetlink (RTNLGRP_NEIGH: a guest without DHCP shows there once it talks), and installs the forwards
 * once the address is known, for at most `set lease-wait` seconds. One waiter per guest. */
#pragma once

#include <stddef.h>
#include <sys/types.h>

#include "domain.h"

/* Save the domain XML and start the waiter (replacing an older one of this guest). */
int vp_waiter_start(const struct vp_domain *d, const char *xml, size_t len, unsigned seconds);
/* Stop the guest's waiter, if any, and forget its XML. */
void vp_waiter_stop(const char *uuid);
/* The waiter process itself (`virt-portfwd __wait-lease UUID SECONDS`). Exit status. */
int vp_waiter_main(const char *uuid, const char *seconds);
/* Start this program (/proc/self/exe) with argv, fully detached: its own session, default
 * signals, stdio on /dev/null and no other fd; never waited for. 0 or -errno. */
int vp_spawn_detached(const char *const argv[], pid_t *ret_pid);
