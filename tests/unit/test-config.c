/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The forward table: every error message against a fixture (.conf in, .err out, exact),
 * valid tables against golden dumps (.out) plus direct checks of parsed values, the
 * duplicate check against a brute-force model, and vp_table_load() on real files. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "table.h"
#include "tap.h"
#include "util.h"

#define FIX "fixtures/config/"

/* VP_UPDATE_GOLDEN=1 (the one switch for every golden file) rewrites the expected files from
 * what the parser produced; review the diff like code. */
static bool expect_text(const char *got, const char *path, const char *what)
{
	char *want;
	bool ok;

	if (getenv("VP_UPDATE_GOLDEN")) {
		FILE *f = fopen(path, "we");
		if (f) {
			fputs(got, f);
			fclose(f);
		}
	}
	want = tap_fixture(path, NULL);
	ok = tap_streq(got, want, "%s", what);
	free(want);
	return ok;
}

static char *join_diags(const struct vp_diags *d)
{
	struct vp_buf b = {0};

	vp_buf_append(&b, "", 0);
	for (size_t i = 0; i < d->n; i++)
		vp_buf_printf(&b, "%s\n", d->msg[i]);
	return b.s;
}

static void dump_forward(const struct vp_forward *f, struct vp_buf *b)
{
	char a[VP_ADDR_STRLEN], c[VP_CIDR_STRLEN];

	vp_buf_printf(b, "%s:%u %s \"%s\" %s %s host=", f->file, f->line,
	              f->domain_is_uuid ? "uuid" : "name", f->domain, vp_proto_name(f->proto),
	              f->family == AF_INET6 ? "ipv6" : "ipv4");
	vp_buf_printf(b, "%s", f->host_addr.family ? vp_addr_str(&f->host_addr, a) : "any");
	vp_buf_printf(b, " %u-%u guest=%u-%u", f->host_port, f->host_port_end, f->guest_port,
	              f->guest_port_end);
	for (size_t i = 0; i < f->n_from; i++)
		vp_buf_printf(b, "%s%s", i ? "," : " from=", vp_cidr_str(&f->from[i], c));
	if (f->nic[0])
		vp_buf_printf(b, " nic=%s", f->nic);
	if (f->network)
		vp_buf_printf(b, " network=%s", f->network);
	if (f->ip.family)
		vp_buf_printf(b, " ip=%s", vp_addr_str(&f->ip, a));
	vp_buf_printf(b, " masquerade=%s local=%s hairpin=%s\n", f->masquerade ? "yes" : "no",
	              f->local ? "yes" : "no", f->hairpin ? "yes" : "no");
}

static char *dump_table(const struct vp_table *t)
{
	struct vp_buf b = {0};

	vp_buf_printf(&b, "set backend=%s lease-wait=%u on-error=%s\n",
	              vp_backend_name(t->set.backend), t->set.lease_wait,
	              t->set.on_error_abort ? "abort" : "continue");
	for (size_t i = 0; i < t->n; i++)
		dump_forward(&t->fwd[i], &b);
	return b.s;
}

static char *fixture_path(const char *dir, const char *name, const char *ext)
{
	struct vp_buf b = {0};
	vp_buf_printf(&b, "%s/%.*s%s", dir, (int)(strlen(name) - 5), name, ext);
	return b.s;
}

/* Parse (and check) fixture NAME.conf; compare diagnostics with NAME.err. */
static void err_fixture(const char *dir, const char *name)
{
	char *conf = fixture_path(dir, name, ".conf"), *err = fixture_path(dir, name, ".err");
	size_t len;
	char *buf = tap_fixture(conf, &len), *got, what[128];
	struct vp_table t;
	struct vp_diags d = {0};
	int r, rc;

	vp_table_init(&t);
	r = vp_table_parse(&t, name, buf, len, &d);
	rc = vp_table_check(&t, &d);
	tap_ok((r == -EINVAL || rc == -EINVAL) && d.n > 0, "err/%s: refused (%d, %d)", name, r, rc);
	got = join_diags(&d);
	snprintf(what, sizeof(what), "err/%s: diagnostics", name);
	expect_text(got, err, what);
	free(got);
	vp_diags_free(&d);
	vp_table_free(&t);
	free(buf);
	free(conf);
	free(err);
}

