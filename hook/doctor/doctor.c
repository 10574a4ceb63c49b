/* SPDX-License-Identifier: GPL-2.0-or-later */
/* virt-portfwd doctor: follow each forward through every stage a forwarded connection passes
 * (the table, the guest and its address, the host's routing, the rules and their order, the
 * counters) and say where it stops, and what to do about it. This file: the arguments, the
 * guests to look at (libvirt's status files), the table stage and the order of it all; the
 * output and the inputs every check reads are doctor-report.c's. Read-only: the one file it writes is its own counters file in the state directory
 * ("since the last check"). */
#include "doctor-int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "metadata.h"

/* ------------------------------------------------------------------------------------------- */
/* Arguments: [DOMAIN [PORT]] (the command line took the options). */

static int parse_args(struct doctor *dr, int argc, char *const *argv)
{
	unsigned positional = 0;

	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (positional == 0) {
			dr->domain = a;
			positional++;
		} else if (positional == 1 &&
		           vp_parse_uint(a, strlen(a), 1, 65535, &dr->port) == 0) {
			positional++;
		} else {
			vp_log(LOG_ERR, "doctor: '%s' is not a port (1-65535); usage: virt-portfwd doctor "
			       "[--probe] [--json] [DOMAIN [PORT]]", a);
			return -EINVAL;
		}
	}
	return 0;
}

/* ------------------------------------------------------------------------------------------- */
/* Inputs: the networks read for the checks (doctor-report.c reads them). */

static void nets_free(struct doctor *dr)
{
	vp_netcache_free(&dr->cache);
	dr->n_nets = 0;
}

/* ------------------------------------------------------------------------------------------- */
/* The guests to look at: running ones (libvirt's status files, as `apply` reads them) with
 * forwards or with rules of ours, and stopped ones whose rules are still installed. */

static void guests_free(struct doctor *dr)
{
	for (size_t i = 0; i < dr->n_g; i++) {
		struct dr_guest *g = &dr->g[i];
		for (size_t j = 0; j < g->n_fw; j++)
			vp_ruleset_free(&g->fw[j].rs);
		free(g->fw);
		vp_table_free(&g->meta);
		vp_domain_free(&g->d);
	}
	free(dr->g);
	dr->g = NULL;
	dr->n_g = dr->cap_g = 0;
}

/* Take d (its NICs are owned by the list from now on). */
static int guest_add(struct doctor *dr, struct vp_domain *d, bool running)
{
	struct dr_guest *ng;
	int dirfd;

	if (vp_grow(&dr->g, &dr->cap_g, dr->n_g + 1, sizeof(*dr->g)) < 0)
		return -ENOMEM;
	ng = &dr->g[dr->n_g++];
	*ng = (struct dr_guest){.d = *d, .running = running};
	*d = (struct vp_domain){0};
	dirfd = vp_state_open_dir();
	if (dirfd >= 0) {
		ng->installed = vp_state_read(dirfd, ng->d.uuid, &ng->st) == 0;
		close(dirfd);
	}
	return 0;
}

static bool guest_selected(const struct doctor *dr, const struct vp_domain *d)
{
	char uuid[VP_UUID_STRLEN];

	if (dr->domain)
		return !strcmp(dr->domain, d->name) ||
		       (vp_uuid_normalize(dr->domain, strlen(dr->domain), uuid) == 0 &&
		        !strcmp(uuid, d->uuid));
	return true;
}

static bool guest_known(const struct doctor *dr, const char *uuid)
{
	for (size_t i = 0; i < dr->n_g; i++)
		if (!strcmp(dr->g[i].d.uuid, uuid))
			return true;
	return false;
}

/* A running guest from libvirt's status files: keep it if it is selected. guest_add takes the
 * domain over (and leaves *d empty); the file's text is not needed. */
static int see_running(void *ctx, struct vp_domain *d, char *xml, size_t len)
{
	struct doctor *dr = ctx;

	(void)xml;
	(void)len;
	if (!guest_selected(dr, d) || guest_known(dr, d->uuid))
		return 0;
	return guest_add(dr, d, true);
}

static int running_guests(struct doctor *dr)
{
	return vp_foreach_running(see_running, dr);
}

/* Guests with rules installed that do not run (any more): their rules are stale. */
static int stopped_guests(struct doctor *dr)
{
	char **list = NULL;
	size_t n;
	int dirfd = vp_state_open_dir(), r;

	if (dirfd < 0)
		return 0;   /* nothing installed that we could know of */
	r = vp_state_list(dirfd, &list, &n);
	for (char **u = list; r == 0 && u && *u; u++) {
		struct vp_state st;
		struct vp_domain d = {0};
		if (guest_known(dr, *u) || vp_state_read(dirfd, *u, &st) < 0)
			continue;
		snprintf(d.uuid, sizeof(d.uuid), "%s", *u);
		snprintf(d.name, sizeof(d.name), "%s", st.name[0] ? st.name : *u);
		if (guest_selected(dr, &d))
			r = guest_add(dr, &d, false);
	}
	vp_state_list_free(list);
	close(dirfd);
	return r;
}

