/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The warnings of `check` (see lint.h): each forward against libvirt's files, the host's
 * addresses and its listening sockets. Read-only; whatever cannot be read says nothing, so a
 * warning is always about something seen. */
#include "lint.h"

#include <dirent.h>
#include <errno.h>
#include <ifaddrs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inputs.h"
#include "network.h"
#include "resolve.h"
#include "util.h"

#define MAX_RUNNING   4096u     /* running guests kept for UUID lookups */
#define MAX_DEFINED   100000u   /* persistent guests' names listed */
#define MAX_NETS      256u      /* networks remembered; beyond, each is read again */
#define MAX_SOCKETS   65536u    /* listening sockets taken from /proc/net */
#define PROC_MAX      (32u << 20)  /* bytes of one /proc/net table: MAX_SOCKETS lines fit */

struct netmode {
	char name[VP_NAME_MAX];
	int r;                      /* 0: mode known; <0: no status or config could be read */
	enum vp_fwmode mode;
};

struct vp_listener {
	int proto, family;
	struct vp_addr addr;        /* the wildcard as 0.0.0.0 / :: */
	unsigned port;
	bool dual;                  /* an IPv6 wildcard that also takes IPv4 (bindv6only=0) */
};

struct lint {
	const struct vp_table *t;
	struct vp_diags *w;
	struct vp_domain *running;  /* libvirt's status files, read once */
	size_t n_running, cap_running;
	bool running_read;
	char **defined;             /* names with a persistent XML, sorted (one readdir, not a
	                               failed open per guest of a big table) */
	size_t n_defined, cap_defined;
	bool defined_read;
	struct vp_domain config;    /* the persistent XML of config_of, the last one looked up */
	char config_of[VP_NAME_MAX];
	int config_r;
	struct netmode *nets;
	size_t n_nets, cap_nets;
	struct ifaddrs *ifa;        /* NULL: getifaddrs failed, no address warning */
	struct vp_listeners ls;
};

/* ---- the forward's network ---- */

static int keep_running(void *ctx, struct vp_domain *d, char *xml, size_t len)
{
	struct lint *l = ctx;

	(void)len;
	if (l->n_running == MAX_RUNNING)
		return 0;
	if (vp_grow(&l->running, &l->cap_running, l->n_running + 1, sizeof(*l->running)) < 0)
		return -ENOMEM;
	l->running[l->n_running++] = *d;
	free(xml);
	return 1;
}

