/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The doctor's host stage: routing sysctls and br_netfilter (read from /proc/sys, which shows
 * the network namespace the doctor runs in), the firewall backend libvirt uses against ours,
 * firewalld's settings and reloads, and the --probe connection from the host itself. */
#include "doctor-int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "detect.h"

#define PROBE_MS 2000

/* ------------------------------------------------------------------------------------------- */
/* Sysctls. */

static int read_sysctl(const char *path, unsigned long *ret)
{
	char *buf = NULL;
	size_t len;
	int r = vp_read_file(path, 64, false, &buf, &len);

	if (r < 0)
		return r;
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
		len--;
	r = vp_parse_uint(buf, len, 0, ULONG_MAX, ret);
	free(buf);
	return r;
}

static void check_forwarding(struct doctor *dr, const char *check, const char *name,
                             const char *path, const char *fam)
{
	char fix[512];
	unsigned long v;
	int r = read_sysctl(path, &v);

	if (r < 0) {
		dr_report(dr, check, "host", DR_FAIL, "run the doctor as root on the host",
		          "cannot read %s: %s", path, strerror(-r));
	} else if (v) {
		dr_report(dr, check, "host", DR_OK, NULL, "%s = %lu: the host routes %s", name, v, fam);
	} else {
		snprintf(fix, sizeof(fix), "`sysctl -w %s=1`, and make it last with a file in "
		         "/etc/sysctl.d/ (libvirt turns it on when it starts a NAT network: something "
		         "turned it off since)", name);
		dr_report(dr, check, "host", DR_FAIL, fix, "%s = 0: the host does not route %s, "
		          "forwarded connections go nowhere", name, fam);
	}
}

static void check_br_netfilter(struct doctor *dr)
{
	unsigned long v;
	int r = read_sysctl("/proc/sys/net/bridge/bridge-nf-call-iptables", &v);

	if (r == -ENOENT)
		dr_report(dr, "host.br_netfilter", "host", DR_OK, NULL, "br_netfilter is not loaded: "
		          "bridged traffic skips iptables, and guest-to-guest through the host address "
		          "(hairpin) relies on our MASQUERADE rule");
	else if (r < 0)
		dr_report(dr, "host.br_netfilter", "host", DR_SKIP, NULL, "cannot read "
		          "bridge-nf-call-iptables: %s", strerror(-r));
	else if (v)
		dr_report(dr, "host.br_netfilter", "host", DR_OK, NULL, "br_netfilter is on "
		          "(bridge-nf-call-iptables = 1): traffic between guests also passes iptables "
		          "(libvirt's LIBVIRT_FWX accepts it), hairpin works with or without our "
		          "MASQUERADE");
	else
		dr_report(dr, "host.br_netfilter", "host", DR_OK, NULL, "br_netfilter is loaded but "
		          "off (bridge-nf-call-iptables = 0): hairpin relies on our MASQUERADE rule");
}

void dr_check_host(struct doctor *dr)
{
	if (!dr->families || (dr->families & VP_FAM_V4))
		check_forwarding(dr, "host.ip_forward", "net.ipv4.ip_forward",
		                 "/proc/sys/net/ipv4/ip_forward", "IPv4");
	if (dr->families & VP_FAM_V6)
		check_forwarding(dr, "host.ipv6_forwarding", "net.ipv6.conf.all.forwarding",
		                 "/proc/sys/net/ipv6/conf/all/forwarding", "IPv6");
	check_br_netfilter(dr);
}

/* ------------------------------------------------------------------------------------------- */
/* libvirt's firewall backend against ours. */

/* A guest with forwards on this network whose rules were installed with another backend. */
static const struct dr_guest *installed_elsewhere(const struct doctor *dr, const struct dr_net *n)
{
	for (size_t i = 0; i < dr->n_g; i++) {
		const struct dr_guest *g = &dr->g[i];
		for (size_t j = 0; g->installed && j < g->n_fw; j++)
			if (g->fw[j].net == n && strcmp(g->st.backend, n->lv->name))
				return g;
	}
	return NULL;
}

