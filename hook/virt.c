/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libvirt's API for the command line (see virt.h). */
#include "virt.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dl-virt.h"
#include "log.h"

/* libvirt's default handler prints every error on stderr; we log each once, in our words. */
static void quiet(void *data, virErrorPtr e)
{
	(void)data;
	(void)e;
}

void *virt_open(const char *uri)
{
	virConnectPtr conn;

	if (vp_dl_virt() < 0)
		return NULL;
	sym_virSetErrorFunc(NULL, quiet);
	if (!uri || !*uri)
		uri = getenv("VIRSH_DEFAULT_CONNECT_URI");   /* what virsh reads first */
	conn = sym_virConnectOpen(uri && *uri ? uri : NULL);
	if (!conn)
		vp_log(LOG_ERR, "cannot connect to libvirt%s%s: %s", uri ? " at " : "", uri ? uri : "",
		       sym_virGetLastErrorMessage());
	return conn;
}

void virt_close(void *conn)
{
	if (conn)
		sym_virConnectClose(conn);
}

/* One definition's XML, parsed; its text into *keep when keep is not NULL. 0 or -errno (logged). */
static int read_def(virDomainPtr dom, const char *name, unsigned flags, struct vp_domain *ret,
                    char **keep)
{
	char *xml = sym_virDomainGetXMLDesc(dom, flags);
	int r;

	if (!xml) {
		vp_log(LOG_ERR, "cannot read the %s definition of %s: %s",
		       flags ? "persistent" : "running", name, sym_virGetLastErrorMessage());
		return -EIO;
	}
	r = vp_domain_parse(xml, strlen(xml), ret);
	if (r < 0)
		vp_log(LOG_ERR, "cannot parse the %s definition of %s: %s",
		       flags ? "persistent" : "running", name, strerror(-r));
	if (r == 0 && keep) {
		free(*keep);
		*keep = xml;
	} else {
		free(xml);
	}
	return r;
}

/* g->dom set: its state and definitions. */
static int guest_read(struct virt_guest *g, const char *name)
{
	int active = sym_virDomainIsActive(g->dom), persistent = sym_virDomainIsPersistent(g->dom);
	int r = 0;

	if (active < 0 || persistent < 0) {
		vp_log(LOG_ERR, "cannot read the state of %s: %s", name, sym_virGetLastErrorMessage());
		return -EIO;
	}
	g->active = active;
	g->persistent = persistent;
	if (g->persistent)
		r = read_def(g->dom, name, VIR_DOMAIN_XML_INACTIVE, &g->cfg, NULL);
	if (r == 0 && g->active)
		r = read_def(g->dom, name, 0, &g->live, &g->live_xml);
	return r;
}

int virt_guest_open(void *conn, const char *name, struct virt_guest *g)
{
	*g = (struct virt_guest){0};
	g->dom = sym_virDomainLookupByName(conn, name);
	if (!g->dom)
		g->dom = sym_virDomainLookupByUUIDString(conn, name);
	if (!g->dom) {
		char n[VP_NAME_MAX];
		snprintf(n, sizeof(n), "%s", name);
		vp_text_sanitize(n);
		vp_log(LOG_ERR, "no guest named %s (nor with that uuid): see `virsh list --all`", n);
		return -ENOENT;
	}
	return guest_read(g, name);
}

int virt_guest_reload_live(struct virt_guest *g)
{
	struct vp_domain d = {0};
	int r = read_def(g->dom, g->live.name, 0, &d, &g->live_xml);

	if (r == 0) {
		vp_domain_free(&g->live);
		g->live = d;
	}
	return r;
}

void virt_guest_free(struct virt_guest *g)
{
	if (!g)
		return;
	if (g->dom)
		sym_virDomainFree(g->dom);
	vp_domain_free(&g->cfg);
	vp_domain_free(&g->live);
	free(g->live_xml);
	*g = (struct virt_guest){0};
}

