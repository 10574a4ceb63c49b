/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The doctor's guest stage: the guest has forwards and runs, each forward's NIC is on a running
 * NAT network, its address is known (and where it comes from), and our rules still send to
 * that address. It also plans each forward's rules, for the rule stage to look for. */
#include "doctor-int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metadata.h"
#include "pipeline.h"

static const char fix_apply[] =
	"run `virt-portfwd apply`: it brings every running guest's rules in line with the table";

/* The forwards of a guest in t (the table, or its metadata's), those on PORT when one was given,
 * each with its report subject. */
static int guest_forwards(struct doctor *dr, struct dr_guest *g, const struct vp_table *t)
{
	for (size_t i = 0; i < t->n; i++) {
		const struct vp_forward *f = &t->fwd[i];
		if (!vp_forward_matches(f, g->d.name, g->d.uuid) ||
		    (dr->port && (dr->port < f->host_port || dr->port > f->host_port_end)))
			continue;
		if (vp_grow(&g->fw, &g->cap_fw, g->n_fw + 1, sizeof(*g->fw)) < 0)
			return -ENOMEM;
		struct dr_fwd *nf = &g->fw[g->n_fw++];
		*nf = (struct dr_fwd){.f = f};
		struct vp_buf l = {0};
		vp_buf_printf(&l, "%s %s ", g->d.name, vp_proto_name(f->proto));
		vp_forward_host(&l, f, f->host_port, f->host_port_end);
		snprintf(nf->label, sizeof(nf->label), "%s", l.s ? l.s : g->d.name);
		vp_buf_free(&l);
		dr->families |= f->family == AF_INET6 ? VP_FAM_V6 : VP_FAM_V4;
	}
	return 0;
}

/* The forwards of its metadata the hook takes; a refused one is reported (a clash with the
 * table of a running guest by conflicts.forwards: dr_check_clashes). 0 or -ENOMEM. */
static int guest_meta(struct doctor *dr, struct dr_guest *g, const char *subj)
{
	struct vp_diags dg = {0};
	int r = vp_metadata_forwards(&dr->c->table, &g->d, &g->meta, &dg);
	bool clashes_told = r == -EEXIST && g->running;

	for (size_t i = 0; !clashes_told && i < dg.n; i++)
		dr_report(dr, "guest.metadata", subj, DR_FAIL, "correct the guest's metadata: "
		          "`virt-portfwd remove` and `add` rewrite it, `virt-portfwd list` shows it",
		          "%s", dg.msg[i]);
	vp_diags_free(&dg);
	return r == -ENOMEM ? r : 0;
}

static void check_forwards(struct doctor *dr, const struct dr_guest *g, const char *subj)
{
	char fix[1024];
	bool has = vp_table_has_domain(&dr->c->table, g->d.name, g->d.uuid) || g->meta.n;
	size_t n_meta = 0;

	for (size_t i = 0; i < g->n_fw; i++)
		n_meta += g->fw[i].f->meta;
	if (has && g->n_fw && g->meta.n) {
		dr_report(dr, "guest.forwards", subj, DR_OK, NULL, "%zu forward%s%s: %zu in the table, "
		          "%zu in its metadata", g->n_fw, g->n_fw == 1 ? "" : "s",
		          dr->port ? " on that port" : "", g->n_fw - n_meta, n_meta);
	} else if (has && g->n_fw) {
		dr_report(dr, "guest.forwards", subj, DR_OK, NULL, "%zu forward%s in the table%s",
		          g->n_fw, g->n_fw == 1 ? "" : "s", dr->port ? " on that port" : "");
	} else if (has) {
		snprintf(fix, sizeof(fix), "add a forward of host port %lu for %s to "
		         "/etc/virt-portfwd/forwards.conf, then run `virt-portfwd apply`",
		         dr->port, g->d.name);
		dr_report(dr, "guest.forwards", subj, DR_FAIL, fix,
		          "no forward of it uses host port %lu", dr->port);
	} else if (g->installed) {
		dr_report(dr, "guest.forwards", subj, DR_FAIL, fix_apply,
		          "the table has no forward for it any more, but rules of it are installed");
	} else {
		snprintf(fix, sizeof(fix), "add a line such as `%s tcp 2222 22` to "
		         "/etc/virt-portfwd/forwards.conf, then run `virt-portfwd apply`; or keep it in "
		         "the guest: `virt-portfwd add %s tcp 2222 22`", g->d.name, g->d.name);
		dr_report(dr, "guest.forwards", subj, DR_FAIL, fix, "the table has no forward for it");
	}
}