/* Parse and check fixture NAME.conf without error; compare the dump with NAME.out. */
static void ok_fixture(const char *dir, const char *name)
{
	char *conf = fixture_path(dir, name, ".conf"), *out = fixture_path(dir, name, ".out");
	size_t len;
	char *buf = tap_fixture(conf, &len), *got, *diags, what[128];
	struct vp_table t;
	struct vp_diags d = {0};
	int r;

	vp_table_init(&t);
	r = vp_table_parse(&t, name, buf, len, &d);
	if (r == 0)
		r = vp_table_check(&t, &d);
	diags = join_diags(&d);
	tap_ok(r == 0 && d.n == 0, "ok/%s: accepted (%d)", name, r);
	tap_streq(diags, "", "ok/%s: no diagnostics", name);
	got = dump_table(&t);
	snprintf(what, sizeof(what), "ok/%s: parsed values", name);
	expect_text(got, out, what);
	free(got);
	free(diags);
	vp_diags_free(&d);
	vp_table_free(&t);
	free(buf);
	free(conf);
	free(out);
}

static int parse_str(struct vp_table *t, const char *fname, const char *s, struct vp_diags *d)
{
	return vp_table_parse(t, fname, s, strlen(s), d);
}

static void test_values(void)
{
	struct vp_table t;
	struct vp_diags d = {0};
	const struct vp_forward *f;
	const char *s = "web1 tcp 8080-8089 80-89\n"
	                "\"my vm\" udp [2001:db8::1]:53 53 from=2001:db8::/32 ip=fd00::2\n"
	                "9F1C2F3E1B2A4C5D8E9F0A1B2C3D4E5F sctp 0.0.0.0:9 9 nic=52:54:00:AA:BB:CC "
	                "network=default masquerade=yes local=no hairpin=no";

	vp_table_init(&t);
	tap_ok(parse_str(&t, "v.conf", s, &d) == 0 && t.n == 3 && d.n == 0, "values: parsed");
	if (t.n != 3)
		goto out;
	f = &t.fwd[0];
	tap_ok(!strcmp(f->domain, "web1") && !f->domain_is_uuid && f->proto == IPPROTO_TCP &&
	       f->family == AF_INET && !f->host_addr.family && f->host_port == 8080 &&
	       f->host_port_end == 8089 && f->guest_port == 80 && f->guest_port_end == 89 &&
	       !f->from && !f->n_from && !f->nic[0] && !f->network && !f->ip.family &&
	       !f->masquerade && f->local && f->hairpin && !strcmp(f->file, "v.conf") &&
	       f->line == 1, "values: plain forward and defaults");
	f = &t.fwd[1];
	tap_ok(!strcmp(f->domain, "my vm") && f->proto == IPPROTO_UDP && f->family == AF_INET6 &&
	       f->host_addr.family == AF_INET6 && f->n_from == 1 && f->from[0].prefix == 32 &&
	       f->ip.family == AF_INET6 && f->line == 2, "values: quoted name, IPv6");
	f = &t.fwd[2];
	tap_ok(f->domain_is_uuid && !strcmp(f->domain, "9f1c2f3e-1b2a-4c5d-8e9f-0a1b2c3d4e5f") &&
	       f->proto == IPPROTO_SCTP && f->family == AF_INET && !f->host_addr.family &&
	       !strcmp(f->nic, "52:54:00:aa:bb:cc") && !strcmp(f->network, "default") &&
	       f->masquerade && !f->local && !f->hairpin, "values: UUID normalised, options");
	tap_ok(vp_forward_matches(&t.fwd[0], "web1", NULL) &&
	       !vp_forward_matches(&t.fwd[0], "web2", "9f1c2f3e-1b2a-4c5d-8e9f-0a1b2c3d4e5f") &&
	       vp_forward_matches(&t.fwd[2], "other", "9f1c2f3e-1b2a-4c5d-8e9f-0a1b2c3d4e5f") &&
	       !vp_forward_matches(&t.fwd[2], "9f1c2f3e-1b2a-4c5d-8e9f-0a1b2c3d4e5f", NULL),
	       "values: vp_forward_matches by name and by UUID");
	tap_ok(vp_table_has_domain(&t, "my vm", NULL) && !vp_table_has_domain(&t, "my", NULL) &&
	       !vp_table_has_domain(&t, NULL, NULL), "values: vp_table_has_domain");
	tap_ok(!strcmp(vp_proto_name(IPPROTO_TCP), "tcp") &&
	       !strcmp(vp_proto_name(IPPROTO_UDP), "udp") &&
	       !strcmp(vp_proto_name(IPPROTO_SCTP), "sctp") &&
	       !strcmp(vp_backend_name(VP_BACKEND_AUTO), "auto") &&
	       !strcmp(vp_backend_name(VP_BACKEND_IPT_LEGACY), "iptables-legacy") &&
	       !strcmp(vp_backend_name(VP_BACKEND_IPT_NFT), "iptables-nft") &&
	       !strcmp(vp_backend_name(VP_BACKEND_NFT), "nftables"), "names of protocols, backends");
out:
	vp_diags_free(&d);
	vp_table_free(&t);
}

