/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Diagnostics of the forward table: each a whole line "file:line:col: message" (no trailing
 * newline), collected so that every mistake is reported at once, logged by the caller. */
#pragma once

#include <stddef.h>

struct vp_diags {
	char **msg;
	size_t n, cap;
};

/* Appends one message; one that cannot be recorded (out of memory) is dropped. */
void vp_diags_add(struct vp_diags *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void vp_diags_free(struct vp_diags *d);
