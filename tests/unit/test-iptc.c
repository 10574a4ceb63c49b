/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The libiptc backend against the kernel, in a private network namespace (root only; exit 77
 * otherwise). The rules we write must read back through iptables-legacy-save exactly as
 * render-xt.c renders them, and `iptables-legacy -C` must find each of them: that proves our
 * entries are byte for byte the ones iptables itself builds for the same text. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "fw.h"
#include "log.h"
#include "render-xt.h"
#include "tap.h"

unsigned vp_iptc_commits(void);   /* fw-iptc.c */

#define UUID_A "11111111-2222-3333-4444-555555555555"
#define UUID_B "66666666-7777-8888-9999-000000000000"

static const char *const builtins_nat =
	":PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n";
static const char *const builtins_filter =
	":INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n";

/* Run a shell command line, return its stdout (stderr too with 2>&1 in cmd); *status: exit. */
static char *run(const char *cmd, int *status)
{
	struct vp_buf b = {0};
	char chunk[4096];
	size_t n;
	FILE *p = popen(cmd, "r");

	if (!p) {
		*status = -1;
		return NULL;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), p)) > 0)
		vp_buf_append(&b, chunk, n);
	*status = pclose(p);
	if (!b.s)
		vp_buf_append(&b, "", 0);
	return b.s;
}

static bool sh(const char *cmd)
{
	int st;
	char *out = run(cmd, &st);
	if (st != 0)
		tap_ok(false, "command failed: %s: %s", cmd, out ? out : "");
	free(out);
	return st == 0;
}

/* iptables-save output without the "# Generated/Completed" lines and with chain counters
 * zeroed: what is left is the ruleset. */
static char *save(int family, const char *table)
{
	char cmd[128];
	struct vp_buf b = {0};
	int st;
	char *out, *line, *next;

	snprintf(cmd, sizeof(cmd), "%s-legacy-save%s%s 2>&1",
	         family == AF_INET6 ? "ip6tables" : "iptables", table ? " -t " : "", table ? table : "");
	out = run(cmd, &st);
	for (line = out; line && *line; line = next) {
		next = strchr(line, '\n');
		next = next ? next + 1 : line + strlen(line);
		if (line[0] == '#')
			continue;
		char *br = line[0] == ':' ? memchr(line, '[', (size_t)(next - line)) : NULL;
		if (br) {
			vp_buf_append(&b, line, (size_t)(br - line));
			vp_buf_printf(&b, "[0:0]\n");
		} else {
			vp_buf_append(&b, line, (size_t)(next - line));
		}
	}
	free(out);
	if (!b.s)
		vp_buf_append(&b, "", 0);
	return b.s;
}

static char *save_all(void)
{
	struct vp_buf b = {0};
	const char *tables[] = {"filter", "nat"};

	for (int fam = 0; fam < 2; fam++)
		for (size_t t = 0; t < 2; t++) {
			char *s = save(fam ? AF_INET6 : AF_INET, tables[t]);
			vp_buf_printf(&b, "%s", s);
			free(s);
		}
	return b.s;
}

/* Lines "-A <chain> ..." that vp_render_xt renders for rs, in ruleset order. */
static void rendered_lines(const struct vp_ruleset *rs, int family, const char *chain,
                           struct vp_buf *out)
{
	struct vp_buf all = {0};
	char prefix[64];
	size_t pl = (size_t)snprintf(prefix, sizeof(prefix), "-A %s ", chain);

	vp_render_xt(rs, family, &all);
	for (char *l = all.s, *next; l && *l; l = next) {
		next = strchr(l, '\n');
		next = next ? next + 1 : l + strlen(l);
		if (!strncmp(l, prefix, pl))
			vp_buf_append(out, l, (size_t)(next - l));
	}
	vp_buf_free(&all);
}

static bool in_table(const char *chain, const char *table)
{
	return !strcmp(table, "filter") == !strcmp(chain, VP_CHAIN_FWD);
}

