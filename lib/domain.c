/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Domain XML -> struct vp_domain.
 *
 * The document comes from libvirt on the hook's stdin, but parts of it (names, metadata) are
 * chosen by whoever may define domains, so it is parsed defensively: no network, no DTD at all
 * (libvirt never writes one, and a DTD is where entity bombs, external entities and attribute
 * defaults live), a bounded number of elements, bounded copies that fail instead of truncating. */
#include "domain.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/SAX2.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#define XML_OPTIONS (XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOBLANKS)
/* A live domain XML with VP_MAX_NICS interfaces has about 10 000 elements. Far more is not
 * from libvirt, and building it into a tree would only cost memory: stop counting there. */
#define DOMAIN_MAX_ELEMENTS 200000ul

struct xml_guard {
	unsigned long elements;
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

	if (++g->elements > DOMAIN_MAX_ELEMENTS) {
		g->err = -E2BIG;
		xmlStopParser(ctxt);
		return;
	}
	xmlSAX2StartElementNs(ctx, localname, prefix, uri, nb_namespaces, namespaces,
	                      nb_attributes, nb_defaulted, attributes);
}

static int xml_read(const char *buf, size_t len, xmlDocPtr *ret_doc)
{
	struct xml_guard g = {0};
	xmlParserCtxtPtr ctxt;
	xmlDocPtr doc = NULL;
	int r = 0;

	xmlInitParser();
	ctxt = xmlNewParserCtxt();
	if (!ctxt)
		return -ENOMEM;
	ctxt->_private = &g;
	ctxt->sax->internalSubset = guard_doctype;
	ctxt->sax->startElementNs = guard_element;
	doc = xmlCtxtReadMemory(ctxt, buf, (int)len, "domain.xml", NULL, XML_OPTIONS);
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

/* An element of libvirt's vocabulary: right name, no namespace (metadata lives in others). */
static bool is_elem(const xmlNode *n, const char *name)
{
	return n && n->type == XML_ELEMENT_NODE && !n->ns &&
	       xmlStrEqual(n->name, (const xmlChar *)name);
}

static const xmlNode *child_elem(const xmlNode *parent, const char *name)
{
	if (!parent)
		return NULL;
	for (const xmlNode *c = xmlFirstElementChild((xmlNodePtr)parent); c;
	     c = xmlNextElementSibling((xmlNodePtr)c))
		if (is_elem(c, name))
			return c;
	return NULL;
}

/* Attribute without namespace: 0 with *ret NULL when absent, -ENOMEM. Free with xmlFree. */
static int get_prop(const xmlNode *n, const char *name, xmlChar **ret)
{
	xmlAttrPtr a = n ? xmlHasNsProp(n, (const xmlChar *)name, NULL) : NULL;
	xmlChar *v;

	*ret = NULL;
	if (!a)
		return 0;
	v = xmlNodeGetContent((const xmlNode *)a);
	if (!v)
		return -ENOMEM;
	*ret = v;
	return 0;
}

/* Copy s into out[outsz] whole, or fail: a truncated name would name something else. */
static int copy_bounded(const xmlChar *s, char *out, size_t outsz)
{
	size_t len = s ? strlen((const char *)s) : 0;

	if (len >= outsz)
		return -EINVAL;
	if (len)
		memcpy(out, s, len);
	out[len] = '\0';
	return 0;
}

static int copy_prop(const xmlNode *n, const char *name, char *out, size_t outsz)
{
	xmlChar *v;
	int r = get_prop(n, name, &v);

	if (r < 0)
		return r;
	r = copy_bounded(v, out, outsz);
	xmlFree(v);
	return r;
}

static int copy_text(const xmlNode *n, char *out, size_t outsz)
{
	xmlChar *v = xmlNodeGetContent(n);
	int r;

	if (!v)
		return -ENOMEM;
	r = copy_bounded(v, out, outsz);
	xmlFree(v);
	return r;
}

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* "52:54:00:AA:bb:01" -> "52:54:00:aa:bb:01": exactly six colon-separated hex pairs. */
static int mac_normalize(const char *s, char ret[18])
{
	char out[18];

	if (strlen(s) != 17)
		return -EINVAL;
	for (size_t i = 0; i < 17; i++) {
		if (i % 3 == 2 ? s[i] != ':' : !is_hex(s[i]))
			return -EINVAL;
		out[i] = lower(s[i]);
	}
	out[17] = '\0';
	memcpy(ret, out, sizeof(out));
	return 0;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* 8-4-4-4-12 or 32 hex digits, any case, surrounding whitespace allowed (pretty printing)
 * -> lowercase 8-4-4-4-12, the form the forward table and the owner tags use. */
static int uuid_normalize(const char *s, char ret[37])
{
	size_t len = strlen(s), k = 0;
	char out[37];
	bool dashed;

	while (len && is_space(s[len - 1]))
		len--;
	while (len && is_space(*s)) {
		s++;
		len--;
	}
	if (len != 36 && len != 32)
		return -EINVAL;
	dashed = len == 36;
	for (size_t i = 0; i < len; i++) {
		bool dash_pos = dashed && (i == 8 || i == 13 || i == 18 || i == 23);
		if (dash_pos ? s[i] != '-' : !is_hex(s[i]))
			return -EINVAL;
		if (!dashed && (i == 8 || i == 12 || i == 16 || i == 20))
			out[k++] = '-';
		out[k++] = lower(s[i]);
	}
	out[36] = '\0';
	memcpy(ret, out, sizeof(out));
	return 0;
}

static int parse_identity(const xmlNode *root, struct vp_domain *d)
{
	const xmlNode *name = child_elem(root, "name"), *uuid = child_elem(root, "uuid");
	char tmp[64];
	int r;

	if (!name || !uuid)
		return -EINVAL;
	r = copy_text(name, d->name, sizeof(d->name));
	if (r < 0)
		return r;
	if (!d->name[0])
		return -EINVAL;
	r = copy_text(uuid, tmp, sizeof(tmp));
	if (r < 0)
		return r;
	return uuid_normalize(tmp, d->uuid);
}

static enum vp_nic_type nic_type(const xmlChar *t)
{
	if (xmlStrEqual(t, (const xmlChar *)"network"))
		return VP_NIC_NETWORK;
	if (xmlStrEqual(t, (const xmlChar *)"bridge"))
		return VP_NIC_BRIDGE;
	return VP_NIC_OTHER;
}

static int parse_mac(const xmlNode *iface, char ret[18])
{
	xmlChar *v;
	int r = get_prop(child_elem(iface, "mac"), "address", &v);

	if (r < 0)
		return r;
	if (v)
		r = mac_normalize((const char *)v, ret);
	xmlFree(v);
	return r;
}

static int parse_nic(const xmlNode *iface, struct vp_nic *nic)
{
	const xmlNode *source = child_elem(iface, "source");
	xmlChar *type;
	int r;

	r = get_prop(iface, "type", &type);
	if (r < 0)
		return r;
	nic->type = nic_type(type);
	xmlFree(type);
	r = parse_mac(iface, nic->mac);
	if (r >= 0)
		r = copy_prop(source, "network", nic->network, sizeof(nic->network));
	if (r >= 0)
		r = copy_prop(source, "bridge", nic->bridge, sizeof(nic->bridge));
	if (r >= 0)
		r = copy_prop(child_elem(iface, "target"), "dev", nic->target, sizeof(nic->target));
	return r;
}

static int parse_nics(const xmlNode *devices, struct vp_domain *d)
{
	size_t n = 0, i = 0;
	int r = 0;

	if (!devices)
		return 0;
	for (const xmlNode *c = xmlFirstElementChild((xmlNodePtr)devices); c;
	     c = xmlNextElementSibling((xmlNodePtr)c))
		if (is_elem(c, "interface") && ++n > VP_MAX_NICS)
			return -E2BIG;
	if (n == 0)
		return 0;
	d->nics = calloc(n, sizeof(*d->nics));
	if (!d->nics)
		return -ENOMEM;
	for (const xmlNode *c = xmlFirstElementChild((xmlNodePtr)devices); c && r >= 0;
	     c = xmlNextElementSibling((xmlNodePtr)c)) {
		if (!is_elem(c, "interface"))
			continue;
		r = parse_nic(c, &d->nics[i++]);
		d->n_nics = i;
	}
	return r;
}

int vp_domain_parse(const char *buf, size_t len, struct vp_domain *ret)
{
	struct vp_domain d = {0};
	xmlDocPtr doc = NULL;
	const xmlNode *root;
	int r;

	if (!buf || !ret || len == 0)
		return -EINVAL;
	if (len > VP_DOMAIN_XML_MAX)
		return -E2BIG;
	r = xml_read(buf, len, &doc);
	if (r < 0)
		goto out;
	root = xmlDocGetRootElement(doc);
	if (!is_elem(root, "domain")) {
		r = -EINVAL;
		goto out;
	}
	r = parse_identity(root, &d);
	if (r >= 0)
		r = parse_nics(child_elem(root, "devices"), &d);
	if (r < 0)
		goto out;
	*ret = d;
	d = (struct vp_domain){0};
out:
	vp_domain_free(&d);
	xmlFreeDoc(doc);
	return r;
}

void vp_domain_free(struct vp_domain *d)
{
	if (!d)
		return;
	free(d->nics);
	d->nics = NULL;
	d->n_nics = 0;
}