static void check_backend(struct doctor *dr, const struct dr_net *n)
{
	enum vp_backend_choice forced = dr->c->table.set.backend;
	const struct vp_backend *ours = NULL;
	const struct dr_guest *g;
	char subj[VP_NAME_MAX + 16], why[256], fix[512];

	snprintf(subj, sizeof(subj), "network %s", n->in->name);
	if (n->lv_r < 0) {
		dr_report(dr, "host.backend", subj, DR_FAIL, "build virt-portfwd with libnftables, or "
		          "set firewall_backend = \"iptables\" in /etc/libvirt/network.conf and restart "
		          "libvirt's network daemon", "%s", n->lv_why);
		return;
	}
	if (forced != VP_BACKEND_AUTO &&
	    (vp_detect(&n->in->net, forced, 0, &ours, why, sizeof(why)) < 0 || ours != n->lv)) {
		snprintf(fix, sizeof(fix), "remove `set backend` from the table (or make it %s), then "
		         "run `virt-portfwd flush` and `virt-portfwd apply`", n->lv->name);
		dr_report(dr, "host.backend", subj, DR_FAIL, fix, "the table says `set backend %s`, "
		          "but %s: our rules are not where libvirt's reject is",
		          vp_backend_name(forced), n->lv_why);
		return;
	}
	if ((g = installed_elsewhere(dr, n))) {
		dr_report(dr, "host.backend", subj, DR_FAIL, "run `virt-portfwd flush`, then "
		          "`virt-portfwd apply`", "the rules of %s were installed with %s, but %s",
		          g->d.name, g->st.backend, n->lv_why);
		return;
	}
	dr_report(dr, "host.backend", subj, DR_OK, NULL, "%s; virt-portfwd uses %s", n->lv_why,
	          n->lv->name);
}

void dr_check_backends(struct doctor *dr)
{
	for (size_t i = 0; i < dr->n_nets; i++)
		if (dr->nets[i].in->r == 0)
			check_backend(dr, &dr->nets[i]);
}

/* ------------------------------------------------------------------------------------------- */
/* firewalld. */

/* "Key=value" of firewalld.conf, value copied to out ("" when absent). */
static void conf_get(const char *conf, const char *key, char *out, size_t n)
{
	size_t kl = strlen(key);

	out[0] = '\0';
	for (const char *line = conf; line && *line;) {
		const char *eol = strchr(line, '\n');
		size_t ll = eol ? (size_t)(eol - line) : strlen(line);
		while (ll && (*line == ' ' || *line == '\t')) {
			line++;
			ll--;
		}
		if (ll > kl && !strncmp(line, key, kl) && line[kl] == '=') {
			size_t vl = ll - kl - 1;
			while (vl && (line[kl + vl] == ' ' || line[kl + vl] == '\t' || line[kl + vl] == '\r'))
				vl--;
			snprintf(out, n, "%.*s", (int)(vl < n ? vl : n - 1), line + kl + 1);
		}
		line = eol ? eol + 1 : NULL;
	}
}

static void check_reload(struct doctor *dr)
{
	const struct dr_guest *lost = NULL;
	size_t installed = 0;

	for (size_t i = 0; i < dr->n_g; i++) {
		const struct dr_guest *g = &dr->g[i];
		if (!g->running || !g->installed || !g->n_fw)
			continue;
		installed++;
		if (!lost && dr_owned_rules(dr, g) == 0)
			lost = g;
	}
	if (lost)
		dr_report(dr, "firewalld.reload", "firewalld", DR_FAIL, "run `virt-portfwd apply`; "
		          "`virt-portfwd watch-firewalld` does that after every firewalld reload, and "
		          "the hooks start it when firewalld runs: see whether it runs (its log says "
		          "why not)",
		          "none of the rules of %s is in place although virt-portfwd installed them: a "
		          "firewalld reload (before 2.0 it flushes every iptables table) or another "
		          "flush removed them", lost->d.name);
	else if (installed)
		dr_report(dr, "firewalld.reload", "firewalld", DR_OK, NULL, "the rules of every guest "
		          "are in place: no reload wiped them");
}

