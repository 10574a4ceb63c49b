/* SPDX-License-Identifier: GPL-2.0-or-later */
/* virt-portfwd doctor: where exactly a forward stops. Read-only. */
#pragma once

#include "guest.h"

/* argv: the words after "doctor" ([--probe] [--json] [DOMAIN [PORT]]). c has the table loaded
 * (c->table_ok) and c->out for output. Returns the exit status: 0 all ok, 1 a check failed,
 * 2 usage. */
int vp_doctor(struct vp_ctx *c, int argc, char **argv);
