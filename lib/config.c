/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The forward table grammar (see config.h; the table as a whole is in table.c).
 * One error per bad line, every line parsed, so an administrator sees all mistakes at once;
 * any error means nothing is applied. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain.h"
#include "util.h"

/* A valid line has at most 4 fields and 7 options; one more lets the 12th be named in an error. */
#define MAX_TOKENS 12
#define USAGE "(expected: domain proto [addr:]port[-end] port[-end] [key=value ...])"

struct tok {
	const char *s; /* raw text, quotes included */
	size_t len;
	bool quoted;
};

struct ctx {
	struct vp_table *t;
	struct vp_diags *d;
	const char *fname; /* as given, for diagnostics */
	const char *file;  /* the table's copy, for vp_forward.file */
	const char *ls;    /* start of the current line, for columns */
	unsigned line;
	unsigned errors;
	bool meta;         /* words of the domain's metadata: fname is "domain NAME metadata" */
};

/* Report an error at byte `at` of the current line. Returns -EINVAL, or -ENOMEM when the
 * message could not be recorded. */
static int perr(struct ctx *c, const char *at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int perr(struct ctx *c, const char *at, const char *fmt, ...)
{
	char msg[VP_TABLE_MAX_LINE + 512]; /* quotes at most one field of one line */
	size_t before = c->d ? c->d->n : 0;
	va_list ap;

	c->errors++;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c->meta)
		vp_diags_add(c->d, "%s forward %u: %s", c->fname, c->line, msg);
	else
		vp_diags_add(c->d, "%s:%u:%zu: %s", c->fname, c->line, (size_t)(at - c->ls) + 1, msg);
	return c->d && c->d->n == before ? -ENOMEM : -EINVAL;
}

/* ---- the table ---- */

void vp_table_init(struct vp_table *t)
{
	*t = (struct vp_table){0};
	t->set.backend = VP_BACKEND_AUTO;
	t->set.lease_wait = VP_LEASE_WAIT_DEFAULT;
	t->set.hook_timeout = VP_HOOK_TIMEOUT_DEFAULT;
}

void vp_forward_free(struct vp_forward *f)
{
	free(f->domain);
	free(f->from);
	free(f->network);
}

void vp_table_free(struct vp_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++)
		vp_forward_free(&t->fwd[i]);
	free(t->fwd);
	for (size_t i = 0; i < t->n_files; i++)
		free(t->files[i]);
	free(t->files);
	vp_table_init(t);
}

static int table_add_file(struct vp_table *t, const char *fname, const char **ret_file)
{
	char *copy;

	if (vp_grow(&t->files, &t->cap_files, t->n_files + 1, sizeof(*t->files)) < 0)
		return -ENOMEM;
	copy = vp_strndup(fname, strlen(fname));
	if (!copy)
		return -ENOMEM;
	t->files[t->n_files++] = copy;
	*ret_file = copy;
	return 0;
}

/* Moves *f into the table (f is then owned by it). */
static int table_add_forward(struct vp_table *t, struct vp_forward *f)
{
	if (vp_grow(&t->fwd, &t->cap, t->n + 1, sizeof(*t->fwd)) < 0)
		return -ENOMEM;
	t->fwd[t->n++] = *f;
	*f = (struct vp_forward){0};
	return 0;
}

/* ---- small field parsers ---- */

static bool is_ctrl(unsigned char ch)
{
	return ch < 0x20 || ch == 0x7f;
}

static bool tok_is(const struct tok *tk, const char *word)
{
	return !tk->quoted && tk->len == strlen(word) && memcmp(tk->s, word, tk->len) == 0;
}

static const char *family_name(int family)
{
	return family == AF_INET6 ? "IPv6" : "IPv4";
}

static int parse_port(struct ctx *c, const char *s, size_t len, uint16_t *ret)
{
	unsigned long v;

	if (vp_parse_uint(s, len, 1, 65535, &v) < 0)
		return perr(c, s, "invalid port '%.*s' (expected 1-65535)", (int)len, s);
	*ret = (uint16_t)v;
	return 0;
}

