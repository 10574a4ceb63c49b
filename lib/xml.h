/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The guarded libxml2 reader and the small tree helpers the libvirt XML parsers share
 * (domain.c, network.c). Pure: no I/O, no logging. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include <libxml/tree.h>

/* Parse buf[0..len) into a tree: no network, no DTD at all (any <!DOCTYPE> is refused before
 * its internal subset is read), at most max_elements elements. 0, -EINVAL (not well-formed,
 * a DOCTYPE), -E2BIG (more elements than max_elements, or len over INT_MAX), -ENOMEM.
 * Free *ret_doc with xmlFreeDoc(). */
int vp_xml_read(const char *buf, size_t len, unsigned long max_elements, xmlDocPtr *ret_doc);

/* An element of libvirt's vocabulary: right name, no namespace (metadata lives in others). */
bool vp_xml_is_elem(const xmlNode *n, const char *name);
/* First element child of n (NULL-safe), and the element after n. */
const xmlNode *vp_xml_first(const xmlNode *n);
const xmlNode *vp_xml_next(const xmlNode *n);
/* First child element of parent named name (NULL-safe). */
const xmlNode *vp_xml_child(const xmlNode *parent, const char *name);

/* Attribute without namespace (n may be NULL): 0 with *ret NULL when absent, or the value to
 * free with xmlFree(); -ENOMEM (*ret untouched). */
int vp_xml_get_prop(const xmlNode *n, const char *name, xmlChar **ret);
/* Copy s (NULL: "") into out[outsz] whole, or fail with -EINVAL: a truncated name would
 * name something else. */
int vp_xml_copy_bounded(const xmlChar *s, char *out, size_t outsz);
/* Attribute (absent: "") or text content of n, copied whole into out[outsz]. */
int vp_xml_copy_prop(const xmlNode *n, const char *name, char *out, size_t outsz);
int vp_xml_copy_text(const xmlNode *n, char *out, size_t outsz);
/* A MAC attribute, lowercased into ret; ret untouched when absent. -EINVAL when malformed. */
int vp_xml_mac_prop(const xmlNode *n, const char *name, char ret[18]);