/* What iptables-legacy-save must print for a table holding exactly the rules of `rs` (in
 * install order) and nothing foreign: built-in chains, our chains sorted by name (libiptc keeps
 * them sorted), our jumps, then the rules chain by chain. */
static char *expect(const struct vp_ruleset *const *rs, size_t nrs, int family, const char *table)
{
	static const struct { const char *table, *builtin, *chain; } hooks[] = {
		{"nat", "PREROUTING", VP_CHAIN_PRE}, {"nat", "OUTPUT", VP_CHAIN_OUT},
		{"nat", "POSTROUTING", VP_CHAIN_POST}, {"filter", "FORWARD", VP_CHAIN_FWD},
	};
	static const char *const sorted[] = {VP_CHAIN_FWD, VP_CHAIN_OUT, VP_CHAIN_POST, VP_CHAIN_PRE};
	struct vp_buf rules[VP_ARRAY_SIZE(sorted)] = {{0}};
	struct vp_buf b = {0};
	bool nat = !strcmp(table, "nat");

	for (size_t c = 0; c < VP_ARRAY_SIZE(sorted); c++)
		for (size_t i = 0; i < nrs; i++)
			rendered_lines(rs[i], family, sorted[c], &rules[c]);
	vp_buf_printf(&b, "*%s\n%s", table, nat ? builtins_nat : builtins_filter);
	for (size_t c = 0; c < VP_ARRAY_SIZE(sorted); c++)
		if (rules[c].len && in_table(sorted[c], table))
			vp_buf_printf(&b, ":%s - [0:0]\n", sorted[c]);
	for (size_t h = 0; h < VP_ARRAY_SIZE(hooks); h++) {
		size_t c = 0;
		while (strcmp(sorted[c], hooks[h].chain))
			c++;
		if (strcmp(hooks[h].table, table) || !rules[c].len)
			continue;
		vp_buf_printf(&b, "-A %s%s -m comment --comment " VP_TAG " -j %s\n", hooks[h].builtin,
		              strcmp(hooks[h].builtin, "OUTPUT") ? "" :
		              family == AF_INET ? " ! -d 127.0.0.0/8" : " ! -d ::1/128", hooks[h].chain);
	}
	for (size_t c = 0; c < VP_ARRAY_SIZE(sorted); c++) {
		if (rules[c].len && in_table(sorted[c], table))
			vp_buf_printf(&b, "%s", rules[c].s);
		vp_buf_free(&rules[c]);
	}
	vp_buf_printf(&b, "COMMIT\n");
	return b.s;
}

/* Remove the lines listed in drop (NULL-terminated; each without its newline) from text. */
static void drop_lines(char *text, const char *const *drop)
{
	char *w = text;

	for (char *l = text, *next; drop && *l; l = next) {
		size_t len = strcspn(l, "\n");
		bool keep = true;
		next = l[len] ? l + len + 1 : l + len;
		for (size_t i = 0; drop[i] && keep; i++)
			keep = strlen(drop[i]) != len || strncmp(l, drop[i], len);
		if (keep) {
			memmove(w, l, (size_t)(next - l));
			w += next - l;
		}
	}
	if (drop)
		*w = '\0';
}

/* The table holds the rules of rs[0..nrs) exactly as rendered, plus the foreign lines. */
static bool check_table(const struct vp_ruleset *const *rs, size_t nrs, int family,
                        const char *table, const char *const *foreign, const char *what)
{
	char *want = expect(rs, nrs, family, table), *got = save(family, table);
	bool ok;

	drop_lines(got, foreign);
	ok = tap_streq(got, want, "%s: %s %s as rendered", what,
	               family == AF_INET ? "IPv4" : "IPv6", table);
	free(want);
	free(got);
	return ok;
}