/* PORT or PORT-END */
static int parse_range(struct ctx *c, const char *s, size_t len, uint16_t *ret_lo,
                       uint16_t *ret_hi)
{
	const char *dash = memchr(s, '-', len);
	uint16_t lo = 0, hi;
	int r;

	if (dash && (dash == s || dash == s + len - 1))
		return perr(c, s, "invalid port range '%.*s' (expected PORT or PORT-END)", (int)len, s);
	r = parse_port(c, s, dash ? (size_t)(dash - s) : len, &lo);
	if (r < 0)
		return r;
	hi = lo;
	if (dash) {
		r = parse_port(c, dash + 1, len - (size_t)(dash - s) - 1, &hi);
		if (r < 0)
			return r;
		if (hi < lo)
			return perr(c, s, "invalid port range '%.*s' (the end is below the start)",
			            (int)len, s);
	}
	*ret_lo = lo;
	*ret_hi = hi;
	return 0;
}

/* ---- one forward line ---- */

static int parse_domain(struct ctx *c, const struct tok *tk, struct vp_forward *f)
{
	char name[VP_DOMAIN_MAX + 1], uuid[37];
	size_t n = 0;

	if (tk->quoted) {
		/* The tokenizer checked the escapes and the closing quote. */
		for (size_t i = 1; i + 1 < tk->len; i++) {
			if (tk->s[i] == '\\')
				i++;
			if (n == VP_DOMAIN_MAX)
				return perr(c, tk->s, "domain name too long (max %u bytes)", VP_DOMAIN_MAX);
			name[n++] = tk->s[i];
		}
		if (n == 0)
			return perr(c, tk->s, "empty domain name (expected a name or a UUID)");
	} else {
		if (tk->len > VP_DOMAIN_MAX)
			return perr(c, tk->s, "domain name too long (max %u bytes)", VP_DOMAIN_MAX);
		f->domain_is_uuid = vp_uuid_normalize(tk->s, tk->len, uuid) == 0;
		n = f->domain_is_uuid ? 36 : tk->len;
		memcpy(name, f->domain_is_uuid ? uuid : tk->s, n);
	}
	f->domain = vp_strndup(name, n);
	return f->domain ? 0 : -ENOMEM;
}

static int parse_proto(struct ctx *c, const struct tok *tk, struct vp_forward *f)
{
	static const struct { const char *name; int proto; } protos[] = {
		{"tcp", IPPROTO_TCP}, {"udp", IPPROTO_UDP}, {"sctp", IPPROTO_SCTP},
	};

	for (size_t i = 0; i < VP_ARRAY_SIZE(protos); i++)
		if (tok_is(tk, protos[i].name)) {
			f->proto = protos[i].proto;
			return 0;
		}
	return perr(c, tk->s, "unknown protocol '%.*s' (expected tcp, udp or sctp)", (int)tk->len,
	            tk->s);
}

/* [addr:]port[-end]: returns where the port range starts, after an optional address. */
static int parse_host_addr(struct ctx *c, const struct tok *tk, struct vp_forward *f,
                           const char **ret_port)
{
	const char *s = tk->s, *end = tk->s + tk->len, *sep;
	struct vp_addr a = {0};

	f->family = AF_INET;
	if (s[0] == '[') {
		const char *rb = memchr(s, ']', tk->len);
		if (!rb)
			return perr(c, s, "missing ']' in host address '%.*s' (expected [IPv6]:PORT[-END])",
			            (int)tk->len, s);
		if (vp_addr_parse(s + 1, (size_t)(rb - s - 1), &a) < 0 || a.family != AF_INET6)
			return perr(c, s + 1, "invalid IPv6 address '%.*s' (expected [IPv6]:PORT[-END])",
			            (int)(rb - s - 1), s + 1);
		/* A mapped IPv4 address never appears on IPv6 traffic, and a link-local one is not
		 * routed to us: a rule for either would silently never match. */
		if (IN6_IS_ADDR_V4MAPPED(&a.v6))
			return perr(c, s + 1, "IPv4-mapped address '%.*s' never matches IPv6 traffic "
			            "(write the IPv4 address without brackets)", (int)(rb - s - 1), s + 1);
		if (IN6_IS_ADDR_LINKLOCAL(&a.v6))
			return perr(c, s + 1, "link-local address '%.*s' cannot be forwarded "
			            "(expected a global IPv6 address, or [::])", (int)(rb - s - 1), s + 1);
		f->family = AF_INET6;
		sep = rb + 1;
		if (sep < end && *sep != ':')
			return perr(c, sep, "unexpected '%.*s' after ']' (expected [IPv6]:PORT[-END])",
			            (int)(end - sep), sep);
		if (sep == end)
			sep = NULL;
	} else {
		sep = memchr(s, ':', tk->len);
		if (!sep) {
			*ret_port = s;
			return 0;
		}
		if (memchr(sep + 1, ':', (size_t)(end - sep - 1)))
			return perr(c, s, "IPv6 host address in '%.*s' must be in brackets "
			            "(expected [IPv6]:PORT[-END])", (int)tk->len, s);
		if (vp_addr_parse(s, (size_t)(sep - s), &a) < 0 || a.family != AF_INET)
			return perr(c, s, "invalid IPv4 address '%.*s' (expected ADDR:PORT[-END])",
			            (int)(sep - s), s);
	}
	if (!sep || sep + 1 == end)
		return perr(c, s, "missing port after host address '%.*s' "
		            "(expected ADDR:PORT[-END] or [IPv6]:PORT[-END])", (int)tk->len, s);
	if (!vp_addr_is_any(&a))
		f->host_addr = a; /* 0.0.0.0 and [::] stay family 0: any local address */
	*ret_port = sep + 1;
	return 0;
}

