/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Another tool's DNAT on a forwarded host port (conflicts.h): Docker's, netavark's, a firewalld
 * forward-port. Two DNATs of one port fight: a connection goes to whichever rule it meets first,
 * so one of the two forwards silently does not work. Read from the doctor's own listings (both
 * iptables variants, both families, each read once) and the nftables tables of those tools
 * (libnftables, read-only). Also what `check` warns of and what `add` can ask (doctor.h). */
#include "doctor-int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conflicts.h"
#include "metadata.h"

/* The other tools' nftables tables, by family: Docker's nftables mode, netavark, firewalld
 * (inet since 0.9; ip and ip6 before). */
static const char *const ip_tables[] = {"docker-bridges", "firewalld"};
static const char *const inet_tables[] = {"netavark", "firewalld"};
static const struct {
	const char *name;
	int family;
	const char *const *tables;
} nft_fams[DR_OTHER_FAMS] = {
	{"ip", AF_INET, ip_tables}, {"ip6", AF_INET6, ip_tables}, {"inet", 0, inet_tables},
};

static int from_listing(struct vp_other_dnats *out, const struct vp_listing *s, const char *listing,
                        int family, bool nft)
{
	int r = 0;

	for (size_t i = 0; s->r == 0 && r >= 0 && i < s->n; i++) {
		const struct vp_listed_rule *l = &s->l[i];
		struct vp_other_src src = {listing, family, l->table, l->chain, l->pos};
		r = nft ? vp_other_dnat_nft(out, &src, l->spec) : vp_other_dnat_xt(out, &src, l->spec);
	}
	return r < 0 ? r : 0;
}

/* Every listing's findings into dr->dnats. A listing that cannot be read (a tool not
 * installed, a build without libnftables) gives none. 0, -EPERM (not root: nothing is read),
 * -ENOMEM. */
static int load(struct doctor *dr)
{
	int r = 0;

	if (dr->dnats_loaded)
		return dr->dnats_r;
	dr->dnats_loaded = true;
	if (geteuid() != 0)
		return dr->dnats_r = -EPERM;
	for (int v = 0; r == 0 && v < DR_NFTABLES; v++)
		for (int fi = 0; r == 0 && fi < 2; fi++) {
			int fam = fi ? AF_INET6 : AF_INET;
			r = from_listing(&dr->dnats, dr_listing(dr, v, fam), dr_tool(v, fam), fam, false);
		}
	for (size_t f = 0; r == 0 && !dr->offline && f < DR_OTHER_FAMS; f++) {
		struct vp_listing *s = &dr->others[f];
		vp_listing_nft(s, nft_fams[f].name, nft_fams[f].tables, 2);
		r = from_listing(&dr->dnats, s, "nftables", nft_fams[f].family, true);
	}
	return dr->dnats_r = r;
}

void dr_conflicts_free(struct doctor *dr)
{
	for (size_t f = 0; f < DR_OTHER_FAMS; f++)
		vp_listing_free(&dr->others[f]);
	vp_other_dnats_free(&dr->dnats);
	dr->dnats_loaded = false;
	vp_listeners_free(&dr->listeners);
	dr->listeners_loaded = false;
}

/* How to undo the other tool's side. */
static const char *undo_of(const struct vp_other_dnat *x)
{
	if (!strcmp(x->tool, "Docker"))
		return "stop publishing it from the container (`docker run -p`, compose's ports:)";
	if (!strcmp(x->tool, "netavark"))
		return "stop publishing it from the container (`podman run -p`)";
	return "remove the zone's forward-port (`firewall-cmd --permanent --remove-forward-port=...`"
	       " then `firewall-cmd --reload`)";
}

/* A local socket on the forward's port: the forward works, but the DNAT takes the connections
 * meant for that process (check's warning, lint.c). Said, not failed: it may be on purpose. */
static void check_listener(struct doctor *dr, const struct dr_fwd *fw)
{
	char what[128];

	if (!dr->listeners_loaded) {
		dr->listeners_loaded = true;
		if (vp_listeners_read(&dr->listeners) < 0)
			dr->c->out->err = -ENOMEM;
	}
	if (vp_listener_taken(&dr->listeners, fw->f, what, sizeof(what)))
		dr_report(dr, "conflicts.listener", fw->label, DR_OK, NULL, "warning: a local process "
		          "listens on %s: this forward's DNAT takes the connections meant for it (move "
		          "one of the two to another port if that is not intended)", what);
}

void dr_check_conflicts(struct doctor *dr, const struct dr_fwd *fw)
{
	const struct vp_other_dnat *x;
	char ports[128], place[512], fix[1024];

	check_listener(dr, fw);
	if (load(dr) < 0 || !(x = vp_other_dnat_conflict(&dr->dnats, fw->f)))
		return;   /* no finding is no line: nothing is said of what was not seen */
	vp_other_dnat_ports_str(x, ports, sizeof(ports));
	vp_forward_where(fw->f, place, sizeof(place));
	snprintf(fix, sizeof(fix), "one port, one DNAT: pick another host port for this forward "
	         "(%s), or %s", place, undo_of(x));
	dr_report(dr, "conflicts.dnat", fw->label, DR_FAIL, fix, "%s DNATs %s too (%s): a connection "
	          "goes to whichever rule it meets first, %s's or this forward's", x->tool, ports,
	          x->where, x->tool);
}

