/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The pipeline's decisions, without root: for each forward of a guest, its NIC, network, address
 * and where it came from, or why it is left out; under a private VIRT_PORTFWD_ROOT holding
 * libvirt's files (network status, leases) from the fixtures. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "pipeline.h"
#include "tap.h"
#include "util.h"

/* Before the fixture leases expire (they are from 2026-11-25). */
#define NOW ((time_t)1795590000)

static char root[] = "/tmp/vp-pipeline-XXXXXX";
/* web1's static DHCP host in the network fixture: taken out where the lease is tested. */
#define HOST "<host mac='52:54:00:AA:BB:01' name='web1' ip='192.168.122.40'/>"

static void put(const char *rel, const char *buf, size_t len)
{
	char path[4096], dir[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s%s", root, rel);
	snprintf(dir, sizeof(dir), "%s", path);
	for (char *s = strchr(dir + strlen(root) + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		mkdir(dir, 0755);
		*s = '/';
	}
	f = fopen(path, "w");
	if (f) {
		fwrite(buf, 1, len, f);
		fclose(f);
	}
}

static void put_fixture(const char *fixture, const char *rel, const char *from, const char *to)
{
	size_t len;
	char *buf = tap_fixture(fixture, &len), *at = from ? strstr(buf, from) : NULL;
	struct vp_buf b = {0};

	if (at)
		vp_buf_printf(&b, "%.*s%s%s", (int)(at - buf), buf, to, at + strlen(from));
	else
		vp_buf_printf(&b, "%s", buf);
	put(rel, b.s, b.len);
	vp_buf_free(&b);
	free(buf);
}

static const char table_text[] =
	"web1 tcp 2222 22\n"                                  /* 0: the lease */
	"web1 tcp 2223 22 nic=52:54:00:AA:BB:02\n"            /* 1: the bridged NIC */
	"web1 tcp 2224 22 nic=52:54:00:00:00:99\n"            /* 2: no such NIC */
	"web1 tcp 2226 22 ip=192.168.122.200\n"               /* 3: ip= */
	"web1 tcp 2227 22 ip=10.9.9.9\n"                      /* 4: outside the network */
	"other tcp 2228 22\n";                                /* another guest's */

struct run {
	struct vp_table t;
	struct vp_domain d;
	struct vp_pipeline p;
	struct vp_ruleset rs;
	int r;
};

static void run(struct run *x, time_t now)
{
	struct vp_diags dg = {0};
	size_t len;
	char *xml = tap_fixture("fixtures/domain/live-2nics.xml", &len);

	memset(x, 0, sizeof(*x));
	vp_table_init(&x->t);
	if (vp_table_parse(&x->t, "t.conf", table_text, strlen(table_text), &dg) < 0 ||
	    vp_domain_parse(xml, len, &x->d) < 0)
		tap_ok(false, "fixtures parse");
	x->r = vp_pipeline_run(&x->p, &x->t, now, &x->d, &x->rs);
	vp_diags_free(&dg);
	free(xml);
}

static void run_free(struct run *x)
{
	vp_pipeline_free(&x->p);
	vp_ruleset_free(&x->rs);
	vp_domain_free(&x->d);
	vp_table_free(&x->t);
}

static void test_nat(void)
{
	struct run x;
	char a[VP_ADDR_STRLEN];
	const struct vp_decision *dc;

	run(&x, NOW);
	tap_ok(x.r == 0 && x.p.n_dec == 5, "one decision per forward of the guest, in order (%zu)",
	       x.p.n_dec);
	dc = &x.p.dec[0];
	tap_ok(dc->skip == VP_SKIP_NONE && dc->src == VP_SRC_LEASE && dc->net &&
	       !strcmp(dc->net->name, "default") && dc->nic && !strcmp(dc->nic->mac, "52:54:00:aa:bb:01"),
	       "lease: resolved on the NIC of network default, from the lease");
	tap_streq(vp_addr_str(&dc->addr, a), "192.168.122.55", "lease: the lease's address");
	tap_ok(x.p.dec[1].skip == VP_SKIP_NOT_NETWORK, "bridged NIC: left out, not on a network");
	tap_ok(x.p.dec[2].skip == VP_SKIP_NO_NIC && !x.p.dec[2].nic, "unknown nic=: left out, no NIC");
	dc = &x.p.dec[3];
	tap_ok(dc->skip == VP_SKIP_NONE && dc->src == VP_SRC_OPTION, "ip=: resolved from ip=");
	tap_ok(x.p.dec[4].skip == VP_SKIP_OUTSIDE, "ip= outside the network: left out");
	tap_ok(x.p.n_targets == 2 && x.p.dec[0].target == 0 && x.p.dec[3].target == 1 &&
	       x.p.dec[1].target == SIZE_MAX, "targets: the two resolved forwards, indexed");
	tap_ok(x.rs.n > 0 && vp_pipeline_network(&x.p) == &x.p.dec[0].net->net,
	       "rules planned; the network is the first target's");
	run_free(&x);
	run(&x, NOW + 365 * 86400);
	tap_ok(x.p.dec[0].skip == VP_SKIP_NO_ADDRESS && x.p.pending == 1,
	       "expired lease: no address yet, counted as pending");
	run_free(&x);
	put_fixture("fixtures/network/status-9.0.xml", "/run/libvirt/network/default.xml", NULL, NULL);
	run(&x, NOW + 365 * 86400);
	tap_ok(x.p.dec[0].skip == VP_SKIP_NONE && x.p.dec[0].src == VP_SRC_STATIC,
	       "static host: resolved from the network's static host, whatever the lease");
	tap_streq(vp_addr_str(&x.p.dec[0].addr, a), "192.168.122.40", "static host: its address");
	run_free(&x);
}

static void test_not_nat(void)
{
	struct run x;

	put_fixture("fixtures/network/status-9.0.xml", "/run/libvirt/network/default.xml",
	            "<forward mode='nat'>", "<forward mode='route'>");
	run(&x, NOW);
	tap_ok(x.r == 0 && x.p.dec[0].skip == VP_SKIP_NOT_NAT && x.p.dec[3].skip == VP_SKIP_NOT_NAT,
	       "route network: every forward on it left out, not nat");
	tap_ok(x.p.n_targets == 0 && x.rs.n == 0, "route network: no rule");
	run_free(&x);
	char path[4096];
	snprintf(path, sizeof(path), "%s/run/libvirt/network/default.xml", root);
	remove(path);
	run(&x, NOW);
	tap_ok(x.r == 0 && x.p.dec[0].skip == VP_SKIP_NET_DOWN, "network not running: left out");
	run_free(&x);
}

/* A guest on more networks than the cache holds: a forward into the ninth is left out, and the
 * log says so (it once said nothing). The NICs' networks need not exist for that. */
static void test_many_networks(void)
{
	struct vp_buf xml = {0}, table = {0};
	struct vp_diags dg = {0};
	struct vp_table t;
	struct vp_domain d = {0};
	struct vp_pipeline p = {0};
	struct vp_ruleset rs = {0};
	char log[4200], *said = NULL;
	size_t len;
	int saved = dup(STDERR_FILENO), fd, r;

	vp_buf_printf(&xml, "<domain><name>many</name><uuid>%s</uuid><devices>",
	              "c0ffee00-0000-4000-8000-0000000000aa");
	for (unsigned i = 0; i <= VP_NETCACHE_MAX; i++) {
		vp_buf_printf(&xml, "<interface type='network'><mac address='52:54:00:00:01:%02x'/>"
		              "<source network='net%u'/></interface>", i, i);
		vp_buf_printf(&table, "many tcp %u 22 nic=52:54:00:00:01:%02x\n", 3000 + i, i);
	}
	vp_buf_printf(&xml, "</devices></domain>");
	vp_table_init(&t);
	snprintf(log, sizeof(log), "%s/many.log", root);
	fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (vp_table_parse(&t, "t.conf", table.s, table.len, &dg) < 0 ||
	    vp_domain_parse(xml.s, xml.len, &d) < 0 || fd < 0 || saved < 0)
		tap_ok(false, "many networks: fixtures parse");
	vp_log_open(false, true, false);
	fflush(stderr);
	dup2(fd, STDERR_FILENO);
	r = vp_pipeline_run(&p, &t, NOW, &d, &rs);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	vp_log_open(false, false, false);
	tap_ok(r == 0 && p.n_dec == VP_NETCACHE_MAX + 1 &&
	       p.dec[VP_NETCACHE_MAX].skip == VP_SKIP_NET_DOWN, "ninth network: left out");
	vp_read_file(log, 1u << 20, false, &said, &len);
	tap_ok(said && strstr(said, "t.conf:9: network net8 of many cannot be looked up (a name "
	                             "that cannot be a file name, or more than 8 networks for one "
	                             "guest), ignoring"), "ninth network: the log says why");
	free(said);
	close(fd);
	close(saved);
	vp_pipeline_free(&p);
	vp_ruleset_free(&rs);
	vp_domain_free(&d);
	vp_table_free(&t);
	vp_diags_free(&dg);
	vp_buf_free(&xml);
	vp_buf_free(&table);
}

int main(void)
{
	if (!mkdtemp(root))
		return 1;
	setenv("VIRT_PORTFWD_ROOT", root, 1);
	vp_log_open(false, false, false);
	put_fixture("fixtures/network/status-9.0.xml", "/run/libvirt/network/default.xml", HOST, "");
	put_fixture("fixtures/leases/real.status", "/var/lib/libvirt/dnsmasq/virbr0.status", NULL,
	            NULL);
	test_nat();
	test_not_nat();
	test_many_networks();
	tap_rmtree(root);
	return tap_done();
}