static void test_across_buffers(void)
{
	struct vp_table t;
	struct vp_diags d = {0};
	char *got;
	int r1, r2, r3, rc;

	vp_table_init(&t);
	tap_ok(t.set.hook_timeout == VP_HOOK_TIMEOUT_DEFAULT, "buffers: hook-timeout defaults to 20 s");
	r1 = parse_str(&t, "forwards.conf", "set lease-wait 7\nweb1 tcp 2222 22\n"
	               "set hook-timeout 3\n", &d);
	r2 = parse_str(&t, "forwards.d/10-a.conf", "\n\nset lease-wait 9\nweb2 tcp 2222 22\n", &d);
	r3 = parse_str(&t, "forwards.d/20-b.conf", "web3 tcp 2222 22 # a comment\n", &d);
	rc = vp_table_check(&t, &d);
	got = join_diags(&d);
	tap_ok(r1 == 0 && r2 == -EINVAL && r3 == 0 && rc == -EINVAL, "buffers: return values");
	tap_streq(got,
	          "forwards.d/10-a.conf:3:5: setting 'lease-wait' was already given at forwards.conf:1\n"
	          "forwards.d/10-a.conf:4:10: host port 2222/tcp is already forwarded at "
	          "forwards.conf:2:10 (web1)\n"
	          "forwards.d/20-b.conf:1:10: host port 2222/tcp is already forwarded at "
	          "forwards.conf:2:10 (web1)\n", "buffers: settings and clashes across files");
	tap_ok(t.set.lease_wait == 7 && t.set.hook_timeout == 3 && t.n == 3 && !strcmp(t.fwd[2].file, "forwards.d/20-b.conf"),
	       "buffers: the first setting stays, forwards keep their file");
	free(got);
	vp_diags_free(&d);
	vp_table_free(&t);
}

static void test_too_many_lines(void)
{
	size_t n = VP_TABLE_MAX_LINES + 1;
	char *buf = malloc(n), *got;
	struct vp_table t;
	struct vp_diags d = {0};
	int r;

	memset(buf, '\n', n);
	vp_table_init(&t);
	r = vp_table_parse(&t, "big.conf", buf, n - 1, &d);  /* exactly the maximum */
	tap_ok(r == 0 && d.n == 0, "lines: %u lines are fine", VP_TABLE_MAX_LINES);
	r = vp_table_parse(&t, "big.conf", buf, n, &d);
	got = join_diags(&d);
	tap_ok(r == -EINVAL, "lines: one more is refused");
	tap_streq(got, "big.conf:100001:1: too many lines (max 100000)\n", "lines: message");
	free(got);
	free(buf);
	vp_diags_free(&d);
	vp_table_free(&t);
}