void dr_check_firewalld(struct doctor *dr)
{
	char path[4096], strict[16], backend[32];
	char *conf = NULL;
	size_t len;

	if (vp_path(path, sizeof(path), "/etc/firewalld/firewalld.conf") < 0 ||
	    vp_read_file(path, 1u << 20, false, &conf, &len) < 0)
		return;   /* no firewalld here */
	conf_get(conf, "StrictForwardPorts", strict, sizeof(strict));
	conf_get(conf, "FirewallBackend", backend, sizeof(backend));
	free(conf);
	if ((!strcasecmp(strict, "yes") || !strcasecmp(strict, "true")) &&
	    strcasecmp(backend, "iptables") != 0)
		dr_report(dr, "firewalld.strict", "firewalld", DR_FAIL, "set StrictForwardPorts=no in "
		          "/etc/firewalld/firewalld.conf and run `firewall-cmd --reload`, then "
		          "`virt-portfwd apply`; or declare the forwards with `firewall-cmd "
		          "--add-forward-port` instead", "StrictForwardPorts=yes in "
		          "/etc/firewalld/firewalld.conf: firewalld rejects forwarded connections to "
		          "DNAT rules it did not make itself");
	else
		dr_report(dr, "firewalld.strict", "firewalld", DR_OK, NULL, "StrictForwardPorts is "
		          "off: firewalld lets DNAT'd connections through");
	check_reload(dr);
}

/* ------------------------------------------------------------------------------------------- */
/* --probe: a TCP connection from the host itself to the forwarded port, through a local
 * address of the host. It passes nat OUTPUT (not PREROUTING and FORWARD): it proves the DNAT
 * and the guest's service, the accept checks cover the path from outside. */

static int tcp_probe(const struct vp_addr *a, uint16_t port)
{
	struct sockaddr_in6 s6 = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
	struct sockaddr_in s4 = {.sin_family = AF_INET, .sin_port = htons(port)};
	struct pollfd p = {.events = POLLOUT};
	int err = 0, r;
	socklen_t el = sizeof(err);

	p.fd = socket(a->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (p.fd < 0)
		return -errno;
	s4.sin_addr = a->v4;
	s6.sin6_addr = a->v6;
	if (a->family == AF_INET)
		r = connect(p.fd, (struct sockaddr *)&s4, sizeof(s4));
	else
		r = connect(p.fd, (struct sockaddr *)&s6, sizeof(s6));
	if (r < 0 && errno != EINPROGRESS) {
		r = -errno;
		goto out;
	}
	if (r < 0) {
		do
			r = poll(&p, 1, PROBE_MS);
		while (r < 0 && errno == EINTR);
		if (r <= 0) {
			r = r == 0 ? -ETIMEDOUT : -errno;
			goto out;
		}
		r = getsockopt(p.fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0 ? -errno : -err;
	}
out:
	close(p.fd);
	return r;
}

void dr_probe(struct doctor *dr, const struct dr_fwd *fw)
{
	const struct vp_forward *f = fw->f;
	const struct vp_subnet *s = fw->net ? vp_network_subnet(&fw->net->in->net, f->family, NULL) : NULL;
	const struct vp_addr *to = f->host_addr.family ? &f->host_addr : s ? &s->gateway : NULL;
	char a[VP_ADDR_STRLEN], fix[512];
	bool v6 = f->family == AF_INET6;
	int r;

	if (f->proto != IPPROTO_TCP || !f->local || f->n_from || !to || !fw->planned) {
		dr_report(dr, "probe", fw->label, DR_SKIP, NULL, "%s", f->proto != IPPROTO_TCP
		          ? "only TCP forwards are probed" : !f->local ? "local=no: connections from "
		          "the host itself are not forwarded" : f->n_from ? "from= limits the clients: "
		          "connections from the host itself are not forwarded" : "the forward is not "
		          "in place");
		return;
	}
	vp_addr_str(to, a);
	r = tcp_probe(to, f->host_port);
	if (r == 0) {
		dr_report(dr, "probe", fw->label, DR_OK, NULL, "connected to %s%s%s:%u from the host: "
		          "the DNAT and the guest's service work (from outside, connections also pass "
		          "FORWARD, which the rules checks cover)", v6 ? "[" : "", a, v6 ? "]" : "",
		          f->host_port);
		return;
	}
	snprintf(fix, sizeof(fix), "make sure the service in the guest listens on port %u and its "
	         "own firewall lets it in; if rules checks failed above, fix those first",
	         f->guest_port);
	dr_report(dr, "probe", fw->label, DR_FAIL, fix, "connecting to %s%s%s:%u from the host: %s",
	          v6 ? "[" : "", a, v6 ? "]" : "", f->host_port,
	          r == -ETIMEDOUT ? "no answer within 2 s" : strerror(-r));
}
