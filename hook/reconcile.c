/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "reconcile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "domain.h"
#include "inputs.h"
#include "log.h"
#include "state.h"
#include "util.h"
#include "waiter.h"

struct guests {
	struct vp_domain *d;
	char **xml;            /* the status file, for a lease waiter */
	size_t *len;
	size_t n, cap[3];      /* allocated: of d, xml, len */
};

static void guests_free(struct guests *g)
{
	for (size_t i = 0; i < g->n; i++) {
		vp_domain_free(&g->d[i]);
		free(g->xml[i]);
	}
	free(g->d);
	free(g->xml);
	free(g->len);
	*g = (struct guests){0};
}

static int guests_add(struct guests *g, struct vp_domain *d, char *xml, size_t len)
{
	if (vp_grow(&g->d, &g->cap[0], g->n + 1, sizeof(*g->d)) < 0 ||
	    vp_grow(&g->xml, &g->cap[1], g->n + 1, sizeof(*g->xml)) < 0 ||
	    vp_grow(&g->len, &g->cap[2], g->n + 1, sizeof(*g->len)) < 0)
		return -ENOMEM;
	g->d[g->n] = *d;
	g->xml[g->n] = xml;
	g->len[g->n++] = len;
	return 0;
}

static bool on_network(const struct vp_domain *d, const char *network)
{
	if (!network)
		return true;
	for (size_t i = 0; i < d->n_nics; i++)
		if (d->nics[i].type == VP_NIC_NETWORK && !strcmp(d->nics[i].network, network))
			return true;
	return false;
}

static int keep_guest(void *ctx, struct vp_domain *d, char *xml, size_t len)
{
	int r = guests_add(ctx, d, xml, len);
	return r < 0 ? r : 1;
}

/* Running guests, from libvirt's status files. */
static int running_guests(struct guests *g)
{
	return vp_foreach_running(keep_guest, g);
}

static bool is_running(const struct guests *g, const char *uuid)
{
	for (size_t i = 0; i < g->n; i++)
		if (!strcmp(g->d[i].uuid, uuid))
			return true;
	return false;
}

static char **installed_guests(void)
{
	char **list = NULL;
	size_t n;
	int dirfd = vp_state_open_dir();

	if (dirfd < 0)
		return NULL;
	if (vp_state_list(dirfd, &list, &n) < 0)
		list = NULL;
	close(dirfd);
	return list;
}

static int remove_guest(struct vp_ctx *c, const char *uuid)
{
	if (!c->dry_run)
		vp_waiter_stop(uuid);
	return vp_guest_remove(c, uuid) < 0;
}

int vp_apply_all(struct vp_ctx *c, const char *network)
{
	struct guests g = {0};
	char **installed;
	int failed = 0, r = running_guests(&g);

	if (r < 0) {
		vp_log(LOG_ERR, "cannot list running guests: %s", strerror(-r));
		return 1;
	}
	for (size_t i = 0; i < g.n; i++) {
		if (!on_network(&g.d[i], network))
			continue;
		if (vp_deadline_passed(c->deadline)) {
			vp_log(LOG_ERR, "the hook's time (set hook-timeout) is up: %s and the guests "
			       "after it are left as they are, run 'virt-portfwd apply'", g.d[i].name);
			failed++;
			break;
		}
		failed += vp_guest_install(c, &g.d[i]) < 0;
		if (c->pending && !c->dry_run)
			vp_waiter_start(&g.d[i], g.xml[i], g.len[i], c->table.set.lease_wait);
	}
	/* Guests that stopped while nobody was listening (libvirtd down, hook not installed yet). */
	installed = network ? NULL : installed_guests();
	for (char **u = installed; u && *u; u++)
		if (!is_running(&g, *u))
			failed += remove_guest(c, *u);
	vp_state_list_free(installed);
	guests_free(&g);
	/* Rules that no state accounts for: every running guest with forwards has its state now. */
	if (!network && !c->dry_run)
		failed += vp_engine_sweep(NULL, c->deadline) < 0;
	return failed;
}

int vp_flush_all(struct vp_ctx *c)
{
	char **installed = installed_guests();
	int failed = 0;

	for (char **u = installed; u && *u; u++)
		failed += remove_guest(c, *u);
	vp_state_list_free(installed);
	if (!c->dry_run)
		failed += vp_engine_sweep(NULL, c->deadline) < 0;   /* and what no state knew of */
	return failed;
}