static bool check_all(const struct vp_ruleset *const *rs, size_t nrs, const char *const *foreign,
                      const char *what)
{
	bool ok = true;

	for (int fam = 0; fam < 2; fam++) {
		ok &= check_table(rs, nrs, fam ? AF_INET6 : AF_INET, "filter", foreign, what);
		ok &= check_table(rs, nrs, fam ? AF_INET6 : AF_INET, "nat", foreign, what);
	}
	return ok;
}

/* `iptables-legacy -C` builds the entry for the rendered text and looks for an identical one
 * (byte compare): our entries are the ones iptables itself would write. */
static void check_iptables_finds(const struct vp_ruleset *rs, int family)
{
	struct vp_buf all = {0};
	unsigned found = 0, n = 0;

	vp_render_xt(rs, family, &all);
	for (char *l = all.s, *next; l && *l; l = next) {
		char cmd[1024], chain[32];
		int st;
		size_t len = strcspn(l, "\n");
		next = l[len] ? l + len + 1 : l + len;
		if (sscanf(l, "-A %31s", chain) != 1)
			continue;
		snprintf(cmd, sizeof(cmd), "%s-legacy -t %s -C %.*s 2>&1",
		         family == AF_INET ? "iptables" : "ip6tables",
		         strcmp(chain, VP_CHAIN_FWD) ? "nat" : "filter", (int)len - 3, l + 3);
		free(run(cmd, &st));
		n++;
		if (st == 0)
			found++;
		else
			tap_ok(false, "iptables -C does not find: %.*s", (int)len, l);
	}
	tap_ok(n > 0 && found == n, "%s: iptables-legacy -C finds all %u rules (byte-identical)",
	       family == AF_INET ? "IPv4" : "IPv6", n);
	vp_buf_free(&all);
}

static int apply(const struct vp_ruleset *rs, unsigned wait_ms)
{
	struct vp_fw_opts o = {.lock_wait_ms = wait_ms};
	struct vp_record prev = {0}, next = {0};
	return vp_backend_iptc.apply(rs, &o, &prev, &next);
}

/* ---- rulesets ---------------------------------------------------------------------------- */

static void add(struct vp_ruleset *rs, enum vp_stage st, int proto, const char *from,
                const char *host, unsigned hp, unsigned hpe, const char *guest, unsigned gp,
                unsigned gpe)
{
	struct vp_rule r = {.stage = st, .proto = proto, .hport = (uint16_t)hp,
	                    .hport_end = (uint16_t)hpe, .gport = (uint16_t)gp,
	                    .gport_end = (uint16_t)gpe, .bridge = "virbr0"};
	bool v6 = strchr(guest, ':') != NULL;
	const char *net = v6 ? "fd00::/64" : "192.168.122.0/24";
	int ok = 0;

	r.family = v6 ? AF_INET6 : AF_INET;
	ok |= vp_addr_parse(guest, strlen(guest), &r.guest);
	ok |= vp_cidr_parse(net, strlen(net), &r.net);
	if (from) {
		r.has_src = true;
		ok |= vp_cidr_parse(from, strlen(from), &r.src);
	}
	if (host)
		ok |= vp_addr_parse(host, strlen(host), &r.host_addr);
	ok |= vp_ruleset_add(rs, &r);
	if (ok != 0) {
		tap_ok(false, "test rule set up");
		exit(tap_done());
	}
}