/* kind 0: N distinct forwards; kind 1: N times the same full range (every line but the first
 * is an error). Parses and checks them; *ret_dt is how long that took, in seconds. */
static void parse_big(int kind, unsigned n, struct vp_table *t, struct vp_diags *d, int *ret_r,
                      int *ret_rc, double *ret_dt)
{
	struct vp_buf b = {0};
	double t0;

	for (unsigned i = 0; i < n; i++) {
		if (kind)
			vp_buf_printf(&b, "dom%u tcp 1-65535 1-65535\n", i);
		else if (i % 3 == 0)
			vp_buf_printf(&b, "dom%u tcp [2001:db8::%x]:%u %u from=2001:db8::/32\n", i, i % 7,
			              20000 + i, 22);
		else
			vp_buf_printf(&b, "dom%u %s 198.51.100.%u:%u-%u 80-81 nic=52:54:00:00:00:01\n", i,
			              i % 2 ? "tcp" : "udp", i % 5, 20000 + i, 20001 + i);
	}
	vp_table_init(t);
	t0 = tap_now();
	*ret_r = vp_table_parse(t, "big.conf", b.s, b.len, d);
	*ret_rc = vp_table_check(t, d);
	*ret_dt = tap_now() - t0;
	vp_buf_free(&b);
}

/* 10 000 lines, against a baseline of 1 250 lines of the same kind parsed in the same run
 * (both best of 3): eight times the lines may cost at most 32 times the time, so the check does
 * not go quadratic (that would be 64) whatever the machine or the build. */
static void test_big_table(int kind)
{
	struct vp_table t;
	struct vp_diags d = {0};
	double dt, base = 1e9;
	int r, rc;

	for (int i = 0; i < 3; i++) {
		parse_big(kind, 1250, &t, &d, &r, &rc, &dt);
		base = dt < base ? dt : base;
		vp_diags_free(&d);
		vp_table_free(&t);
	}
	/* The big one best of 3 too: a single run preempted on a busy machine is not our time. The
	 * last one's table is checked below. */
	dt = 1e9;
	for (int i = 0; i < 3; i++) {
		double once;
		if (i) {
			vp_diags_free(&d);
			vp_table_free(&t);
		}
		parse_big(kind, 10000, &t, &d, &r, &rc, &once);
		dt = once < dt ? once : dt;
	}
	if (kind)
		tap_ok(r == 0 && rc == -EINVAL && d.n == 9999, "big: 9999 clashes reported (%zu)", d.n);
	else
		tap_ok(r == 0 && rc == 0 && t.n == 10000 && d.n == 0, "big: 10000 lines accepted");
	printf("# %s: 10000 lines parsed and checked in %.1f ms\n",
	       kind ? "all clashing" : "distinct", dt * 1000);
	tap_ratio(dt, base, 32, "big: 8x the lines of the baseline, at most 32x its time");
	vp_diags_free(&d);
	vp_table_free(&t);
}

struct model {
	int proto, fam, addr; /* addr 0 = any */
	unsigned lo, hi;
};

static bool model_clash(const struct model *a, const struct model *b)
{
	return a->proto == b->proto && a->fam == b->fam && (!a->addr || !b->addr || a->addr == b->addr)
	       && a->lo <= b->hi && b->lo <= a->hi;
}

