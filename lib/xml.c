/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The guarded libxml2 reader shared by the libvirt XML parsers.
 *
 * libvirt writes these documents, but parts of them (domain and network names, metadata,
 * static host names) are chosen by whoever may define domains or networks, so they are parsed
 * defensively: no network, no DTD at all (libvirt never writes one, and a DTD is where entity
 * bombs, external entities and attribute defaults live), a bounded number of elements, bounded
 * copies that fail instead of truncating. */
#include "xml.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

#include <libxml/SAX2.h>
#include <libxml/parser.h>

#include "addr.h"

#define XML_OPTIONS (XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOBLANKS)

struct xml_guard {
	unsigned long elements, max_elements;
	int err;
};

/* SAX hook: any <!DOCTYPE> stops the parser before its internal subset is read, so no entity
 * or attribute-default declaration is ever processed. */
static void guard_doctype(void *ctx, const xmlChar *name, const xmlChar *external_id,
                          const xmlChar *system_id)
{
	xmlParserCtxtPtr ctxt = ctx;
	struct xml_guard *g = ctxt->_private;

	(void)name;
	(void)external_id;
	(void)system_id;
	g->err = -EINVAL;
	xmlStopParser(ctxt);
}

/* SAX hook: count elements and give up early on documents no libvirt would write. */
static void guard_element(void *ctx, const xmlChar *localname, const xmlChar *prefix,
                          const xmlChar *uri, int nb_namespaces, const xmlChar **namespaces,
                          int nb_attributes, int nb_defaulted, const xmlChar **attributes)
{
	xmlParserCtxtPtr ctxt = ctx;
	struct xml_guard *g = ctxt->_private;

	if (++g->elements > g->max_elements) {
		g->err = -E2BIG;
		xmlStopParser(ctxt);
		return;
	}
	xmlSAX2StartElementNs(ctx, localname, prefix, uri, nb_namespaces, namespaces,
	                      nb_attributes, nb_defaulted, attributes);
}

int vp_xml_read(const char *buf, size_t len, unsigned long max_elements, xmlDocPtr *ret_doc)
{
	struct xml_guard g = {.max_elements = max_elements};
	xmlParserCtxtPtr ctxt;
	xmlDocPtr doc = NULL;
	int r = 0;

	if (!buf || !ret_doc)
		return -EINVAL;
	if (len > INT_MAX)
		return -E2BIG;
	xmlInitParser();
	ctxt = xmlNewParserCtxt();
	if (!ctxt)
		return -ENOMEM;
	ctxt->_private = &g;
	ctxt->sax->internalSubset = guard_doctype;
	ctxt->sax->startElementNs = guard_element;
	doc = xmlCtxtReadMemory(ctxt, buf, (int)len, NULL, NULL, XML_OPTIONS);
	/* A stopped parser may still hand back a partial tree: trust only a clean, complete parse. */
	if (g.err)
		r = g.err;
	else if (!doc || !ctxt->wellFormed || ctxt->errNo != XML_ERR_OK)
		r = -EINVAL;
	else if (doc->intSubset || doc->extSubset)
		r = -EINVAL;
	if (r == 0) {
		*ret_doc = doc;
		doc = NULL;
	}
	xmlFreeDoc(doc);
	xmlFreeParserCtxt(ctxt);
	return r;
}

bool vp_xml_is_elem(const xmlNode *n, const char *name)
{
	return n && n->type == XML_ELEMENT_NODE && !n->ns &&
	       xmlStrEqual(n->name, (const xmlChar *)name);
}

const xmlNode *vp_xml_first(const xmlNode *n)
{
	return n ? xmlFirstElementChild((xmlNodePtr)n) : NULL;
}

const xmlNode *vp_xml_next(const xmlNode *n)
{
	return n ? xmlNextElementSibling((xmlNodePtr)n) : NULL;
}

const xmlNode *vp_xml_child(const xmlNode *parent, const char *name)
{
	for (const xmlNode *c = vp_xml_first(parent); c; c = vp_xml_next(c))
		if (vp_xml_is_elem(c, name))
			return c;
	return NULL;
}

int vp_xml_get_prop(const xmlNode *n, const char *name, xmlChar **ret)
{
	xmlAttrPtr a = n ? xmlHasNsProp(n, (const xmlChar *)name, NULL) : NULL;
	xmlChar *v = NULL;

	if (a) {
		v = xmlNodeGetContent((const xmlNode *)a);
		if (!v)
			return -ENOMEM;
	}
	*ret = v;
	return 0;
}

int vp_xml_copy_bounded(const xmlChar *s, char *out, size_t outsz)
{
	size_t len = s ? strlen((const char *)s) : 0;

	if (len >= outsz)
		return -EINVAL;
	if (len)
		memcpy(out, s, len);
	out[len] = '\0';
	return 0;
}

int vp_xml_copy_prop(const xmlNode *n, const char *name, char *out, size_t outsz)
{
	xmlChar *v;
	int r = vp_xml_get_prop(n, name, &v);

	if (r < 0)
		return r;
	r = vp_xml_copy_bounded(v, out, outsz);
	xmlFree(v);
	return r;
}

int vp_xml_copy_text(const xmlNode *n, char *out, size_t outsz)
{
	xmlChar *v;
	int r;

	if (!n)
		return -EINVAL;
	v = xmlNodeGetContent(n);
	if (!v)
		return -ENOMEM;
	r = vp_xml_copy_bounded(v, out, outsz);
	xmlFree(v);
	return r;
}

int vp_xml_mac_prop(const xmlNode *n, const char *name, char ret[18])
{
	xmlChar *v;
	int r = vp_xml_get_prop(n, name, &v);

	if (r < 0 || !v)
		return r;
	r = vp_mac_normalize((const char *)v, strlen((const char *)v), ret);
	xmlFree(v);
	return r;
}