/* Owner A: every stage, from=, a host address, port ranges, tcp/udp/sctp, IPv4 and IPv6. */
static void ruleset_a(struct vp_ruleset *rs)
{
	const char *g = "192.168.122.10", *from = "203.0.113.0/24", *h = "198.51.100.7";

	vp_ruleset_init(rs, UUID_A);
	add(rs, VP_ST_PRE_DNAT, IPPROTO_TCP, NULL, NULL, 2222, 2222, g, 22, 22);
	add(rs, VP_ST_OUT_DNAT, IPPROTO_TCP, NULL, NULL, 2222, 2222, g, 22, 22);
	add(rs, VP_ST_POST_HAIRPIN, IPPROTO_TCP, NULL, NULL, 2222, 2222, g, 22, 22);
	add(rs, VP_ST_POST_MASQ, IPPROTO_TCP, NULL, NULL, 2222, 2222, g, 22, 22);
	add(rs, VP_ST_FWD_ACCEPT, IPPROTO_TCP, NULL, NULL, 2222, 2222, g, 22, 22);
	add(rs, VP_ST_PRE_DNAT, IPPROTO_UDP, from, h, 8080, 8089, g, 80, 89);
	add(rs, VP_ST_OUT_DNAT, IPPROTO_UDP, from, h, 8080, 8089, g, 80, 89);
	add(rs, VP_ST_POST_HAIRPIN, IPPROTO_UDP, NULL, NULL, 8080, 8089, g, 80, 89);
	add(rs, VP_ST_FWD_ACCEPT, IPPROTO_UDP, from, h, 8080, 8089, g, 80, 89);
	add(rs, VP_ST_PRE_DNAT, IPPROTO_SCTP, from, NULL, 2222, 2225, g, 22, 25);
	add(rs, VP_ST_POST_MASQ, IPPROTO_SCTP, from, NULL, 2222, 2225, g, 22, 25);
	add(rs, VP_ST_FWD_ACCEPT, IPPROTO_SCTP, from, NULL, 2222, 2225, g, 22, 25);
	add(rs, VP_ST_PRE_DNAT, IPPROTO_TCP, "2001:db8::/32", "2001:db8::7", 2222, 2222, "fd00::10", 22, 22);
	add(rs, VP_ST_OUT_DNAT, IPPROTO_UDP, NULL, NULL, 8080, 8089, "fd00::10", 80, 89);
	add(rs, VP_ST_POST_HAIRPIN, IPPROTO_TCP, NULL, NULL, 2222, 2222, "fd00::10", 22, 22);
	add(rs, VP_ST_POST_MASQ, IPPROTO_SCTP, NULL, NULL, 2222, 2222, "fd00::10", 22, 22);
	add(rs, VP_ST_FWD_ACCEPT, IPPROTO_TCP, "2001:db8::/32", NULL, 2222, 2222, "fd00::10", 22, 22);
	/* hairpin=no: the DNAT skips the bridge (! -i virbr0), alone and next to -s and -d. */
	add(rs, VP_ST_PRE_DNAT, IPPROTO_TCP, NULL, NULL, 2230, 2230, g, 22, 22);
	rs->r[rs->n - 1].not_from_bridge = true;
	add(rs, VP_ST_PRE_DNAT, IPPROTO_UDP, from, h, 5353, 5353, g, 53, 53);
	rs->r[rs->n - 1].not_from_bridge = true;
	add(rs, VP_ST_PRE_DNAT, IPPROTO_TCP, "2001:db8::/32", "2001:db8::7", 2230, 2230, "fd00::10",
	    22, 22);
	rs->r[rs->n - 1].not_from_bridge = true;
}

/* Owner B: another guest on the same host, IPv4 only. */
static void ruleset_b(struct vp_ruleset *rs)
{
	const char *g = "192.168.122.11";

	vp_ruleset_init(rs, UUID_B);
	add(rs, VP_ST_PRE_DNAT, IPPROTO_TCP, NULL, NULL, 3333, 3333, g, 22, 22);
	add(rs, VP_ST_POST_HAIRPIN, IPPROTO_TCP, NULL, NULL, 3333, 3333, g, 22, 22);
	add(rs, VP_ST_FWD_ACCEPT, IPPROTO_TCP, NULL, NULL, 3333, 3333, g, 22, 22);
}

/* ---- cases ------------------------------------------------------------------------------- */