/* Running guests without forwards and without rules are none of our business, unless named. */
static void drop_unconcerned(struct doctor *dr)
{
	size_t k = 0;

	for (size_t i = 0; i < dr->n_g; i++) {
		struct dr_guest *g = &dr->g[i];
		if (dr->domain || g->installed || vp_domain_has_meta(&g->d) ||
		    vp_table_has_domain(&dr->c->table, g->d.name, g->d.uuid))
			dr->g[k++] = *g;
		else
			vp_domain_free(&g->d);
	}
	dr->n_g = k;
}

static int collect_guests(struct doctor *dr)
{
	int r = running_guests(dr);

	if (r == 0)
		r = stopped_guests(dr);
	if (r == 0 && dr->domain && dr->n_g == 0) {
		/* Named but neither running nor installed: still a subject, of failing checks. */
		struct vp_domain d = {0};
		snprintf(d.name, sizeof(d.name), "%s", dr->domain);
		if (vp_uuid_normalize(dr->domain, strlen(dr->domain), d.uuid) < 0)
			d.uuid[0] = '\0';
		r = guest_add(dr, &d, false);
	}
	drop_unconcerned(dr);
	return r;
}

/* ------------------------------------------------------------------------------------------- */
/* Stage 1: the table. */

static void check_table(struct doctor *dr)
{
	const struct vp_table *t = &dr->c->table;
	size_t guests = 0;

	if (!dr->c->table_ok) {
		dr_report(dr, "table", "table", DR_FAIL,
		          "run `virt-portfwd check`, correct the lines it names, then run "
		          "`virt-portfwd apply`",
		          "the forward table has errors (printed on stderr): the hook applies "
		          "nothing from it");
		return;
	}
	if (vp_table_n_domains(t, &guests) < 0)
		dr->c->out->err = -ENOMEM;   /* vp_doctor says so and exits 1 */
	dr_report(dr, "table", "table", DR_OK, NULL, "%zu forward%s for %zu guest%s, no errors",
	          t->n, t->n == 1 ? "" : "s", guests, guests == 1 ? "" : "s");
}

/* ------------------------------------------------------------------------------------------- */

int dr_collect(struct doctor *dr)
{
	int r = collect_guests(dr);

	for (size_t i = 0; r == 0 && i < dr->n_g; i++)
		r = dr_check_guest(dr, &dr->g[i]);
	return r;
}

void dr_free(struct doctor *dr)
{
	guests_free(dr);
	nets_free(dr);
	dr_listings_free(dr);
	dr_hooks_free(dr);
	dr_conflicts_free(dr);
}

static void run_checks(struct doctor *dr)
{
	int r;

	check_table(dr);
	if (dr->c->table_ok) {
		r = dr_collect(dr);
		if (r < 0)
			dr_report(dr, "guests", "guests", DR_FAIL, "run the doctor as root",
			          "cannot list the running guests: %s", strerror(-r));
	}
	dr_check_host(dr);
	dr_check_backends(dr);
	for (size_t i = 0; i < dr->n_g; i++)
		for (size_t j = 0; dr->g[i].running && j < dr->g[i].n_fw; j++)
			if (dr_check_rules(dr, &dr->g[i].fw[j]))
				dr_check_hooks(dr, &dr->g[i].fw[j], dr_variant(dr->g[i].fw[j].net->lv));
	dr_check_meta_clashes(dr);
	for (size_t i = 0; i < dr->n_g; i++) {
		dr_check_clashes(dr, &dr->g[i]);
		for (size_t j = 0; dr->g[i].running && j < dr->g[i].n_fw; j++)
			dr_check_conflicts(dr, &dr->g[i].fw[j]);
	}
	dr_check_position(dr);
	dr_check_other_tables(dr);
	for (size_t i = 0; i < dr->n_g; i++)
		if (dr->g[i].running)
			dr_check_traffic(dr, &dr->g[i]);
	for (size_t i = 0; dr->probe && i < dr->n_g; i++)
		for (size_t j = 0; dr->g[i].running && j < dr->g[i].n_fw; j++)
			dr_probe(dr, &dr->g[i].fw[j]);
	dr_check_firewalld(dr);
}

int vp_doctor(struct vp_ctx *c, bool probe, bool json, int argc, char *const *argv)
{
	struct doctor dr = {.c = c, .probe = probe, .json = json};

	if (parse_args(&dr, argc, argv) < 0)
		return 2;
	run_checks(&dr);
	dr_report_end(&dr);
	dr_free(&dr);
	if (c->out->err) {
		vp_log(LOG_ERR, "doctor: out of memory");
		return 1;
	}
	return dr.n_fail ? 1 : 0;
}