static int parse_host_guest(struct ctx *c, const struct tok *host, const struct tok *guest,
                            struct vp_forward *f)
{
	const char *port = NULL;
	unsigned hn, gn;
	int r;

	r = parse_host_addr(c, host, f, &port);
	if (r < 0)
		return r;
	r = parse_range(c, port, (size_t)(host->s + host->len - port), &f->host_port,
	                &f->host_port_end);
	if (r < 0)
		return r;
	r = parse_range(c, guest->s, guest->len, &f->guest_port, &f->guest_port_end);
	if (r < 0)
		return r;
	hn = (unsigned)f->host_port_end - f->host_port + 1;
	gn = (unsigned)f->guest_port_end - f->guest_port + 1;
	if (hn == gn)
		return 0;
	if (hn == 1)
		return perr(c, guest->s, "host port %u is a single port but guest range %u-%u has %u "
		            "ports", f->host_port, f->guest_port, f->guest_port_end, gn);
	if (gn == 1)
		return perr(c, guest->s, "host range %u-%u has %u ports but guest port %u is a single "
		            "port", f->host_port, f->host_port_end, hn, f->guest_port);
	return perr(c, guest->s, "host range %u-%u has %u ports but guest range %u-%u has %u",
	            f->host_port, f->host_port_end, hn, f->guest_port, f->guest_port_end, gn);
}

/* ---- options ---- */

enum { OPT_FROM, OPT_NIC, OPT_NETWORK, OPT_IP, OPT_MASQUERADE, OPT_LOCAL, OPT_HAIRPIN, OPT_N };
static const char *const opt_names[OPT_N] = {
	"from", "nic", "network", "ip", "masquerade", "local", "hairpin",
};

static int parse_one_cidr(struct ctx *c, const char *s, size_t len, int family,
                          struct vp_cidr *ret)
{
	const char *slash = memchr(s, '/', len);
	unsigned long prefix;
	char net[VP_CIDR_STRLEN];
	struct vp_addr a;
	struct vp_cidr cidr, fixed;

	if (vp_cidr_parse(s, len, &cidr) == 0) {
		if (cidr.addr.family != family)
			return perr(c, s, "CIDR '%.*s' in from= is %s but the forward is %s", (int)len, s,
			            family_name(cidr.addr.family), family_name(family));
		*ret = cidr;
		return 0;
	}
	/* Tell "host bits set" apart from garbage: the fix is then obvious. */
	if (slash && vp_addr_parse(s, (size_t)(slash - s), &a) == 0 &&
	    vp_parse_uint(slash + 1, len - (size_t)(slash - s) - 1, 0,
	                  a.family == AF_INET ? 32 : 128, &prefix) == 0) {
		vp_cidr_from(&a, (unsigned)prefix, &fixed);
		return perr(c, s, "CIDR '%.*s' in from= has host bits set (did you mean %s?)",
		            (int)len, s, vp_cidr_str(&fixed, net));
	}
	return perr(c, s, "invalid CIDR '%.*s' in from= (expected ADDR[/PREFIX], e.g. "
	            "203.0.113.0/24)", (int)len, s);
}