static bool tables_listed(void)
{
	char *v4 = NULL, *v6 = NULL;
	size_t l4 = 0, l6 = 0;

	vp_read_file("/proc/net/ip_tables_names", 4096, false, &v4, &l4);
	vp_read_file("/proc/net/ip6_tables_names", 4096, false, &v6, &l6);
	free(v4);
	free(v6);
	return l4 + l6 > 0;
}

/* Removing rules that were never there must not instantiate the legacy tables (iptables-nft
 * would then warn about them). */
static void test_remove_touches_nothing(void)
{
	struct vp_ruleset none;

	vp_ruleset_init(&none, UUID_A);
	tap_ok(!tables_listed(), "fresh namespace: no legacy table instantiated");
	tap_ok(apply(&none, 0) == 0, "removal with no table succeeds");
	tap_ok(!tables_listed(), "removal instantiated no legacy table");
	tap_ok(vp_iptc_commits() == 0, "removal committed nothing");
}

static void test_invalid_rule(const struct vp_ruleset *a)
{
	struct vp_ruleset bad = *a;
	struct vp_rule r = a->r[0];
	unsigned c0 = vp_iptc_commits();

	r.proto = IPPROTO_ICMP;
	bad.r = &r;
	bad.n = 1;
	tap_ok(apply(&bad, 0) == -EINVAL, "invalid rule: -EINVAL");
	tap_ok(vp_iptc_commits() == c0 && !tables_listed(), "invalid rule: nothing touched");
	r = a->r[1];   /* OUTPUT has no input interface: ! -i there is refused, not written */
	r.not_from_bridge = true;
	tap_ok(r.stage == VP_ST_OUT_DNAT && apply(&bad, 0) == -EINVAL,
	       "! -i on the OUTPUT DNAT: -EINVAL");
	tap_ok(vp_iptc_commits() == c0 && !tables_listed(), "! -i on the OUTPUT DNAT: nothing touched");
}

static void test_install(const struct vp_ruleset *a)
{
	const struct vp_ruleset *rs[] = {a};
	unsigned c0 = vp_iptc_commits();
	char *nat;

	tap_ok(apply(a, 2000) == 0, "install A");
	tap_ok(vp_iptc_commits() - c0 == 4, "install A: 4 commits (filter, nat x IPv4, IPv6), got %u",
	       vp_iptc_commits() - c0);
	check_all(rs, 1, NULL, "install A");
	check_iptables_finds(a, AF_INET);
	check_iptables_finds(a, AF_INET6);
	/* The canonical text, literally, independent of render-xt.c. */
	nat = save(AF_INET, "nat");
	tap_ok(strstr(nat, "-A VIRT_PORTFWD_PRE -p tcp -m tcp --dport 2222 -m addrtype --dst-type LOCAL "
	                   "-m comment --comment \"virt-portfwd:" UUID_A "\" -j DNAT "
	                   "--to-destination 192.168.122.10:22\n") != NULL, "literal DNAT line");
	tap_ok(strstr(nat, "-A VIRT_PORTFWD_PRE -s 203.0.113.0/24 -d 198.51.100.7/32 -p udp -m udp "
	                   "--dport 8080:8089 -m comment --comment \"virt-portfwd:" UUID_A "\" -j DNAT "
	                   "--to-destination 192.168.122.10:80-89/8080\n") != NULL,
	       "literal DNAT range line");
	tap_ok(strstr(nat, "-A VIRT_PORTFWD_PRE -s 203.0.113.0/24 -d 198.51.100.7/32 ! -i virbr0 -p udp "
	                   "-m udp --dport 5353 -m comment --comment \"virt-portfwd:" UUID_A "\" -j DNAT "
	                   "--to-destination 192.168.122.10:53\n") != NULL,
	       "literal DNAT line of hairpin=no");
	free(nat);
}

static void test_idempotent(const struct vp_ruleset *a)
{
	char *before = save_all(), *after;
	unsigned c0 = vp_iptc_commits();

	tap_ok(apply(a, 0) == 0, "apply A again");
	tap_ok(vp_iptc_commits() == c0, "apply A again: nothing committed");
	after = save_all();
	tap_streq(after, before, "apply A again: tables unchanged");
	free(before);
	free(after);
}

