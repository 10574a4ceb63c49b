/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Domain XML -> struct vp_domain.
 *
 * The document comes from libvirt (the hook's stdin, or its status file of a running guest),
 * but parts of it (names, metadata) are chosen by whoever may define domains: it goes through
 * the guarded reader of xml.c (no network, no DTD, bounded elements, whole copies only). */
#include "domain.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "util.h"
#include "xml.h"

/* A live domain XML with VP_MAX_NICS interfaces has about 10 000 elements; a status file adds
 * libvirt's bookkeeping around it (a few hundred <qemuCaps> flags, a <vcpu> per vCPU, an alias
 * per device, ...): thousands more at the very most. Far more is not from libvirt, and building
 * it into a tree would only cost memory: stop counting there. */
#define DOMAIN_MAX_ELEMENTS 200000ul

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* <uuid> text: 8-4-4-4-12 or 32 hex digits, any case; surrounding whitespace (pretty printing)
 * is allowed here, where the text comes from an element. */
static int parse_uuid(const xmlNode *uuid, char ret[37])
{
	char tmp[64];
	const char *s = tmp;
	size_t len;
	int r = vp_xml_copy_text(uuid, tmp, sizeof(tmp));

	if (r < 0)
		return r;
	len = strlen(tmp);
	while (len && is_space(s[len - 1]))
		len--;
	while (len && is_space(*s)) {
		s++;
		len--;
	}
	return vp_uuid_normalize(s, len, ret);
}

static int parse_identity(const xmlNode *dom, struct vp_domain *d)
{
	const xmlNode *name = vp_xml_child(dom, "name"), *uuid = vp_xml_child(dom, "uuid");
	int r;

	if (!name || !uuid)
		return -EINVAL;
	r = vp_xml_copy_text(name, d->name, sizeof(d->name));
	if (r < 0)
		return r;
	if (!d->name[0])
		return -EINVAL;
	return parse_uuid(uuid, d->uuid);
}

static enum vp_nic_type nic_type(const xmlChar *t)
{
	if (xmlStrEqual(t, (const xmlChar *)"network"))
		return VP_NIC_NETWORK;
	if (xmlStrEqual(t, (const xmlChar *)"bridge"))
		return VP_NIC_BRIDGE;
	return VP_NIC_OTHER;
}

/* The live XML reports what the network actually gave the NIC (type, bridge) in place of the
 * configuration; the status file keeps the configuration and adds it as <actual type=..>
 * <source bridge=../></actual>. Reading <actual> there gives the status file the live NICs. */
static int parse_nic(const xmlNode *iface, bool status, struct vp_nic *nic)
{
	const xmlNode *source = vp_xml_child(iface, "source");
	const xmlNode *actual = status ? vp_xml_child(iface, "actual") : NULL;
	xmlChar *type;
	int r = vp_xml_get_prop(actual ? actual : iface, "type", &type);

	if (r < 0)
		return r;
	nic->type = nic_type(type);
	xmlFree(type);
	r = vp_xml_mac_prop(vp_xml_child(iface, "mac"), "address", nic->mac);
	if (r >= 0)
		r = vp_xml_copy_prop(source, "network", nic->network, sizeof(nic->network));
	if (r >= 0)
		r = vp_xml_copy_prop(source, "bridge", nic->bridge, sizeof(nic->bridge));
	if (r >= 0 && !nic->bridge[0] && actual)
		r = vp_xml_copy_prop(vp_xml_child(actual, "source"), "bridge", nic->bridge,
		                     sizeof(nic->bridge));
	if (r >= 0)
		r = vp_xml_copy_prop(vp_xml_child(iface, "target"), "dev", nic->target,
		                     sizeof(nic->target));
	return r;
}

static int parse_nics(const xmlNode *devices, struct vp_domain *d)
{
	size_t n = 0, i = 0;
	int r = 0;

	for (const xmlNode *c = vp_xml_first(devices); c; c = vp_xml_next(c))
		if (vp_xml_is_elem(c, "interface") && ++n > VP_MAX_NICS)
			return -E2BIG;
	if (n == 0)
		return 0;
	d->nics = calloc(n, sizeof(*d->nics));
	if (!d->nics)
		return -ENOMEM;
	for (const xmlNode *c = vp_xml_first(devices); c && r >= 0; c = vp_xml_next(c)) {
		if (!vp_xml_is_elem(c, "interface"))
			continue;
		r = parse_nic(c, d->status, &d->nics[i++]);
		d->n_nics = i;
	}
	return r;
}

/* ---- our <metadata> element, copied as written ---- */

static bool is_ours(const xmlNode *n, const char *name)
{
	return n && n->type == XML_ELEMENT_NODE && n->ns && n->ns->href &&
	       xmlStrEqual(n->ns->href, (const xmlChar *)VP_META_NS) &&
	       xmlStrEqual(n->name, (const xmlChar *)name);
}

/* "prefix:name" as written (a namespaced attribute, an element of another vocabulary), so that
 * an error can quote it; a plain name stays plain. */
static char *qname(const xmlNs *ns, const xmlChar *name)
{
	const char *pre = ns && ns->prefix ? (const char *)ns->prefix : "";
	size_t n = strlen(pre) + strlen((const char *)name) + 2;
	char *s = malloc(n);

	if (s)
		snprintf(s, n, "%s%s%s", pre, pre[0] ? ":" : "", (const char *)name);
	return s;
}

static int copy_attr(const xmlAttr *a, struct vp_meta_attr *m)
{
	xmlChar *v = xmlNodeGetContent((const xmlNode *)a);

	if (v)
		m->value = vp_strndup((const char *)v, strlen((const char *)v));
	xmlFree(v);
	m->key = qname(a->ns, a->name);
	return m->key && m->value ? 0 : -ENOMEM;
}

static int copy_item(const xmlNode *n, struct vp_meta_item *it)
{
	const xmlAttr *a;
	size_t k = 0;
	int r = 0;

	it->name = is_ours(n, "forward") ? vp_strndup("forward", 7) : qname(n->ns, n->name);
	if (!it->name)
		return -ENOMEM;
	for (a = n->properties; a; a = a->next)
		k++;
	it->too_many_attrs = k > VP_META_MAX_ATTRS;
	k = it->too_many_attrs ? VP_META_MAX_ATTRS : k;
	it->attrs = k ? calloc(k, sizeof(*it->attrs)) : NULL;
	if (k && !it->attrs)
		return -ENOMEM;
	for (a = n->properties; a && r >= 0 && it->n_attrs < k; a = a->next)
		r = copy_attr(a, &it->attrs[it->n_attrs++]);
	return r;
}

/* Every element inside each <portfwd:forwards> of <metadata> (libvirt keeps one per namespace;
 * a hand-written document may have more: all are read, in order). */
static int parse_metadata(const xmlNode *dom, struct vp_domain *d)
{
	const xmlNode *md = vp_xml_child(dom, "metadata");
	size_t n = 0;
	int r = 0;

	for (const xmlNode *f = vp_xml_first(md); f; f = vp_xml_next(f))
		for (const xmlNode *c = is_ours(f, "forwards") ? vp_xml_first(f) : NULL; c;
		     c = vp_xml_next(c))
			n++;
	d->meta_too_many = n > VP_META_MAX_FORWARDS;
	if (n == 0 || d->meta_too_many)
		return 0;
	d->meta = calloc(n, sizeof(*d->meta));
	if (!d->meta)
		return -ENOMEM;
	for (const xmlNode *f = vp_xml_first(md); f && r >= 0; f = vp_xml_next(f))
		for (const xmlNode *c = is_ours(f, "forwards") ? vp_xml_first(f) : NULL;
		     c && r >= 0; c = vp_xml_next(c))
			r = copy_item(c, &d->meta[d->n_meta++]);
	return r;
}

/* The root: a <domain>, or libvirt's <domstatus state=..> around one. The state is required,
 * as libvirt requires it; a value this code does not know counts as running (a newer libvirt
 * may add states, and only "shutoff" means the guest is gone). */
static int parse_root(const xmlNode *root, struct vp_domain *d, const xmlNode **ret_dom)
{
	const xmlNode *dom;
	xmlChar *state;
	int r;

	if (vp_xml_is_elem(root, "domain")) {
		d->status = false;
		d->running = true;
		*ret_dom = root;
		return 0;
	}
	if (!vp_xml_is_elem(root, "domstatus"))
		return -EINVAL;
	dom = vp_xml_child(root, "domain");
	r = vp_xml_get_prop(root, "state", &state);
	if (r < 0)
		return r;
	if (state && state[0] && dom) {
		d->status = true;
		d->running = !xmlStrEqual(state, (const xmlChar *)"shutoff");
		*ret_dom = dom;
	} else {
		r = -EINVAL;
	}
	xmlFree(state);
	return r;
}

int vp_domain_parse(const char *buf, size_t len, struct vp_domain *ret)
{
	struct vp_domain d = {0};
	xmlDocPtr doc = NULL;
	const xmlNode *dom = NULL;
	int r;

	if (!buf || !ret || len == 0)
		return -EINVAL;
	if (len > VP_DOMAIN_XML_MAX)
		return -E2BIG;
	r = vp_xml_read(buf, len, DOMAIN_MAX_ELEMENTS, &doc);
	if (r >= 0)
		r = parse_root(xmlDocGetRootElement(doc), &d, &dom);
	if (r >= 0)
		r = parse_identity(dom, &d);
	if (r >= 0)
		r = parse_nics(vp_xml_child(dom, "devices"), &d);
	if (r >= 0)
		r = parse_metadata(dom, &d);
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
	for (size_t i = 0; i < d->n_meta; i++) {
		struct vp_meta_item *it = &d->meta[i];
		for (size_t k = 0; k < it->n_attrs; k++) {
			free(it->attrs[k].key);
			free(it->attrs[k].value);
		}
		free(it->attrs);
		free(it->name);
	}
	free(d->meta);
	d->meta = NULL;
	d->n_meta = 0;
}