static bool check_running(struct doctor *dr, const struct dr_guest *g, const char *subj)
{
	char fix[512];

	if (g->running) {
		dr_report(dr, "guest.running", subj, DR_OK, NULL, "running (uuid %s)", g->d.uuid);
		return true;
	}
	if (g->installed) {
		dr_report(dr, "guest.running", subj, DR_FAIL,
		          "run `virt-portfwd apply`: it removes the rules of guests that no longer run",
		          "not running, but its rules are still installed (%s)", g->st.backend);
	} else {
		snprintf(fix, sizeof(fix), "start it (`virsh start %s`): its forwards are installed "
		         "when it starts", g->d.name);
		dr_report(dr, "guest.running", subj, DR_FAIL, fix,
		          "not running (libvirt has no status file of it in /run/libvirt/qemu)");
	}
	return false;
}

/* The NIC and network the hook takes for this forward (the pipeline's decision dc). */
static void check_nic(struct doctor *dr, struct dr_fwd *fw, const struct vp_decision *dc)
{
	const struct vp_forward *f = fw->f;
	char fix[512];

	fw->nic = dc->nic;
	if (dc->skip == VP_SKIP_NO_NIC) {
		snprintf(fix, sizeof(fix), "correct nic= or network= at %s:%u, or give the guest a NIC "
		         "on a libvirt NAT network", f->file ? f->file : "?", f->line);
		dr_report(dr, "guest.nic", fw->label, DR_FAIL, fix, "no NIC of the guest matches this "
		          "forward%s%s%s", f->nic[0] ? " (nic=" : f->network ? " (network=" : "",
		          f->nic[0] ? f->nic : f->network ? f->network : "",
		          f->nic[0] || f->network ? ")" : " (none is on a libvirt network)");
		return;
	}
	if (dc->skip == VP_SKIP_NOT_NETWORK) {
		snprintf(fix, sizeof(fix), "remove this forward (%s:%u) and reach the guest on its own "
		         "address", f->file ? f->file : "?", f->line);
		dr_report(dr, "guest.nic", fw->label, DR_FAIL, fix, "NIC %s is not on a libvirt network "
		          "(a bridged guest is on the LAN already and needs no forward)", fw->nic->mac);
		return;
	}
	fw->net = dr_net_get(dr, fw->nic->network);
	if (dc->skip == VP_SKIP_NET_DOWN || !fw->net) {
		snprintf(fix, sizeof(fix), "start the network: `virsh net-start %s`", fw->nic->network);
		dr_report(dr, "guest.nic", fw->label, DR_FAIL, fix, "NIC %s is on network %s, which is "
		          "not running (no readable status in /run/libvirt/network: %s)", fw->nic->mac,
		          fw->nic->network, strerror(fw->net ? -fw->net->in->r : E2BIG));
		fw->net = NULL;
		return;
	}
	if (dc->skip == VP_SKIP_NOT_NAT) {
		dr_report(dr, "guest.nic", fw->label, DR_FAIL, "port forwards are for NAT networks: on "
		          "a routed or open network reach the guest on its own address; an isolated "
		          "network is not reachable from outside at all",
		          "NIC %s is on network %s, whose forward mode is %s, not nat: the hook skips "
		          "this forward", fw->nic->mac, fw->net->in->name,
		          vp_fwmode_name(fw->net->in->net.mode));
		return;
	}
	dr_report(dr, "guest.nic", fw->label, DR_OK, NULL, "NIC %s on network %s (nat, bridge %s)",
	          fw->nic->mac, fw->net->in->name, fw->net->in->net.bridge);
}

static void fmt_duration(char *out, size_t n, long long s)
{
	if (s < 120)
		snprintf(out, n, "%lld s", s);
	else if (s < 7200)
		snprintf(out, n, "%lld min", s / 60);
	else if (s < 172800)
		snprintf(out, n, "%lld h", s / 3600);
	else
		snprintf(out, n, "%lld days", s / 86400);
}