/* The O(n log n) check against the obvious O(n^2) one on random small tables. */
static void test_check_model(void)
{
	enum { N = 80, ROUNDS = 300 };
	struct model m[N];
	unsigned bad = 0;

	srand(4242);
	for (int round = 0; round < ROUNDS; round++) {
		struct vp_buf b = {0}, want = {0};
		struct vp_table t;
		struct vp_diags d = {0};
		char *got;

		for (int i = 0; i < N; i++) {
			struct model *x = &m[i];
			x->proto = rand() % 2, x->fam = rand() % 2, x->addr = rand() % 3;
			x->lo = 1 + (unsigned)(rand() % 200);
			x->hi = x->lo + (rand() % 4 ? 0 : (unsigned)(rand() % 30));
			if (x->fam)
				vp_buf_printf(&b, "d%d %s [%s]:%u-%u %u-%u\n", i, x->proto ? "udp" : "tcp",
				              x->addr ? (x->addr == 1 ? "2001:db8::1" : "2001:db8::2") : "::",
				              x->lo, x->hi, x->lo, x->hi);
			else
				vp_buf_printf(&b, "d%d %s %s:%u-%u %u-%u\n", i, x->proto ? "udp" : "tcp",
				              x->addr ? (x->addr == 1 ? "192.0.2.1" : "192.0.2.2") : "0.0.0.0",
				              x->lo, x->hi, x->lo, x->hi);
			for (int j = 0; j < i; j++)
				if (model_clash(&m[j], x)) {
					vp_buf_printf(&want, "%d:%d\n", i + 1, j + 1);
					break;
				}
		}
		vp_buf_append(&want, "", 0);
		vp_table_init(&t);
		vp_table_parse(&t, "r", b.s, b.len, &d);
		vp_table_check(&t, &d);
		struct vp_buf gotb = {0};
		vp_buf_append(&gotb, "", 0);
		for (size_t k = 0; k < d.n; k++) {
			unsigned l1 = 0, l2 = 0;
			const char *at = strstr(d.msg[k], " at r:");
			if (sscanf(d.msg[k], "r:%u:", &l1) == 1 && at && sscanf(at, " at r:%u:", &l2) == 1)
				vp_buf_printf(&gotb, "%u:%u\n", l1, l2);
		}
		got = gotb.s;
		if (strcmp(got, want.s) != 0 && bad++ == 0)
			tap_streq(got, want.s, "model: round %d", round);
		free(got);
		vp_buf_free(&b);
		vp_buf_free(&want);
		vp_diags_free(&d);
		vp_table_free(&t);
	}
	tap_ok(bad == 0, "model: %d random tables, every later clash named with the earliest "
	       "(%u wrong)", ROUNDS, bad);
}

/* ---- vp_table_load on real files ---- */

static char tmpdir[] = "/tmp/vp-test-config-XXXXXX";

static char *tpath(const char *name)
{
	struct vp_buf b = {0};
	vp_buf_printf(&b, "%s/%s", tmpdir, name);
	return b.s;
}

static void put(const char *name, const char *content, mode_t mode)
{
	char *p = tpath(name);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	size_t len = strlen(content);

	if (fd < 0 || write(fd, content, len) != (ssize_t)len || fchmod(fd, mode) < 0)
		printf("Bail out! cannot write %s\n", p);
	if (fd >= 0)
		close(fd);
	free(p);
}

static struct vp_table lt; /* the last table load_expect() loaded */

/* Load main (relative to tmpdir) and optional drop-in dir; compare rc and diagnostics. */
static struct vp_table *load_expect(const char *main, const char *dropins, bool missing_ok,
                                    bool any_owner, int want_r, const char *want, const char *what)
{
	struct vp_table *t = &lt;
	struct vp_diags d = {0};
	struct vp_buf exp = {0};
	char *mp = tpath(main), *dp = dropins ? tpath(dropins) : NULL, *got;
	int r;

	vp_table_free(t);
	vp_table_init(t);
	r = vp_table_load(t, mp, dp, missing_ok, any_owner, &d);
	tap_ok(r == want_r, "load: %s: returns %d (%d)", what, want_r, r);
	/* "@" in the expectation stands for the temporary directory */
	for (const char *p = want; *p; p++)
		if (*p == '@')
			vp_buf_printf(&exp, "%s", tmpdir);
		else
			vp_buf_append(&exp, p, 1);
	vp_buf_append(&exp, "", 0);
	got = join_diags(&d);
	tap_streq(got, exp.s, "load: %s: diagnostics", what);
	free(got);
	vp_buf_free(&exp);
	vp_diags_free(&d);
	free(mp);
	free(dp);
	return t;
}

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(p);
}