void dr_check_clashes(struct doctor *dr, const struct dr_guest *g)
{
	struct vp_table meta = {0};
	struct vp_diags dg = {0};
	int r;

	if (!g->running || !vp_domain_has_meta(&g->d))
		return;
	/* The hook's own judgement (metadata.h): the table wins, the clashing forward is left out. */
	r = vp_metadata_forwards(&dr->c->table, &g->d, &meta, &dg);
	if (r == -ENOMEM)
		dr->c->out->err = r;
	for (size_t i = 0; r == -EEXIST && i < dg.n; i++)
		dr_report(dr, "conflicts.forwards", g->d.name, DR_FAIL, "one host port, one forward: "
		          "give one of the two another host port (the guest's metadata: `virsh "
		          "metadata`, or the table line it names), then run `virt-portfwd apply`",
		          "%s", dg.msg[i]);
	vp_table_free(&meta);
	vp_diags_free(&dg);
}

/* Running guests' metadata forwards that clash with another guest's: the hook reads one guest's
 * metadata at a time, so it installs both, and a connection goes to whichever DNAT it meets
 * first. Each clash once, at the later forward. */
static void report_meta_clash(struct doctor *dr, const struct vp_forward *f,
                              const struct dr_guest *g, const struct vp_forward *o,
                              const struct dr_guest *og)
{
	char here[512], there[512];
	struct vp_buf host = {0};

	vp_forward_where(f, here, sizeof(here));
	vp_forward_where(o, there, sizeof(there));
	vp_forward_host(&host, f, f->host_port, f->host_port_end);
	dr_report(dr, "conflicts.forwards", g->d.name, DR_FAIL, "one host port, one forward: give "
	          "one of the two another host port (`virt-portfwd remove` and `add`), then run "
	          "`virt-portfwd apply`", "%s: host port %s/%s is forwarded at %s (%s) too: both "
	          "are installed, and a connection goes to whichever DNAT it meets first", here,
	          host.s ? host.s : "?", vp_proto_name(f->proto), there, og->d.name);
	vp_buf_free(&host);
}

void dr_check_meta_clashes(struct doctor *dr)
{
	const struct vp_forward **items = NULL;
	size_t *owner = NULL, *best = NULL, n = 0, cap = 0, cap2 = 0;

	for (size_t i = 0; i < dr->n_g; i++) {
		const struct dr_guest *g = &dr->g[i];
		for (size_t k = 0; g->running && k < g->meta.n; k++) {
			if (vp_grow(&items, &cap, n + 1, sizeof(*items)) < 0 ||
			    vp_grow(&owner, &cap2, n + 1, sizeof(*owner)) < 0)
				goto nomem;
			items[n] = &g->meta.fwd[k];
			owner[n++] = i;
		}
	}
	if (n > 1 && vp_forwards_clash(items, n, &best) < 0)
		goto nomem;
	for (size_t i = 0; best && i < n; i++)
		if (best[i] < i && owner[best[i]] != owner[i])
			report_meta_clash(dr, items[i], &dr->g[owner[i]], items[best[i]],
			                  &dr->g[owner[best[i]]]);
	goto out;
nomem:
	dr->c->out->err = -ENOMEM;
out:
	free(items);
	free(owner);
	free(best);
}

int vp_host_dnats(struct vp_other_dnats *ret)
{
	struct doctor dr = {0};
	int r = load(&dr);

	*ret = dr.dnats;
	dr.dnats = (struct vp_other_dnats){0};
	if (r < 0)
		vp_other_dnats_free(ret);
	dr_conflicts_free(&dr);
	dr_listings_free(&dr);
	return r;
}

int vp_lint_dnats(const struct vp_table *t, struct vp_diags *w)
{
	struct vp_other_dnats d = {0};
	int r;

	if (!t->n)
		return 0;
	r = vp_host_dnats(&d);
	for (size_t i = 0; r == 0 && i < t->n; i++) {
		const struct vp_forward *f = &t->fwd[i];
		const struct vp_other_dnat *x = vp_other_dnat_conflict(&d, f);
		char ports[128];
		if (!x)
			continue;
		vp_diags_add(w, "%s:%u:%u: warning: %s DNATs %s too (%s): a connection goes to "
		             "whichever rule it meets first", f->file, f->line, f->col, x->tool,
		             vp_other_dnat_ports_str(x, ports, sizeof(ports)), x->where);
	}
	vp_other_dnats_free(&d);
	return r;
}