const struct vp_domain *virt_def(const struct virt_guest *g, enum virt_def which)
{
	if (which == VIRT_CFG)
		return g->persistent ? &g->cfg : NULL;
	return g->active ? &g->live : NULL;
}

static const char *guest_name(const struct virt_guest *g)
{
	return g->persistent ? g->cfg.name : g->live.name;
}

static int cmp_guests(const void *a, const void *b)
{
	return strcmp(guest_name(a), guest_name(b));
}

int virt_guests_all(void *conn, struct virt_guest **ret, size_t *ret_n)
{
	virDomainPtr *doms = NULL;
	struct virt_guest *g = NULL;
	size_t n = 0;
	int nd = sym_virConnectListAllDomains(conn, &doms, 0);

	if (nd < 0) {
		vp_log(LOG_ERR, "cannot list the guests: %s", sym_virGetLastErrorMessage());
		return -EIO;
	}
	g = calloc((size_t)nd + 1, sizeof(*g));
	for (int i = 0; i < nd; i++) {
		if (!g) {
			sym_virDomainFree(doms[i]);
			continue;
		}
		g[n] = (struct virt_guest){.dom = doms[i]};
		if (guest_read(&g[n], "a guest") == 0)
			n++;
		else
			virt_guest_free(&g[n]);   /* gone meanwhile */
	}
	free(doms);
	if (!g)
		return -ENOMEM;
	qsort(g, n, sizeof(*g), cmp_guests);
	*ret = g;
	*ret_n = n;
	return 0;
}

void virt_guests_free(struct virt_guest *g, size_t n)
{
	for (size_t i = 0; g && i < n; i++)
		virt_guest_free(&g[i]);
	free(g);
}

int virt_set_meta(struct virt_guest *g, enum virt_def which, const char *xml)
{
	const struct vp_domain *d = virt_def(g, which);
	unsigned flags = which == VIRT_CFG ? VIR_DOMAIN_AFFECT_CONFIG : VIR_DOMAIN_AFFECT_LIVE;

	if (sym_virDomainSetMetadata(g->dom, VIR_DOMAIN_METADATA_ELEMENT, xml, xml ? "portfwd" : NULL,
	                             VP_META_NS, flags) == 0)
		return 0;
	vp_log(LOG_ERR, "cannot write the metadata of the %s definition of %s: %s",
	       which == VIRT_CFG ? "persistent" : "running", d ? d->name : "?",
	       sym_virGetLastErrorMessage());
	return -EIO;
}

/* value as XML attribute text. */
static void put_attr(struct vp_buf *out, const char *key, const char *value)
{
	vp_buf_printf(out, " %s=\"", key);
	for (const char *p = value; *p; p++) {
		switch (*p) {
		case '&': vp_buf_printf(out, "&amp;"); break;
		case '<': vp_buf_printf(out, "&lt;"); break;
		case '>': vp_buf_printf(out, "&gt;"); break;
		case '"': vp_buf_printf(out, "&quot;"); break;
		default: vp_buf_append(out, p, 1); break;
		}
	}
	vp_buf_printf(out, "\"");
}

bool virt_meta_xml(const struct vp_domain *d, size_t skip, const char *const *keys,
                   const char *const *values, size_t n, struct vp_buf *out)
{
	size_t items = 0;

	vp_buf_printf(out, "<forwards>\n");
	for (size_t i = 0; d && i < d->n_meta; i++) {
		if (i == skip)
			continue;
		vp_buf_printf(out, "  <forward");
		for (size_t k = 0; k < d->meta[i].n_attrs; k++)
			put_attr(out, d->meta[i].attrs[k].key, d->meta[i].attrs[k].value);
		vp_buf_printf(out, "/>\n");
		items++;
	}
	if (n) {
		vp_buf_printf(out, "  <forward");
		for (size_t k = 0; k < n; k++)
			put_attr(out, keys[k], values[k]);
		vp_buf_printf(out, "/>\n");
		items++;
	}
	vp_buf_printf(out, "</forwards>\n");
	return items > 0;
}