/* A domain XML file, parsed; 0 or -errno. */
static int read_domain(const char *path, struct vp_domain *ret)
{
	char *buf = NULL;
	size_t len;
	int r = vp_read_file(path, VP_DOMAIN_XML_MAX, true, &buf, &len);

	if (r == 0)
		r = vp_domain_parse(buf, len, ret);
	free(buf);
	return r;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The guests libvirt keeps a persistent XML of, by the names of /etc/libvirt/qemu/NAME.xml. */
static int list_defined(struct lint *l)
{
	char dir[4096];
	struct dirent *e;
	DIR *dp = vp_path(dir, sizeof(dir), "/etc/libvirt/qemu") == 0 ? opendir(dir) : NULL;
	int r = 0;

	if (!dp)
		return 0;
	while (r == 0 && l->n_defined < MAX_DEFINED && (e = readdir(dp))) {
		size_t n = strlen(e->d_name);
		if (e->d_name[0] == '.' || n <= 4 || strcmp(e->d_name + n - 4, ".xml") != 0)
			continue;
		r = vp_grow(&l->defined, &l->cap_defined, l->n_defined + 1, sizeof(*l->defined));
		if (r == 0 && !(l->defined[l->n_defined] = vp_strndup(e->d_name, n - 4)))
			r = -ENOMEM;
		if (r == 0)
			l->n_defined++;
	}
	closedir(dp);
	if (l->n_defined)
		qsort(l->defined, l->n_defined, sizeof(*l->defined), cmp_names);
	return r;
}

static bool is_defined(struct lint *l, const char *name)
{
	if (!l->defined_read) {
		l->defined_read = true;
		if (list_defined(l) < 0)
			return false;
	}
	return l->n_defined &&
	       bsearch(&name, l->defined, l->n_defined, sizeof(*l->defined), cmp_names) != NULL;
}

/* The guest f names: running (its status file), else its persistent XML by name. NULL: unknown. */
static const struct vp_domain *guest_of(struct lint *l, const struct vp_forward *f)
{
	char path[4096];

	if (!l->running_read) {
		l->running_read = true;
		if (vp_foreach_running(keep_running, l) == -ENOMEM)
			return NULL;
	}
	for (size_t i = 0; i < l->n_running; i++)
		if (vp_forward_matches(f, l->running[i].name, l->running[i].uuid))
			return &l->running[i];
	if (f->domain_is_uuid || strchr(f->domain, '/') || strlen(f->domain) >= VP_NAME_MAX ||
	    !is_defined(l, f->domain))
		return NULL;
	if (strcmp(l->config_of, f->domain) != 0) {
		if (l->config_r == 0)
			vp_domain_free(&l->config);
		memcpy(l->config_of, f->domain, strlen(f->domain) + 1);
		l->config_r = vp_path(path, sizeof(path), "/etc/libvirt/qemu/%s.xml", f->domain);
		if (l->config_r == 0)
			l->config_r = read_domain(path, &l->config);
	}
	return l->config_r == 0 ? &l->config : NULL;
}

/* A network's forward mode: its status while it runs, else its persistent config. */
static void read_mode(struct netmode *m)
{
	static const char *const where[] = {"/run/libvirt/network", "/etc/libvirt/qemu/networks"};
	char path[4096];

	m->r = -ENOENT;
	for (size_t i = 0; m->r < 0 && i < VP_ARRAY_SIZE(where); i++) {
		struct vp_network n;
		char *buf = NULL;
		size_t len;
		int r = vp_path(path, sizeof(path), "%s/%s.xml", where[i], m->name);
		if (r == 0)
			r = vp_read_file(path, VP_NETWORK_XML_MAX, true, &buf, &len);
		if (r == 0)
			r = vp_network_parse(buf, len, &n);
		free(buf);
		if (r == 0) {
			m->mode = n.mode;
			vp_network_free(&n);
		}
		m->r = r;
	}
}

static const struct netmode *net_mode(struct lint *l, const char *name, struct netmode *tmp)
{
	struct netmode *m = tmp;

	if (strlen(name) >= VP_NAME_MAX || strchr(name, '/'))
		return NULL;
	for (size_t i = 0; i < l->n_nets; i++)
		if (!strcmp(l->nets[i].name, name))
			return &l->nets[i];
	if (l->n_nets < MAX_NETS &&
	    vp_grow(&l->nets, &l->cap_nets, l->n_nets + 1, sizeof(*l->nets)) == 0)
		m = &l->nets[l->n_nets++];
	memcpy(m->name, name, strlen(name) + 1);
	read_mode(m);
	return m;
}

static void lint_network(struct lint *l, const struct vp_forward *f)
{
	const struct vp_domain *d = guest_of(l, f);
	const struct vp_nic *nic = d ? vp_pick_nic(d, f) : NULL;
	const char *name = nic && nic->type == VP_NIC_NETWORK ? nic->network : NULL;
	const struct netmode *m;
	struct netmode tmp;

	if (!d)
		name = f->network;   /* the guest is not known: the network it names */
	if (!name || !name[0] || !(m = net_mode(l, name, &tmp)) || m->r < 0 ||
	    m->mode == VP_FWMODE_NAT)
		return;
	vp_diags_add(l->w, "%s:%u:%u: warning: network %s is in forward mode %s, not nat: the hook "
	             "skips this forward (port forwards are for NAT networks)", f->file, f->line,
	             f->col, name, vp_fwmode_name(m->mode));
}

/* ---- the host's addresses ---- */

static bool sa_equal(const struct sockaddr *sa, const struct vp_addr *a)
{
	if (!sa || sa->sa_family != a->family)
		return false;
	if (a->family == AF_INET)
		return !memcmp(&((const struct sockaddr_in *)(const void *)sa)->sin_addr, &a->v4,
		               sizeof(a->v4));
	return !memcmp(&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, &a->v6,
	               sizeof(a->v6));
}

static void lint_address(struct lint *l, const struct vp_forward *f)
{
	char a[VP_ADDR_STRLEN];

	if (!l->ifa || !f->host_addr.family)
		return;
	for (const struct ifaddrs *i = l->ifa; i; i = i->ifa_next)
		if (sa_equal(i->ifa_addr, &f->host_addr))
			return;
	vp_diags_add(l->w, "%s:%u:%u: warning: %s is not an address of this host: the forward's "
	             "DNAT would also take traffic routed through the host to it", f->file, f->line,
	             f->col, vp_addr_str(&f->host_addr, a));
}

/* ---- listening sockets ---- */

/* The kernel prints each 32-bit word of an address as a host-order number in hex. */
static int parse_hex_addr(const char *s, int family, struct vp_addr *ret)
{
	size_t words = family == AF_INET ? 1 : 4;
	uint32_t w[4];

	if (strlen(s) != 8 * words)
		return -EINVAL;
	for (size_t i = 0; i < words; i++) {
		char hex[9];
		memcpy(hex, s + 8 * i, 8);
		hex[8] = '\0';
		w[i] = (uint32_t)strtoul(hex, NULL, 16);
	}
	*ret = (struct vp_addr){.family = family};
	memcpy(family == AF_INET ? (void *)&ret->v4 : (void *)&ret->v6, w, 4 * words);
	return 0;
}

/* ::ffff:a.b.c.d is an IPv4 socket of a dual-stack program: counted as IPv4. */
static void unmap_v4(struct vp_listener *s)
{
	if (s->family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&s->addr.v6)) {
		struct in_addr v4;
		memcpy(&v4, &s->addr.v6.s6_addr[12], sizeof(v4));
		s->family = AF_INET;
		s->addr = (struct vp_addr){.family = AF_INET, .v4 = v4};
	}
}