/* The lease behind a resolved address, or the newest expired one of the NIC. */
static const struct vp_lease *lease_of(const struct dr_fwd *fw, const struct vp_addr *a)
{
	const struct vp_lease *best = NULL;

	if (!fw->net || fw->net->in->leases_r < 0 || !fw->nic)
		return NULL;
	for (size_t i = 0; i < fw->net->in->leases.n; i++) {
		const struct vp_lease *l = &fw->net->in->leases.l[i];
		if (l->ip.family != fw->f->family || strcmp(l->mac, fw->nic->mac) ||
		    (a && !vp_addr_equal(&l->ip, a)))
			continue;
		if (!best || (best->expiry && (!l->expiry || l->expiry > best->expiry)))
			best = l;
	}
	return best;
}

static void report_address(struct doctor *dr, const struct dr_fwd *fw)
{
	char a[VP_ADDR_STRLEN], d[32];
	const struct vp_lease *l;

	vp_addr_str(&fw->addr, a);
	switch (fw->src) {
	case VP_SRC_OPTION:
		dr_report(dr, "guest.address", fw->label, DR_OK, NULL, "%s, from ip= at %s:%u", a,
		          fw->f->file ? fw->f->file : "?", fw->f->line);
		break;
	case VP_SRC_STATIC:
		dr_report(dr, "guest.address", fw->label, DR_OK, NULL, "%s, from the static host "
		          "entry of network %s", a, fw->net->in->name);
		break;
	case VP_SRC_NEIGHBOUR:
		dr_report(dr, "guest.address", fw->label, DR_OK, NULL, "%s, from the host's neighbour "
		          "table on %s (no ip=, static host or lease names it: the guest's own "
		          "address, seen when it talked)", a, fw->net->in->net.bridge);
		break;
	case VP_SRC_LEASE:
	case VP_SRC_NONE:
		l = lease_of(fw, &fw->addr);
		if (l && l->expiry)
			fmt_duration(d, sizeof(d), (long long)(l->expiry - (int64_t)dr->c->now));
		dr_report(dr, "guest.address", fw->label, DR_OK, NULL, "%s, from its DHCP lease on %s "
		          "(%s%s)", a, fw->net->in->net.bridge, l && l->expiry ? "expires in " : "",
		          l && l->expiry ? d : "does not expire");
		break;
	}
}

static void report_no_address(struct doctor *dr, const struct dr_fwd *fw)
{
	const struct vp_lease *old = lease_of(fw, NULL);
	const char *mac = fw->nic ? fw->nic->mac : "?";
	char a[VP_ADDR_STRLEN], d[32], fix[768];
	struct vp_buf why = {0};

	vp_buf_printf(&why, "no %s address: no ip=, no static host for %s, no unexpired lease for it, "
	              "no neighbour entry for it on %s", fw->f->family == AF_INET6 ? "IPv6" : "IPv4",
	              mac, fw->net ? fw->net->in->net.bridge : "its bridge");
	if (old && old->expiry) {
		fmt_duration(d, sizeof(d), (long long)((int64_t)dr->c->now - old->expiry));
		vp_buf_printf(&why, " (its last lease, %s, expired %s ago)", vp_addr_str(&old->ip, a), d);
	}
	snprintf(fix, sizeof(fix), "wait for the guest to take a DHCP lease (a waiter installs the "
	         "forward then, for up to `set lease-wait` seconds); a guest with a static address "
	         "needs a reservation: `virsh net-update %s add ip-dhcp-host \"<host mac='%s' "
	         "ip='ADDRESS'/>\" --live --config`, or ip=ADDRESS on the forward",
	         fw->net ? fw->net->in->name : "NETWORK", mac);
	dr_report(dr, "guest.address", fw->label, DR_FAIL, fix, "%s", why.s ? why.s : "no address");
	vp_buf_free(&why);
}

/* The address the hook takes for this forward, and where it comes from (the decision dc). */
static void report_ambiguous(struct doctor *dr, const struct dr_fwd *fw,
                             const struct vp_decision *dc)
{
	char a[VP_ADDR_STRLEN], b[VP_ADDR_STRLEN], fix[768];
	bool neigh = dc->src == VP_SRC_NEIGHBOUR;

	snprintf(fix, sizeof(fix), "find the guest that took MAC %s; give this one a reservation: "
	         "`virsh net-update %s add ip-dhcp-host \"<host mac='%s' ip='ADDRESS'/>\" --live "
	         "--config`, or ip=ADDRESS on the forward", fw->nic->mac, fw->net->in->name,
	         fw->nic->mac);
	dr_report(dr, "guest.address", fw->label, DR_FAIL, fix, "NIC %s has %s with different "
	          "addresses (%s, %s): another guest may be using its MAC, and the hook installs "
	          "nothing for this forward", fw->nic->mac, neigh ? "neighbour entries on the "
	          "bridge" : "unexpired DHCP leases", vp_addr_str(&dc->addr, a),
	          vp_addr_str(&dc->other, b));
}

