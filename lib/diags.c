/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Diagnostics of the forward table (see diags.h). */
#include "diags.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>

#include "util.h"

/* Takes b's string. -ENOMEM if building it failed. */
static int diags_take(struct vp_diags *d, struct vp_buf *b)
{
	int r = 0;

	if (b->err || !b->s) {
		r = -ENOMEM;
		goto out;
	}
	if (!d)
		goto out;
	if (vp_grow(&d->msg, &d->cap, d->n + 1, sizeof(*d->msg)) < 0) {
		r = -ENOMEM;
		goto out;
	}
	d->msg[d->n++] = b->s;
	b->s = NULL;
out:
	vp_buf_free(b);
	return r;
}

void vp_diags_add(struct vp_diags *d, const char *fmt, ...)
{
	struct vp_buf b = {0};
	va_list ap;

	va_start(ap, fmt);
	vp_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	(void)diags_take(d, &b); /* void API: an unrecordable message is dropped */
}

void vp_diags_free(struct vp_diags *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++)
		free(d->msg[i]);
	free(d->msg);
	*d = (struct vp_diags){0};
}