static int parse_from(struct ctx *c, const char *v, size_t len, struct vp_forward *f)
{
	size_t n = 1, i = 0;
	const char *p = v, *end = v + len;
	int r = 0;

	for (size_t k = 0; k < len; k++)
		n += v[k] == ',';
	if (n > VP_TABLE_MAX_FROM)
		return perr(c, v, "too many CIDRs in from= (max %u)", VP_TABLE_MAX_FROM);
	f->from = calloc(n, sizeof(*f->from));
	if (!f->from)
		return -ENOMEM;
	while (i < n) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		const char *e = comma ? comma : end;
		r = parse_one_cidr(c, p, (size_t)(e - p), f->family, &f->from[i++]);
		if (r < 0)
			break;
		p = e + 1;
	}
	f->n_from = n;
	return r;
}

static int parse_ip(struct ctx *c, const char *v, size_t len, struct vp_forward *f)
{
	struct vp_addr a;

	if (vp_addr_parse(v, len, &a) < 0 || vp_addr_is_any(&a))
		return perr(c, v, "invalid address '%.*s' in ip= (expected the guest's IPv4 or IPv6 "
		            "address)", (int)len, v);
	if (a.family != f->family)
		return perr(c, v, "address '%.*s' in ip= is %s but the forward is %s", (int)len, v,
		            family_name(a.family), family_name(f->family));
	f->ip = a;
	return 0;
}

static int parse_bool_opt(struct ctx *c, const char *v, size_t len, int opt, bool *ret)
{
	if (len == 3 && memcmp(v, "yes", 3) == 0)
		*ret = true;
	else if (len == 2 && memcmp(v, "no", 2) == 0)
		*ret = false;
	else
		return perr(c, v, "invalid value '%.*s' for option '%s' (expected yes or no)", (int)len,
		            v, opt_names[opt]);
	return 0;
}

static int parse_value(struct ctx *c, int opt, const char *v, size_t len, struct vp_forward *f)
{
	switch (opt) {
	case OPT_FROM:
		return parse_from(c, v, len, f);
	case OPT_NIC:
		if (vp_mac_normalize(v, len, f->nic) < 0)
			return perr(c, v, "invalid MAC address '%.*s' in nic= (expected six hex pairs "
			            "such as 52:54:00:aa:bb:cc)", (int)len, v);
		return 0;
	case OPT_NETWORK:
		if (len > VP_DOMAIN_MAX || memchr(v, '/', len))
			return perr(c, v, "invalid network name '%.*s' in network= (expected a libvirt "
			            "network name: at most %u bytes, no '/')", (int)len, v, VP_DOMAIN_MAX);
		f->network = vp_strndup(v, len);
		return f->network ? 0 : -ENOMEM;
	case OPT_IP:
		return parse_ip(c, v, len, f);
	case OPT_MASQUERADE:
		return parse_bool_opt(c, v, len, opt, &f->masquerade);
	case OPT_LOCAL:
		return parse_bool_opt(c, v, len, opt, &f->local);
	default:
		return parse_bool_opt(c, v, len, opt, &f->hairpin);
	}
}

static int parse_option(struct ctx *c, const struct tok *tk, unsigned *seen, struct vp_forward *f)
{
	const char *eq = memchr(tk->s, '=', tk->len);
	size_t klen;
	int opt = -1;

	if (!eq)
		return perr(c, tk->s, "unexpected '%.*s' (expected an option key=value, or a comment "
		            "starting with '#')", (int)tk->len, tk->s);
	klen = (size_t)(eq - tk->s);
	for (int i = 0; i < OPT_N; i++)
		if (strlen(opt_names[i]) == klen && memcmp(opt_names[i], tk->s, klen) == 0)
			opt = i;
	if (opt < 0)
		return perr(c, tk->s, "unknown option '%.*s' (expected from, nic, network, ip, "
		            "masquerade, local or hairpin)", (int)klen, tk->s);
	if (*seen & (1u << opt))
		return perr(c, tk->s, "option '%s' given twice", opt_names[opt]);
	*seen |= 1u << opt;
	if (eq + 1 == tk->s + tk->len)
		return perr(c, tk->s, "missing value for option '%s' (expected %s=VALUE)",
		            opt_names[opt], opt_names[opt]);
	return parse_value(c, opt, eq + 1, (size_t)(tk->s + tk->len - eq - 1), f);
}