/* A lease of the NIC's MAC that the hook passed over, keeping the forward where it is installed:
 * the forward works, but another guest may be using the MAC (what the hook logs on each run). */
static bool report_kept(struct doctor *dr, const struct dr_fwd *fw, const struct vp_decision *dc)
{
	char a[VP_ADDR_STRLEN], b[VP_ADDR_STRLEN], fix[768];

	if (dc->src != VP_SRC_LEASE || !dc->other.family || vp_addr_equal(&dc->other, &dc->addr))
		return false;
	snprintf(fix, sizeof(fix), "find the guest that took MAC %s; give this one a reservation: "
	         "`virsh net-update %s add ip-dhcp-host \"<host mac='%s' ip='%s'/>\" --live "
	         "--config`, or ip=%s on the forward", fw->nic->mac, fw->net->in->name,
	         fw->nic->mac, vp_addr_str(&dc->addr, a), a);
	dr_report(dr, "guest.address", fw->label, DR_FAIL, fix, "NIC %s has unexpired DHCP leases "
	          "with different addresses (%s, %s): another guest may be using its MAC; the hook "
	          "keeps the forward on %s, where it is installed, while that lease is valid",
	          fw->nic->mac, a, vp_addr_str(&dc->other, b), a);
	return true;
}

static void check_address(struct doctor *dr, struct dr_fwd *fw, const struct vp_decision *dc)
{
	char a[VP_ADDR_STRLEN];

	switch (dc->skip) {
	case VP_SKIP_NO_NIC:
	case VP_SKIP_NOT_NETWORK:
	case VP_SKIP_NET_DOWN:
		dr_report(dr, "guest.address", fw->label, DR_SKIP, NULL,
		          "no running libvirt network to learn the address from");
		return;
	case VP_SKIP_NOT_NAT:
		dr_report(dr, "guest.address", fw->label, DR_SKIP, NULL,
		          "not looked for: the hook skips a forward on a network not in NAT mode");
		return;
	case VP_SKIP_NO_ADDRESS:
		report_no_address(dr, fw);
		return;
	case VP_SKIP_AMBIGUOUS:
		report_ambiguous(dr, fw, dc);
		return;
	case VP_SKIP_HELD:
		dr_report(dr, "guest.address", fw->label, DR_FAIL, "find the guest that took MAC of this "
		          "NIC; give this one a static DHCP host or ip=ADDRESS on the forward", "NIC %s "
		          "has a %s for %s, held by %s: another guest may be using its MAC, and the "
		          "hook installs nothing for this forward", fw->nic->mac,
		          dc->src == VP_SRC_NEIGHBOUR ? "neighbour entry" : "DHCP lease",
		          vp_addr_str(&dc->addr, a), dc->held);
		return;
	case VP_SKIP_OUTSIDE:
		dr_report(dr, "guest.address", fw->label, DR_FAIL, "correct ip= on the forward: it "
		          "must be an address of the guest's network", "%s is outside network %s: the "
		          "hook ignores this forward", vp_addr_str(&dc->addr, a), fw->net->in->name);
		return;
	case VP_SKIP_NONE:
		break;
	}
	fw->resolved = true;
	fw->addr = dc->addr;
	fw->src = dc->src;
	if (!report_kept(dr, fw, dc))
		report_address(dr, fw);
}

/* The forward's rules, for guest address a. false when they cannot be planned. */
static bool plan(const struct dr_guest *g, struct dr_fwd *fw, const struct vp_addr *a)
{
	struct vp_target t = {.f = fw->f, .guest = *a};

	vp_ruleset_free(&fw->rs);
	if (!fw->net)
		return false;
	t.subnet = vp_network_subnet(&fw->net->in->net, fw->f->family, a);
	t.bridge = fw->net->in->net.bridge;
	if (!t.subnet || vp_ruleset_init(&fw->rs, g->d.uuid) < 0)
		return false;
	if (vp_plan(&t, 1, &fw->rs) < 0) {
		vp_ruleset_free(&fw->rs);
		return false;
	}
	return true;
}