/* Changing the owner's rules rewrites only the tables that change: dropping A's IPv6 rules
 * leaves the IPv4 tables alone and removes our IPv6 chains and jumps. */
static void test_modify(const struct vp_ruleset *a)
{
	struct vp_ruleset a4;
	const struct vp_ruleset *rs[1] = {&a4};
	unsigned c0;

	vp_ruleset_init(&a4, UUID_A);
	for (size_t i = 0; i < a->n; i++)
		if (a->r[i].family == AF_INET)
			vp_ruleset_add(&a4, &a->r[i]);
	c0 = vp_iptc_commits();
	tap_ok(apply(&a4, 0) == 0, "apply A without its IPv6 rules");
	tap_ok(vp_iptc_commits() - c0 == 2, "only the 2 IPv6 tables were written (got %u)",
	       vp_iptc_commits() - c0);
	check_all(rs, 1, NULL, "A without IPv6");
	vp_ruleset_free(&a4);
}

static void test_remove_all(const char *uuid, const char *what)
{
	struct vp_ruleset none;

	vp_ruleset_init(&none, uuid);
	tap_ok(apply(&none, 0) == 0, "%s", what);
}

static const char *const foreign[] = {
	"-A FORWARD -o virbr0 -j REJECT --reject-with icmp-port-unreachable",
	"-A POSTROUTING -s 192.168.122.0/24 ! -d 192.168.122.0/24 -j MASQUERADE",
	NULL,
};

static void test_two_owners(const struct vp_ruleset *a, const struct vp_ruleset *b)
{
	const struct vp_ruleset *ab[] = {a, b}, *onlyb[] = {b};
	char *base, *end;

	sh("iptables-legacy -A FORWARD -o virbr0 -j REJECT");
	sh("iptables-legacy -t nat -A POSTROUTING -s 192.168.122.0/24 ! -d 192.168.122.0/24 -j MASQUERADE");
	base = save_all();
	tap_ok(apply(a, 0) == 0 && apply(b, 0) == 0, "install A, then B, next to foreign rules");
	check_all(ab, 2, foreign, "A and B");
	test_remove_all(UUID_A, "remove A");
	check_all(onlyb, 1, foreign, "A removed, B left");
	test_remove_all(UUID_B, "remove B");
	end = save_all();
	tap_streq(end, base, "A and B removed: tables as before, foreign rules intact");
	free(base);
	free(end);
}

/* libvirt inserts its jumps at the top of FORWARD when they are missing: ours must be moved
 * back above them by the next apply, and only the filter table is written. */
static void test_jump_reasserted(const struct vp_ruleset *a)
{
	const char *fwd = "-A FORWARD -m comment --comment virt-portfwd -j VIRT_PORTFWD_FWD\n"
	                  "-A FORWARD -i virbr0 -j REJECT --reject-with icmp-port-unreachable\n";
	unsigned c0;
	char *s;

	tap_ok(apply(a, 0) == 0, "install A");
	sh("iptables-legacy -I FORWARD 1 -i virbr0 -j REJECT");
	c0 = vp_iptc_commits();
	tap_ok(apply(a, 0) == 0, "apply A after a foreign rule took position 1");
	tap_ok(vp_iptc_commits() - c0 == 1, "only the IPv4 filter table was written");
	s = save(AF_INET, "filter");
	tap_ok(strstr(s, ":VIRT_PORTFWD_FWD - [0:0]\n-A FORWARD") && strstr(s, fwd),
	       "our jump is back at position 1, the foreign rule below it");
	free(s);
	test_remove_all(UUID_A, "remove A");
	sh("iptables-legacy -D FORWARD -i virbr0 -j REJECT");
}

static long long now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000LL + t.tv_nsec / 1000000;
}

