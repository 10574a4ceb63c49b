/* SPDX-License-Identifier: GPL-2.0-or-later */
/* virt-portfwd status: each running guest's forwards, the address and where it came from, and
 * each rule as it is in the kernel, with its packet counter. Read the way the doctor reads. */
#include "doctor-status.h"

#include <stdio.h>
#include <string.h>

#include "detect.h"
#include "doctor-int.h"
#include "log.h"

static const char *const stage_word[VP_ST_COUNT] = {
	[VP_ST_PRE_DNAT] = "dnat", [VP_ST_OUT_DNAT] = "local", [VP_ST_POST_HAIRPIN] = "hairpin",
	[VP_ST_POST_MASQ] = "masquerade", [VP_ST_FWD_ACCEPT] = "accept",
};

/* "  tcp  [::]:2222 -> ": the host side of a forward. */
static void describe_forward(struct vp_buf *out, const struct vp_forward *f)
{
	vp_buf_printf(out, "  %-4s ", vp_proto_name(f->proto));
	vp_forward_host(out, f, f->host_port, f->host_port_end);
	vp_buf_printf(out, " -> ");
}

static void address_line(struct vp_buf *o, const struct dr_fwd *fw)
{
	const struct vp_forward *f = fw->f;
	bool v6 = f->family == AF_INET6;
	char a[VP_ADDR_STRLEN];

	describe_forward(o, f);
	if (!fw->net || fw->net->in->r < 0) {
		vp_buf_printf(o, "? (%s)\n", !fw->nic ? "no matching NIC"
		              : fw->nic->type != VP_NIC_NETWORK ? "NIC not on a libvirt network"
		              : "network not running");
		return;
	}
	vp_buf_printf(o, v6 ? "[%s]:%u" : "%s:%u", fw->resolved ? vp_addr_str(&fw->addr, a) : "?",
	              f->guest_port);
	if (f->guest_port_end != f->guest_port)
		vp_buf_printf(o, "-%u", f->guest_port_end);
	if (fw->resolved)
		vp_buf_printf(o, " (%s, %s)\n", vp_addr_source_name(fw->src), fw->net->in->name);
	else   /* SLAAC addresses leave no trace in libvirt's files: the neighbour table has them
	        * once the guest talks, else only ip= can name them. */
		vp_buf_printf(o, " (no address yet on %s%s)\n", fw->net->in->name, v6 ? "; no DHCPv6 "
		              "lease, static host or neighbour entry: a guest using SLAAC is found "
		              "once it talks, or give ip= in the table" : "");
}

/* "      packets: dnat 12, local 0, hairpin 0, accept 12", and what is missing. */
static void rules_line(struct doctor *dr, const struct dr_fwd *fw, int v)
{
	struct vp_buf *o = dr->c->out;
	const struct vp_listing *s = v >= 0 ? dr_listing(dr, v, fw->f->family) : NULL;
	unsigned missing = 0;

	if (!fw->planned || !s || s->r < 0) {
		vp_buf_printf(o, "      rules: %s\n", !fw->planned ? "none planned (no address)"
		              : "cannot be read here (run as root)");
		return;
	}
	vp_buf_printf(o, "      packets:");
	for (size_t k = 0; k < fw->rs.n; k++) {
		struct vp_where w;
		const struct vp_listed_rule *l = NULL;
		if (dr_where(v, &fw->rs.r[k], fw->rs.owner, &w) == 0) {
			l = vp_listing_find(s, w.table, w.chain, w.spec);
			vp_where_free(&w);
		}
		if (l)
			vp_buf_printf(o, "%s %s %llu", k ? "," : "", stage_word[fw->rs.r[k].stage],
			              (unsigned long long)l->pkts);
		else
			missing++;
	}
	if (missing)
		vp_buf_printf(o, "%s %u of %zu not installed (virt-portfwd apply)",
		              missing < fw->rs.n ? ";" : "", missing, fw->rs.n);
	vp_buf_printf(o, "\n");
}

static void guest_status(struct doctor *dr, const struct dr_guest *g)
{
	struct vp_buf *o = dr->c->out;
	const struct vp_backend *b = g->installed ? vp_backend_by_name(g->st.backend) : NULL;

	char name[sizeof(g->d.name)];

	snprintf(name, sizeof(name), "%s", g->d.name);
	vp_text_sanitize(name);   /* one guest, one line */
	vp_buf_printf(o, "%s (%s): ", name, g->d.uuid);
	if (!g->running) {
		vp_buf_printf(o, "not running, but rules are installed (virt-portfwd apply removes "
		              "them)\n");
		return;
	}
	if (g->installed)
		vp_buf_printf(o, "installed with %s\n", g->st.backend);
	else
		vp_buf_printf(o, "nothing installed\n");
	for (size_t j = 0; j < g->n_fw; j++) {
		const struct dr_fwd *fw = &g->fw[j];
		address_line(o, fw);
		rules_line(dr, fw, dr_variant(b ? b : fw->net ? fw->net->lv : NULL));
	}
}

int vp_status(struct vp_ctx *c)
{
	struct doctor dr = {.c = c, .quiet = true};
	int r = dr_collect(&dr);

	if (r < 0)
		vp_log(LOG_ERR, "cannot list the running guests: %s", strerror(-r));
	for (size_t i = 0; r == 0 && i < dr.n_g; i++)
		guest_status(&dr, &dr.g[i]);
	dr_free(&dr);
	return r < 0 ? 1 : 0;
}