static int parse_forward(struct ctx *c, const struct tok *tv, size_t n)
{
	static const char *const missing[] = {"protocol", "host port", "guest port"};
	struct vp_forward f = {.local = true, .hairpin = true, .file = c->file, .line = c->line,
	                       .meta = c->meta};
	unsigned seen = 0;
	int r;

	if (n < 4) {
		r = perr(c, tv[0].s, "missing %s " USAGE, missing[n - 1]);
		goto out;
	}
	f.col = c->meta ? 0 : (unsigned)(tv[2].s - c->ls) + 1;
	r = parse_domain(c, &tv[0], &f);
	if (r >= 0)
		r = parse_proto(c, &tv[1], &f);
	if (r >= 0)
		r = parse_host_guest(c, &tv[2], &tv[3], &f);
	for (size_t i = 4; i < n && r >= 0; i++)
		r = parse_option(c, &tv[i], &seen, &f);
	if (r >= 0)
		r = table_add_forward(c->t, &f);
out:
	vp_forward_free(&f);
	return r;
}

/* ---- settings ---- */

enum { SET_BACKEND, SET_LEASE_WAIT, SET_ON_ERROR, SET_HOOK_TIMEOUT, SET_N };
static const char *const set_names[SET_N] = {"backend", "lease-wait", "on-error",
                                             "hook-timeout"};
static const char *const set_expect[SET_N] = {
	"auto, iptables-legacy, iptables-nft or nftables", "0-86400 seconds", "continue or abort",
	"1-600 seconds",
};
_Static_assert(VP_LEASE_WAIT_MAX == 86400, "keep set_expect in step");
_Static_assert(VP_HOOK_TIMEOUT_MAX == 600, "keep set_expect in step");
_Static_assert(SET_N <= VP_ARRAY_SIZE(((struct vp_table *)0)->set_line), "one line per setting");

static int set_value(struct ctx *c, int key, const struct tok *v)
{
	struct vp_settings *s = &c->t->set;
	unsigned long secs;

	switch (key) {
	case SET_BACKEND:
		for (int b = VP_BACKEND_AUTO; b <= VP_BACKEND_NFT; b++)
			if (tok_is(v, vp_backend_name(b))) {
				s->backend = (enum vp_backend_choice)b;
				return 0;
			}
		break;
	case SET_LEASE_WAIT:
		if (vp_parse_uint(v->s, v->len, 0, VP_LEASE_WAIT_MAX, &secs) == 0) {
			s->lease_wait = (unsigned)secs;
			return 0;
		}
		break;
	case SET_HOOK_TIMEOUT:
		if (vp_parse_uint(v->s, v->len, 1, VP_HOOK_TIMEOUT_MAX, &secs) == 0) {
			s->hook_timeout = (unsigned)secs;
			return 0;
		}
		break;
	default:
		if (tok_is(v, "continue") || tok_is(v, "abort")) {
			s->on_error_abort = tok_is(v, "abort");
			return 0;
		}
		break;
	}
	return perr(c, v->s, "invalid value '%.*s' for setting '%s' (expected %s)", (int)v->len,
	            v->s, set_names[key], set_expect[key]);
}

static int parse_set(struct ctx *c, const struct tok *tv, size_t n)
{
	struct vp_table *t = c->t;
	int key = -1, r;

	if (n < 2)
		return perr(c, tv[0].s, "missing setting name after 'set' (expected backend, "
		            "lease-wait, on-error or hook-timeout)");
	for (int i = 0; i < SET_N; i++)
		if (tok_is(&tv[1], set_names[i]))
			key = i;
	if (key < 0)
		return perr(c, tv[1].s, "unknown setting '%.*s' (expected backend, lease-wait, "
		            "on-error or hook-timeout)", (int)tv[1].len, tv[1].s);
	if (t->set_seen & (1u << key))
		return perr(c, tv[1].s, "setting '%s' was already given at %s:%u", set_names[key],
		            t->set_file[key], t->set_line[key]);
	if (n < 3)
		return perr(c, tv[1].s, "missing value for setting '%s' (expected %s)", set_names[key],
		            set_expect[key]);
	if (n > 3)
		return perr(c, tv[3].s, "unexpected '%.*s' after the value of setting '%s'",
		            (int)tv[3].len, tv[3].s, set_names[key]);
	r = set_value(c, key, &tv[2]);
	if (r < 0)
		return r;
	t->set_seen |= 1u << key;
	t->set_line[key] = c->line;
	t->set_file[key] = c->file;
	return 0;
}

/* ---- lines ---- */