static void test_lock(const struct vp_ruleset *b, const char *lockpath)
{
	int fd = open(lockpath, O_RDONLY | O_CLOEXEC);
	char *before, *after;
	long long t0, dt, base;
	int r;

	/* the baseline: the same apply and its removal with the lock free */
	t0 = now_ms();
	r = apply(b, 300);
	base = now_ms() - t0;
	tap_ok(r == 0, "lock free: apply succeeds (%lld ms)", base);
	test_remove_all(UUID_B, "lock free: remove B");
	before = save_all();
	tap_ok(fd >= 0 && flock(fd, LOCK_EX) == 0, "another holder takes the xtables lock");
	t0 = now_ms();
	r = apply(b, 300);
	dt = now_ms() - t0;
	tap_ok(r == -ETIMEDOUT, "apply while the lock is held: -ETIMEDOUT (got %d)", r);
	tap_ok(dt >= 250 && dt <= 300 + 50 * (base > 0 ? base : 1),
	       "gave up after the bounded wait (%lld ms for 300, at most 50 baselines more)", dt);
	after = save_all();
	tap_streq(after, before, "lock held: nothing changed");
	if (fd >= 0)
		close(fd);
	tap_ok(apply(b, 300) == 0, "lock released: apply succeeds");
	test_remove_all(UUID_B, "remove B");
	free(before);
	free(after);
}

/* A nat commit that the kernel refuses after the filter commit went through: a foreign jump
 * from PREROUTING into our POSTROUTING chain makes its MASQUERADE invalid there. The filter
 * rules must be rolled back. */
static void test_rollback(const struct vp_ruleset *a)
{
	char *before, *after;
	unsigned c0;

	sh("iptables-legacy -t nat -N VIRT_PORTFWD_POST");
	sh("iptables-legacy -t nat -A PREROUTING -j VIRT_PORTFWD_POST");
	before = save_all();
	c0 = vp_iptc_commits();
	tap_ok(apply(a, 0) == -EINVAL, "nat commit refused: apply fails with the kernel's -EINVAL");
	tap_ok(vp_iptc_commits() - c0 == 2, "filter was committed, then rolled back (2 commits, got %u)",
	       vp_iptc_commits() - c0);
	after = save_all();
	tap_streq(after, before, "nat refused: the filter rules were rolled back");
	sh("iptables-legacy -t nat -D PREROUTING -j VIRT_PORTFWD_POST");
	sh("iptables-legacy -t nat -X VIRT_PORTFWD_POST");
	free(before);
	free(after);
}

static int skip(const char *why)
{
	printf("1..0 # SKIP %s\n", why);
	return 77;
}

int main(void)
{
	char lockpath[] = "/tmp/test-iptc-lock.XXXXXX";
	struct vp_ruleset a, b;
	int fd, st;

	if (geteuid() != 0)
		return skip("not root");
	if (unshare(CLONE_NEWNET) < 0)
		return skip("cannot create a network namespace");
	free(run("iptables-legacy-save -V 2>&1", &st));
	if (st != 0)
		return skip("iptables-legacy-save not installed");
	fd = mkstemp(lockpath);
	if (fd < 0)
		return skip("cannot create a lock file");
	close(fd);
	setenv("XTABLES_LOCKFILE", lockpath, 1);
	vp_log_open(false, true, false);
	ruleset_a(&a);
	ruleset_b(&b);

	test_remove_touches_nothing();
	test_invalid_rule(&a);
	test_install(&a);
	test_idempotent(&a);
	test_modify(&a);
	test_remove_all(UUID_A, "remove A");
	check_all(NULL, 0, NULL, "A removed");
	test_two_owners(&a, &b);
	test_jump_reasserted(&a);
	test_lock(&b, lockpath);
	test_rollback(&a);

	vp_ruleset_free(&a);
	vp_ruleset_free(&b);
	unlink(lockpath);
	return tap_done();
}