/* One line of /proc/net/{tcp,udp}[6]: a listener kept, or not one. 0 or -ENOMEM. */
static int proc_line(struct vp_listeners *l, const char *line, int proto, int family, bool dual)
{
	char la[40], ra[40];
	unsigned lport, rport, st;
	struct vp_listener s = {.proto = proto, .family = family};

	if (sscanf(line, " %*u: %39[0-9A-Fa-f]:%x %39[0-9A-Fa-f]:%x %x", la, &lport, ra, &rport,
	           &st) != 5)
		return 0;
	/* TCP: LISTEN. UDP: unconnected (CLOSE, no peer); a connected socket is a client. */
	if (proto == IPPROTO_TCP ? st != 0x0A : st != 0x07 || rport != 0)
		return 0;
	if (parse_hex_addr(la, family, &s.addr) < 0 || l->n == MAX_SOCKETS)
		return 0;
	s.port = lport;
	s.dual = dual && vp_addr_is_any(&s.addr);
	unmap_v4(&s);
	if (vp_grow(&l->ls, &l->cap, l->n + 1, sizeof(*l->ls)) < 0)
		return -ENOMEM;
	l->ls[l->n++] = s;
	return 0;
}

/* A /proc/net socket table; one too big to read (over PROC_MAX) is left out, like one that
 * cannot be read: no warning from it. */
static int read_proc(struct vp_listeners *l, const char *path, int proto, int family, bool dual)
{
	char *buf = NULL, *line, *end;
	size_t len;
	int r = vp_read_file(path, PROC_MAX, false, &buf, &len);

	if (r < 0)
		return r == -ENOMEM ? r : 0;
	r = 0;
	for (line = buf; r == 0 && line < buf + len; line = end + 1) {
		end = memchr(line, '\n', (size_t)(buf + len - line));
		if (!end)
			end = buf + len;
		*end = '\0';   /* the buffer has room for one byte past len */
		r = proc_line(l, line, proto, family, dual);
	}
	free(buf);
	return r;
}

/* Whether an IPv6 socket bound to :: takes IPv4 too, unless it says otherwise (most do not). */
static bool v6_dual_default(void)
{
	char *buf = NULL;
	size_t len;
	bool dual = vp_read_file("/proc/sys/net/ipv6/bindv6only", 16, false, &buf, &len) == 0 &&
	            len > 0 && buf[0] == '0';

	free(buf);
	return dual;
}

static int cmp_listener(const void *pa, const void *pb)
{
	const struct vp_listener *a = pa, *b = pb;

	if (a->proto != b->proto)
		return (a->proto > b->proto) - (a->proto < b->proto);
	return (a->port > b->port) - (a->port < b->port);
}