/* p is at an opening quote; returns the byte after the closing quote, or NULL after an error. */
static const char *scan_quoted(struct ctx *c, const char *p, const char *end, int *ret)
{
	for (const char *q = p + 1; q < end; q++) {
		if (*q == '"')
			return q + 1;
		if (is_ctrl((unsigned char)*q)) {
			*ret = perr(c, q, "control character 0x%02x in quoted domain name",
			            (unsigned char)*q);
			return NULL;
		}
		/* a backslash at the end or before a control character: reported as such next */
		if (*q != '\\' || q + 1 == end || is_ctrl((unsigned char)q[1]))
			continue;
		if (q[1] != '"' && q[1] != '\\') {
			*ret = perr(c, q, "invalid escape '\\%c' in quoted domain name (expected \\\" or "
			            "\\\\)", q[1]);
			return NULL;
		}
		q++;
	}
	*ret = perr(c, p, "unterminated quoted domain name (missing closing '\"')");
	return NULL;
}

/* Split a line into fields; stops at a '#' outside quotes. */
static int tokenize(struct ctx *c, const char *p, const char *end, struct tok *tv, size_t *ret_n)
{
	size_t n = 0;
	int r = 0;

	for (;;) {
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if (p == end || *p == '#')
			break;
		if (n == MAX_TOKENS)
			return perr(c, p, "too many fields (expected at most 4 fields and 7 options)");
		tv[n] = (struct tok){.s = p, .quoted = *p == '"'};
		if (tv[n].quoted) {
			p = scan_quoted(c, p, end, &r);
			if (!p)
				return r;
			if (p < end && *p != ' ' && *p != '\t' && *p != '#')
				return perr(c, p, "unexpected '%c' after quoted domain name (expected a space)",
				            *p);
		}
		for (; p < end && *p != ' ' && *p != '\t' && *p != '#'; p++)
			if (is_ctrl((unsigned char)*p))
				return perr(c, p, "control character 0x%02x (outside comments only printable "
				            "text, spaces and tabs are allowed)", (unsigned char)*p);
		tv[n].len = (size_t)(p - tv[n].s);
		if (n > 0 && tv[n].quoted)
			return perr(c, tv[n].s, "unexpected quoted string (only a domain name may be "
			            "quoted)");
		n++;
	}
	*ret_n = n;
	return 0;
}

static int parse_line(struct ctx *c, const char *p, const char *end)
{
	struct tok tv[MAX_TOKENS];
	const char *nul;
	size_t n = 0;
	int r;

	c->ls = p;
	if (end > p && end[-1] == '\r')
		end--; /* CRLF */
	if ((size_t)(end - p) > VP_TABLE_MAX_LINE)
		return perr(c, p + VP_TABLE_MAX_LINE, "line too long (max %u bytes)",
		            VP_TABLE_MAX_LINE);
	nul = memchr(p, '\0', (size_t)(end - p));
	if (nul)
		return perr(c, nul, "NUL byte in file");
	r = tokenize(c, p, end, tv, &n);
	if (r < 0 || n == 0)
		return r;
	if (tok_is(&tv[0], "set"))
		return parse_set(c, tv, n);
	return parse_forward(c, tv, n);
}

int vp_table_parse(struct vp_table *t, const char *fname, const char *buf, size_t len,
                   struct vp_diags *d)
{
	struct ctx c = {.t = t, .d = d, .fname = fname};
	const char *p = buf, *end = buf + len;
	int r = table_add_file(t, fname, &c.file);

	if (r < 0)
		return r;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		c.line++;
		if (c.line > VP_TABLE_MAX_LINES) {
			c.ls = p;
			r = perr(&c, p, "too many lines (max %u)", VP_TABLE_MAX_LINES);
			break;
		}
		r = parse_line(&c, p, le);
		if (r == -ENOMEM)
			return r;
		p = nl ? nl + 1 : end;
	}
	if (r == -ENOMEM)
		return r;
	return c.errors ? -EINVAL : 0;
}

int vp_table_add_words(struct vp_table *t, const char *file, unsigned index,
                       const char *const *words, size_t n, struct vp_diags *d)
{
	struct ctx c = {.t = t, .d = d, .fname = file, .line = index, .meta = true};
	struct tok tv[4 + VP_META_MAX_ATTRS];
	int r;

	if (n < 4 || n > VP_ARRAY_SIZE(tv))
		return -EINVAL;
	r = table_add_file(t, file, &c.file);
	for (size_t i = 0; i < n; i++)
		tv[i] = (struct tok){.s = words[i], .len = strlen(words[i])};
	if (r == 0)
		r = parse_forward(&c, tv, n);
	return r;
}
