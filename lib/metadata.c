/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A domain's <portfwd:forward> elements -> forwards (see metadata.h).
 *
 * An element becomes the words of a table line (the guest's uuid, proto, host, guest, then
 * key=value for every other attribute) and goes through the table's own parser, so a bad value
 * gets the table's message, and a new option of the table is an attribute here at once. What a
 * table line cannot hold (a control character, an over-long value, an element or attribute
 * count no table line has) is refused here first. */
#include "metadata.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "table.h"
#include "util.h"

/* proto, host, guest: the fields of a line after the domain, in its order. */
static const char *const fields[] = {"proto", "host", "guest"};
#define N_FIELDS VP_ARRAY_SIZE(fields)

struct item_words {
	const char *w[4 + VP_META_MAX_ATTRS];
	char *own[VP_META_MAX_ATTRS];   /* the key=value words, allocated here */
	size_t n, n_own;
};

static void words_free(struct item_words *iw)
{
	for (size_t i = 0; i < iw->n_own; i++)
		free(iw->own[i]);
	iw->n_own = 0;
}

bool vp_domain_has_meta(const struct vp_domain *d)
{
	return d->n_meta || d->meta_too_many;
}

static int field_index(const char *key)
{
	for (size_t i = 0; i < N_FIELDS; i++)
		if (!strcmp(key, fields[i]))
			return (int)i;
	return -1;
}

/* What no table line could hold. 0, or -EINVAL with the message in diags. */
static int check_value(const char *where, const struct vp_meta_attr *a, struct vp_diags *diags)
{
	size_t len = strlen(a->value);

	if (len > VP_TABLE_MAX_LINE) {
		vp_diags_add(diags, "%s: value of attribute '%s' too long (max %u bytes)", where,
		             a->key, VP_TABLE_MAX_LINE);
		return -EINVAL;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)a->value[i];
		if (ch < 0x20 || ch == 0x7f) {
			vp_diags_add(diags, "%s: control character 0x%02x in attribute '%s' (only "
			             "printable text is allowed)", where, ch, a->key);
			return -EINVAL;
		}
	}
	return 0;
}

/* An attribute that is not a field: "key=value", the way a table line writes an option. */
static int add_option(struct item_words *iw, const struct vp_meta_attr *a)
{
	size_t n = strlen(a->key) + strlen(a->value) + 2;
	char *w = malloc(n);

	if (!w)
		return -ENOMEM;
	snprintf(w, n, "%s=%s", a->key, a->value);
	iw->own[iw->n_own++] = w;
	iw->w[iw->n++] = w;
	return 0;
}

/* The words of the table line item it says. 0, -EINVAL (in diags), -ENOMEM. */
static int item_to_words(const char *where, const char *uuid, const struct vp_meta_item *it,
                         struct item_words *iw, struct vp_diags *diags)
{
	int r = 0;

	if (strcmp(it->name, "forward") != 0) {
		vp_diags_add(diags, "%s: unexpected element '%s' (expected forward, in namespace %s)",
		             where, it->name, VP_META_NS);
		return -EINVAL;
	}
	if (it->too_many_attrs) {
		vp_diags_add(diags, "%s: too many attributes (expected proto, host, guest and at most 7 "
		             "options)", where);
		return -EINVAL;
	}
	iw->w[0] = uuid;
	iw->n = 4;
	for (size_t i = 0; i < N_FIELDS; i++)
		iw->w[1 + i] = NULL;
	for (size_t k = 0; k < it->n_attrs && r == 0; k++) {
		const struct vp_meta_attr *a = &it->attrs[k];
		int f = field_index(a->key);
		r = check_value(where, a, diags);
		if (r == 0 && f >= 0)
			iw->w[1 + f] = a->value;
		else if (r == 0)
			r = add_option(iw, a);
	}
	for (size_t i = 0; i < N_FIELDS && r == 0; i++)
		if (!iw->w[1 + i]) {
			vp_diags_add(diags, "%s: missing attribute '%s' (expected proto, host and guest, "
			             "as the fields of a table line)", where, fields[i]);
			r = -EINVAL;
		}
	return r;
}

/* "domain NAME metadata", the name made printable on one line. */
static char *meta_file(const char *name)
{
	size_t n = strlen(name) + sizeof("domain  metadata");
	char *s = malloc(n);

	if (s) {
		snprintf(s, n, "domain %s metadata", name);
		vp_text_sanitize(s);
	}
	return s;
}

/* Every item into meta; every problem into diags. 0, -EINVAL, -ENOMEM. */
static int parse_items(const struct vp_domain *d, const char *file, struct vp_table *meta,
                       struct vp_diags *diags)
{
	int r = 0;

	if (d->meta_too_many) {
		vp_diags_add(diags, "%s: more than %u forwards", file, VP_META_MAX_FORWARDS);
		return -EINVAL;
	}
	for (size_t i = 0; i < d->n_meta && r != -ENOMEM; i++) {
		struct item_words iw = {0};
		char where[VP_NAME_MAX + 64];
		int ri;
		snprintf(where, sizeof(where), "%s forward %zu", file, i + 1);
		ri = item_to_words(where, d->uuid, &d->meta[i], &iw, diags);
		if (ri == 0)
			ri = vp_table_add_words(meta, file, (unsigned)(i + 1), iw.w, iw.n, diags);
		words_free(&iw);
		if (r == 0 || ri == -ENOMEM)
			r = ri;
	}
	return r;
}

int vp_metadata_forwards(const struct vp_table *t, const struct vp_domain *d,
                         struct vp_table *meta, struct vp_diags *diags)
{
	char *file = NULL;
	int r;

	vp_table_init(meta);
	if (!vp_domain_has_meta(d))
		return 0;
	file = meta_file(d->name);
	r = file ? parse_items(d, file, meta, diags) : -ENOMEM;
	if (r < 0) {
		vp_table_free(meta);
		goto out;
	}
	r = vp_table_check_extra(t, meta, diags);
	if (r == -EINVAL)
		r = -EEXIST;
out:
	free(file);
	return r;
}