/* Whether the address in our rules is still the one libvirt gives (a lease can change while
 * the guest runs; only `apply` follows it). The rule checks then look at the rules as they
 * are, so that a changed lease fails this check alone. */
static void check_lease(struct doctor *dr, const struct dr_guest *g, struct dr_fwd *fw)
{
	char a[VP_ADDR_STRLEN], b[VP_ADDR_STRLEN];
	const struct vp_subnet *s = fw->net ? vp_network_subnet(&fw->net->in->net, fw->f->family, NULL)
	                                    : NULL;

	/* Any address of the network renders the rule's match part, to find the DNAT by. */
	if (!plan(g, fw, fw->resolved ? &fw->addr : s ? &s->gateway : &fw->addr))
		return;
	dr_find_installed(dr, fw);
	if (fw->installed.family)
		fw->planned = plan(g, fw, &fw->installed);
	else
		fw->planned = fw->resolved && plan(g, fw, &fw->addr);
	if (!fw->installed.family) {
		dr_report(dr, "guest.lease", fw->label, DR_SKIP, NULL,
		          "no DNAT of ours for this forward to compare with (see the rules checks)");
	} else if (!fw->resolved) {
		dr_report(dr, "guest.lease", fw->label, DR_SKIP, NULL, "our rules send to %s; libvirt "
		          "has no address to compare with", vp_addr_str(&fw->installed, a));
	} else if (vp_addr_equal(&fw->installed, &fw->addr)) {
		dr_report(dr, "guest.lease", fw->label, DR_OK, NULL, "our rules send to %s, the "
		          "address %s gives", vp_addr_str(&fw->addr, a),
		          fw->src == VP_SRC_NEIGHBOUR ? "the neighbour table" : "libvirt");
	} else {
		dr_report(dr, "guest.lease", fw->label, DR_FAIL, "run `virt-portfwd apply`: the hook "
		          "learns the address when the guest starts, a lease that changes while it "
		          "runs is followed only by `apply`", "the guest's address is now %s (%s) but "
		          "our rules still send to %s", vp_addr_str(&fw->addr, a),
		          vp_addr_source_name(fw->src), vp_addr_str(&fw->installed, b));
	}
}

/* The pipeline's decision for f: a table forward is the same object, a metadata forward the one
 * at the same place (the pipeline reads the metadata itself, from the same XML). */
static const struct vp_decision *decision_of(const struct vp_pipeline *p,
                                             const struct vp_forward *f)
{
	for (size_t i = 0; i < p->n_dec; i++) {
		const struct vp_forward *o = p->dec[i].f;
		if (o == f || (f->meta && o->meta && o->line == f->line))
			return &p->dec[i];
	}
	return NULL;
}

int dr_check_guest(struct doctor *dr, struct dr_guest *g)
{
	char subj[VP_NAME_MAX + 8];
	int r = 0;

	snprintf(subj, sizeof(subj), "guest %s", g->d.name);
	r = guest_meta(dr, g, subj);
	if (r == 0 && (g->running || vp_table_has_domain(&dr->c->table, g->d.name, g->d.uuid)))
		r = guest_forwards(dr, g, &dr->c->table);
	if (r == 0)
		r = guest_forwards(dr, g, &g->meta);
	if (r < 0)
		return r;
	check_forwards(dr, g, subj);
	if (!check_running(dr, g, subj))
		return 0;
	/* What the hook decides for each forward: the doctor judges that, it decides nothing. */
	struct vp_state st;
	vp_guest_installed(g->d.uuid, &st);
	struct vp_pipeline p = {.cache = &dr->cache, .quiet = true, .installed = st.addr,
	                        .n_installed = st.n_addr};
	struct vp_ruleset rs = {0};
	r = vp_pipeline_run(&p, &dr->c->table, dr->c->now, &g->d, &rs);
	for (size_t i = 0; r == 0 && i < g->n_fw; i++) {
		struct dr_fwd *fw = &g->fw[i];
		const struct vp_decision *dc = decision_of(&p, fw->f);
		if (!dc)
			continue;
		check_nic(dr, fw, dc);
		check_address(dr, fw, dc);
		check_lease(dr, g, fw);
	}
	vp_ruleset_free(&rs);
	vp_pipeline_free(&p);
	return r;
}