int vp_listeners_read(struct vp_listeners *l)
{
	bool dual = v6_dual_default();
	int r;

	*l = (struct vp_listeners){0};
	r = read_proc(l, "/proc/net/tcp", IPPROTO_TCP, AF_INET, false);

	if (r == 0)
		r = read_proc(l, "/proc/net/tcp6", IPPROTO_TCP, AF_INET6, dual);
	if (r == 0)
		r = read_proc(l, "/proc/net/udp", IPPROTO_UDP, AF_INET, false);
	if (r == 0)
		r = read_proc(l, "/proc/net/udp6", IPPROTO_UDP, AF_INET6, dual);
	if (r == 0 && l->n)
		qsort(l->ls, l->n, sizeof(*l->ls), cmp_listener);
	return r;
}

void vp_listeners_free(struct vp_listeners *l)
{
	free(l->ls);
	*l = (struct vp_listeners){0};
}

static bool is_loopback(const struct vp_addr *a)
{
	if (a->family == AF_INET)
		return (ntohl(a->v4.s_addr) >> 24) == 127;
	return IN6_IS_ADDR_LOOPBACK(&a->v6);
}

/* Whether f's DNAT takes what s listens for. Any address: every socket of the family (one on
 * loopback only when the host's own clients are forwarded, local=yes); ADDR: a socket on ADDR
 * or on the wildcard. */
static bool takes(const struct vp_forward *f, const struct vp_listener *s)
{
	if (s->family != f->family && !(s->dual && f->family == AF_INET))
		return false;
	if (!f->host_addr.family)
		return f->local || !is_loopback(&s->addr);
	return vp_addr_is_any(&s->addr) || vp_addr_equal(&s->addr, &f->host_addr);
}

bool vp_listener_taken(const struct vp_listeners *l, const struct vp_forward *f, char *out,
                       size_t n)
{
	size_t lo = 0, hi = l->n;
	struct vp_listener key = {.proto = f->proto, .port = f->host_port};
	char a[VP_ADDR_STRLEN];

	while (lo < hi) {   /* the first socket of f's protocol on a port >= f's first */
		size_t mid = lo + (hi - lo) / 2;
		if (cmp_listener(&l->ls[mid], &key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < l->n && l->ls[lo].proto == f->proto && l->ls[lo].port <= f->host_port_end;
	     lo++) {
		const struct vp_listener *s = &l->ls[lo];
		if (!takes(f, s))
			continue;
		vp_addr_str(&s->addr, a);
		snprintf(out, n, "%s port %u at %s%s%s", vp_proto_name(f->proto), s->port,
		         s->family == AF_INET6 ? "[" : "", a, s->family == AF_INET6 ? "]" : "");
		return true;
	}
	return false;
}

static void lint_listener(struct lint *l, const struct vp_forward *f)
{
	char what[VP_ADDR_STRLEN + 32];

	if (vp_listener_taken(&l->ls, f, what, sizeof(what)))
		vp_diags_add(l->w, "%s:%u:%u: warning: a local process listens on %s: the forward's "
		             "DNAT takes its traffic", f->file, f->line, f->col, what);
}

/* ---- the table ---- */

static void lint_free(struct lint *l)
{
	for (size_t i = 0; i < l->n_running; i++)
		vp_domain_free(&l->running[i]);
	free(l->running);
	for (size_t i = 0; i < l->n_defined; i++)
		free(l->defined[i]);
	free(l->defined);
	if (l->config_r == 0 && l->config_of[0])
		vp_domain_free(&l->config);
	free(l->nets);
	if (l->ifa)
		freeifaddrs(l->ifa);
	vp_listeners_free(&l->ls);
}

int vp_table_lint(const struct vp_table *t, struct vp_diags *w)
{
	struct lint l = {.t = t, .w = w, .config_r = -ENOENT};
	int r = 0;

	if (t->n == 0)
		return 0;
	if (getifaddrs(&l.ifa) < 0)
		l.ifa = NULL;
	r = vp_listeners_read(&l.ls);
	for (size_t i = 0; r == 0 && i < t->n; i++) {
		const struct vp_forward *f = &t->fwd[i];
		lint_network(&l, f);
		lint_address(&l, f);
		lint_listener(&l, f);
	}
	lint_free(&l);
	return r;
}