static void test_load_dropins(bool ao)
{
	struct vp_table *t;
	char *p;

	put("forwards.conf", "web1 tcp 2222 22\nset lease-wait 1\n", 0644);
	put("d/20-b.conf", "web3 tcp 3000 30\n", 0600);
	put("d/10-a.conf", "web2 tcp 2000 20\n", 0644);
	put("d/.hidden.conf", "this is not parsed\n", 0644);
	put("d/notes.txt", "this is not parsed\n", 0644);
	put("d/x.conf.bak", "this is not parsed\n", 0644);
	t = load_expect("forwards.conf", "d", false, ao, 0, "", "drop-ins");
	tap_ok(t->n == 3 && !strcmp(t->fwd[1].domain, "web2") && !strcmp(t->fwd[2].domain, "web3") &&
	       t->set.lease_wait == 1, "load: drop-ins in lexical order after the main file");
	p = tpath("d/20-b.conf");
	tap_ok(t->n == 3 && !strcmp(t->fwd[2].file, p), "load: forward.file is the path as given");
	free(p);
	put("d/15-bad.conf", "web4 tcp 4000 40\nweb4 tpc 4001 41\nset lease-wait 2\n", 0644);
	put("d/30-dup.conf", "web5 tcp 2222 22\n", 0644);
	load_expect("forwards.conf", "d/", false, ao, -EINVAL,
	            "@/d/15-bad.conf:2:6: unknown protocol 'tpc' (expected tcp, udp or sctp)\n"
	            "@/d/15-bad.conf:3:5: setting 'lease-wait' was already given at @/forwards.conf:2\n"
	            "@/d/30-dup.conf:1:10: host port 2222/tcp is already forwarded at "
	            "@/forwards.conf:1:10 (web1)\n", "errors attributed to their drop-in");
	load_expect("missing.conf", "d", true, ao, -EINVAL,
	            "@/d/15-bad.conf:2:6: unknown protocol 'tpc' (expected tcp, udp or sctp)\n",
	            "missing main file allowed, drop-ins still read");
	put("d/15-bad.conf", "", 0644);
	p = tpath("d/16-link.conf");
	if (symlink("../forwards.conf", p) < 0)
		printf("Bail out! symlink\n");
	free(p);
	load_expect("forwards.conf", "d", false, ao, -EPERM,
	            "refusing @/d/16-link.conf: it is a symbolic link (expected a regular file)\n"
	            "@/d/30-dup.conf:1:10: host port 2222/tcp is already forwarded at "
	            "@/forwards.conf:1:10 (web1)\n", "symlinked drop-in refused, the rest checked");
	load_expect("forwards.conf", "forwards.conf", false, ao, -ENOTDIR,
	            "cannot read drop-in directory @/forwards.conf: Not a directory\n",
	            "drop-in path not a directory");
	load_expect("forwards.conf", "none", false, ao, 0, "", "missing drop-in directory");
	for (unsigned i = 0; i <= VP_TABLE_MAX_FILES; i++) {
		char name[64];
		snprintf(name, sizeof(name), "many/%03u.conf", i);
		put(name, "", 0644);
	}
	load_expect("forwards.conf", "many", false, ao, -EINVAL,
	            "too many files in @/many (max 256)\n", "too many drop-ins");
}

