/* SPDX-License-Identifier: GPL-2.0-or-later */
/* virt-portfwd status: what the doctor reads, printed as a summary instead of judged. */
#pragma once

#include "engine.h"

/* Per running guest and forward: the address and where it came from, and each rule as it is in
 * the kernel with its packet counter, on c->out. 0, or 1 when the guests cannot be listed. */
int vp_status(struct vp_ctx *c);