static void test_load_refusals(bool ao)
{
	char *p;

	put("ok.conf", "web1 tcp 2222 22\n", 0644);
	load_expect("ok.conf", NULL, false, ao, 0, "", "plain file");
	load_expect("missing.conf", NULL, false, ao, -ENOENT,
	            "cannot open @/missing.conf: No such file or directory\n", "missing main file");
	load_expect("missing.conf", NULL, true, ao, 0, "", "missing main file, missing_ok");
	p = tpath("link.conf");
	if (symlink("ok.conf", p) < 0)
		printf("Bail out! symlink\n");
	free(p);
	load_expect("link.conf", NULL, false, ao, -EPERM,
	            "refusing @/link.conf: it is a symbolic link (expected a regular file)\n",
	            "symlink");
	load_expect("d", NULL, false, ao, -EPERM,
	            "refusing @/d: it is a directory (expected a regular file)\n", "directory");
	put("open.conf", "web1 tcp 2222 22\n", 0666);
	load_expect("open.conf", NULL, false, ao, -EPERM,
	            "refusing @/open.conf: writable by group or other (chmod go-w)\n", "mode 0666");
	put("group.conf", "web1 tcp 2222 22\n", 0620);
	load_expect("group.conf", NULL, false, ao, -EPERM,
	            "refusing @/group.conf: writable by group or other (chmod go-w)\n", "mode 0620");
	p = tpath("fifo.conf");
	if (mkfifo(p, 0600) < 0)
		printf("Bail out! mkfifo\n");
	free(p);
	load_expect("fifo.conf", NULL, false, ao, -EPERM,
	            "refusing @/fifo.conf: not a regular file\n", "FIFO refused without blocking");
	put("big.conf", "", 0644);
	p = tpath("big.conf");
	if (truncate(p, VP_TABLE_MAX_SIZE + 1) < 0)
		printf("Bail out! truncate\n");
	free(p);
	load_expect("big.conf", NULL, false, ao, -EINVAL,
	            "refusing @/big.conf: larger than 8388608 bytes\n", "too large");
	put("bad.conf", "web1 tcp 2222 22\nweb1 tcp 70000 22\n", 0644);
	load_expect("bad.conf", NULL, false, ao, -EINVAL,
	            "@/bad.conf:2:10: invalid port '70000' (expected 1-65535)\n", "parse error");
	if (geteuid() != 0) {
		tap_ok(true, "load: # SKIP owner check needs root");
		return;
	}
	put("nobody.conf", "web1 tcp 2222 22\n", 0644);
	p = tpath("nobody.conf");
	if (chown(p, 65534, 65534) < 0)
		printf("Bail out! chown\n");
	free(p);
	load_expect("nobody.conf", NULL, false, false, -EPERM,
	            "refusing @/nobody.conf: owned by uid 65534 (expected root)\n", "not root's");
	load_expect("nobody.conf", NULL, false, true, -EPERM,
	            "refusing @/nobody.conf: owned by uid 65534 (expected root)\n",
	            "not root's nor the caller's");
}

static void test_load(void)
{
	/* As root, files are root's: check ownership for real. Otherwise allow our own. */
	bool any_owner = geteuid() != 0;
	char *p;

	if (!mkdtemp(tmpdir)) {
		printf("Bail out! mkdtemp\n");
		return;
	}
	p = tpath("d");
	mkdir(p, 0755);
	free(p);
	p = tpath("many");
	mkdir(p, 0755);
	free(p);
	test_load_refusals(any_owner);
	test_load_dropins(any_owner);
	vp_table_free(&lt);
	nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
	size_t n;

	n = tap_each_fixture(FIX "err", ".conf", err_fixture);
	tap_ok(n >= 10, "found %zu error fixtures", n);
	n = tap_each_fixture(FIX "ok", ".conf", ok_fixture);
	tap_ok(n >= 5, "found %zu valid fixtures", n);
	test_values();
	test_across_buffers();
	test_too_many_lines();
	test_big_table(0);
	test_big_table(1);
	test_check_model();
	test_load();
	return tap_done();
}
