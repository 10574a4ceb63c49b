/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ctnetlink: IPCTNL_MSG_CT_GET with NLM_F_DUMP for one family, the entries of ours picked out,
 * then IPCTNL_MSG_CT_DELETE for each by its original tuple and id. Deleting an entry is safe at
 * any time: the next packet of its flow is a new connection to the NAT rules, which now send it
 * where the table says (a UDP flow moves; a TCP flow is no longer known and is answered with a
 * reset or dropped, so the client sees its connection end). */
#include "conntrack.h"


#include <errno.h>
#include <ifaddrs.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netlink.h>
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

#define CT_RECV (32u << 10)     /* one buffer of the dump */
#define CT_TUPLE_MAX 160        /* an original tuple as the kernel sends it: ~100 bytes for IPv6 */
#define CT_ROUND_MAX 16384      /* entries collected per dump; more take another dump */
#define CT_ROUNDS 8
#define CT_WAIT_S 2             /* a kernel that does not answer cannot hold the hook for long */
/* The kernel's CTA_FILTER_F_CTA_IP_SRC (net/netfilter/nf_conntrack_netlink.c; not in uapi). */
#define CT_FILTER_IP_SRC (1u << 0)

bool vp_dnat_equal(const struct vp_dnat *a, const struct vp_dnat *b)
{
	return a->family == b->family && a->proto == b->proto && a->hport == b->hport &&
	       a->hport_end == b->hport_end && a->gport == b->gport &&
	       a->gport_end == b->gport_end && a->host.family == b->host.family &&
	       (!a->host.family || vp_addr_equal(&a->host, &b->host)) &&
	       vp_addr_equal(&a->guest, &b->guest);
}

/* ---- requests ---------------------------------------------------------------------------- */

struct req {
	char *buf;
	size_t cap, len;
	int err;
};

static void put(struct req *q, uint16_t type, const void *data, size_t len)
{
	struct nlattr a = {.nla_len = (uint16_t)(NLA_HDRLEN + len), .nla_type = type};

	if (q->err || q->len + NLA_ALIGN(NLA_HDRLEN + len) > q->cap) {
		q->err = -ENOBUFS;
		return;
	}
	memset(q->buf + q->len, 0, NLA_ALIGN(NLA_HDRLEN + len));
	memcpy(q->buf + q->len, &a, sizeof(a));
	if (len)
		memcpy(q->buf + q->len + NLA_HDRLEN, data, len);
	q->len += NLA_ALIGN(NLA_HDRLEN + len);
}

/* A nested attribute: opened empty, its length set by nest_end. */
static size_t nest_begin(struct req *q, uint16_t type)
{
	size_t at = q->len;
	put(q, (uint16_t)(type | NLA_F_NESTED), NULL, 0);
	return at;
}

static void nest_end(struct req *q, size_t at)
{
	uint16_t len = (uint16_t)(q->len - at);
	if (!q->err)
		memcpy(q->buf + at, &len, sizeof(len));
}

static void req_init(struct req *q, void *buf, size_t cap, uint32_t seq, int family,
                     uint16_t type, uint16_t flags)
{
	struct nlmsghdr h = {.nlmsg_type = (uint16_t)(NFNL_SUBSYS_CTNETLINK << 8 | type),
	                     .nlmsg_flags = (uint16_t)(NLM_F_REQUEST | flags), .nlmsg_seq = seq};
	struct nfgenmsg g = {.nfgen_family = (uint8_t)family, .version = NFNETLINK_V0};

	*q = (struct req){.buf = buf, .cap = cap, .len = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(g))};
	if (cap < q->len) {
		q->err = -ENOBUFS;
		return;
	}
	memset(buf, 0, q->len);
	memcpy(q->buf, &h, sizeof(h));
	memcpy(q->buf + NLMSG_HDRLEN, &g, sizeof(g));
}

static int req_end(struct req *q)
{
	uint32_t len = (uint32_t)q->len;

	if (q->err)
		return q->err;
	memcpy(q->buf, &len, sizeof(len));   /* nlmsg_len comes first */
	return (int)q->len;
}

int vp_ct_build_dump(void *buf, size_t cap, uint32_t seq, int family,
                     const struct vp_addr *reply_src)
{
	struct req q;
	uint32_t flags = CT_FILTER_IP_SRC;
	bool v6 = family == AF_INET6;

	req_init(&q, buf, cap, seq, family, IPCTNL_MSG_CT_GET, NLM_F_DUMP);
	if (reply_src && reply_src->family == family) {
		size_t f = nest_begin(&q, CTA_FILTER);
		put(&q, CTA_FILTER_REPLY_FLAGS, &flags, sizeof(flags));
		nest_end(&q, f);
		size_t t = nest_begin(&q, CTA_TUPLE_REPLY), ip = nest_begin(&q, CTA_TUPLE_IP);
		put(&q, v6 ? CTA_IP_V6_SRC : CTA_IP_V4_SRC, &reply_src->v6, v6 ? 16 : 4);
		nest_end(&q, ip);
		nest_end(&q, t);
	}
	return req_end(&q);
}

int vp_ct_build_delete(void *buf, size_t cap, uint32_t seq, const struct vp_ct_entry *e)
{
	struct req q;
	size_t len = e->orig_tuple_len;

	req_init(&q, buf, cap, seq, e->family, IPCTNL_MSG_CT_DELETE, NLM_F_ACK);
	/* The tuple attribute as the kernel sent it, header included: its type and nested flag. */
	if (!q.err && (len < NLA_HDRLEN || q.len + NLA_ALIGN(len) > cap))
		q.err = -ENOBUFS;
	if (!q.err) {
		memset(q.buf + q.len, 0, NLA_ALIGN(len));
		memcpy(q.buf + q.len, e->orig_tuple, len);
		q.len += NLA_ALIGN(len);
	}
	if (e->has_id)
		put(&q, CTA_ID, &e->id, sizeof(e->id));
	if (e->has_zone)
		put(&q, CTA_ZONE, &e->zone, sizeof(e->zone));
	return req_end(&q);
}

/* ---- the parser -------------------------------------------------------------------------- */

#define TB_MAX 32   /* above every attribute number we look at */

/* The attributes in p[0..len) into tb[0..TB_MAX); a repeated one keeps the last. */
static int attrs(const char *p, size_t len, const char **tb)
{
	memset(tb, 0, TB_MAX * sizeof(*tb));
	for (size_t off = 0; off + NLA_HDRLEN <= len;) {
		struct nlattr a;
		memcpy(&a, p + off, sizeof(a));
		if (a.nla_len < NLA_HDRLEN || a.nla_len > len - off)
			return -EBADMSG;
		if ((a.nla_type & NLA_TYPE_MASK) < TB_MAX)
			tb[a.nla_type & NLA_TYPE_MASK] = p + off;
		off += NLA_ALIGN(a.nla_len);
	}
	return 0;
}

/* An attribute's length, read without assuming the buffer is aligned (a fuzzer's is not). */
static size_t alen(const char *a)
{
	uint16_t n;
	memcpy(&n, a, sizeof(n));   /* nla_len comes first */
	return n;
}

static int nested(const char *a, const char **tb)
{
	if (!a)
		return -EBADMSG;
	return attrs(a + NLA_HDRLEN, alen(a) - NLA_HDRLEN, tb);
}

/* The payload of a, exactly n bytes, into out. */
static int fixed(const char *a, void *out, size_t n)
{
	if (!a || alen(a) != NLA_HDRLEN + n)
		return -EBADMSG;
	memcpy(out, a + NLA_HDRLEN, n);
	return 0;
}

/* One tuple: the address src or dst, the port src or dst and the protocol. */
static int tuple(const char *t, int family, bool want_src, struct vp_addr *addr,
                 uint16_t *port, uint8_t *proto)
{
	const char *tb[TB_MAX], *ip[TB_MAX], *pr[TB_MAX];
	bool v6 = family == AF_INET6;
	uint16_t be;
	int r = nested(t, tb);

	if (r == 0)
		r = nested(tb[CTA_TUPLE_IP], ip);
	if (r == 0)
		r = nested(tb[CTA_TUPLE_PROTO], pr);
	if (r < 0)
		return r;
	memset(addr, 0, sizeof(*addr));
	addr->family = family;
	r = fixed(ip[v6 ? (want_src ? CTA_IP_V6_SRC : CTA_IP_V6_DST)
	                : (want_src ? CTA_IP_V4_SRC : CTA_IP_V4_DST)], &addr->v6, v6 ? 16 : 4);
	if (r == 0)
		r = fixed(pr[CTA_PROTO_NUM], proto, 1);
	/* Port-less protocols (ICMP) are never ours: port 0 matches no forward. */
	*port = fixed(pr[want_src ? CTA_PROTO_SRC_PORT : CTA_PROTO_DST_PORT], &be, 2) == 0 ?
	        ntohs(be) : 0;
	return r;
}

static int entry(const char **tb, int family, struct vp_ct_entry *e)
{
	uint8_t reply_proto;
	uint32_t status = 0;
	int r;

	memset(e, 0, sizeof(*e));
	e->family = family;
	r = tuple(tb[CTA_TUPLE_ORIG], family, false, &e->orig_dst, &e->orig_dport, &e->proto);
	if (r == 0)
		r = tuple(tb[CTA_TUPLE_REPLY], family, true, &e->reply_src, &e->reply_sport,
		          &reply_proto);
	if (r == 0)
		r = fixed(tb[CTA_STATUS], &status, sizeof(status));
	if (r < 0)
		return r;
	e->status = ntohl(status);
	e->has_id = fixed(tb[CTA_ID], &e->id, sizeof(e->id)) == 0;
	e->has_zone = fixed(tb[CTA_ZONE], &e->zone, sizeof(e->zone)) == 0;
	e->orig_tuple = tb[CTA_TUPLE_ORIG];
	e->orig_tuple_len = alen(tb[CTA_TUPLE_ORIG]);
	return e->orig_tuple_len <= CT_TUPLE_MAX ? 0 : -EBADMSG;
}

int vp_ct_parse(const void *msg, size_t len, struct vp_ct_entry *ret)
{
	const size_t hl = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct nfgenmsg));
	const char *tb[TB_MAX];
	struct nlmsghdr h;
	struct nfgenmsg g;
	int r;

	if (len < sizeof(h))
		return -EBADMSG;
	memcpy(&h, msg, sizeof(h));
	if (h.nlmsg_len < NLMSG_HDRLEN || h.nlmsg_len > len)
		return -EBADMSG;
	if (h.nlmsg_type == NLMSG_DONE)
		return 1;
	if (h.nlmsg_type == NLMSG_ERROR) {
		struct nlmsgerr e;
		if (h.nlmsg_len < NLMSG_LENGTH(sizeof(e)))
			return -EBADMSG;
		memcpy(&e, (const char *)msg + NLMSG_HDRLEN, sizeof(e));
		return e.error == 0 ? 1 : e.error < 0 && e.error > -4096 ? e.error : -EBADMSG;
	}
	if (h.nlmsg_type != (NFNL_SUBSYS_CTNETLINK << 8 | IPCTNL_MSG_CT_NEW) || h.nlmsg_len < hl)
		return -EBADMSG;
	memcpy(&g, (const char *)msg + NLMSG_HDRLEN, sizeof(g));
	if (g.nfgen_family != AF_INET && g.nfgen_family != AF_INET6)
		return -EBADMSG;
	r = attrs((const char *)msg + hl, h.nlmsg_len - hl, tb);
	return r < 0 ? r : entry(tb, g.nfgen_family, ret);
}

bool vp_ct_match(const struct vp_ct_entry *e, const struct vp_dnat *d)
{
	return (e->status & IPS_DST_NAT) && e->family == d->family && e->proto == d->proto &&
	       e->orig_dport >= d->hport && e->orig_dport <= d->hport_end &&
	       (!d->host.family || vp_addr_equal(&e->orig_dst, &d->host)) &&
	       vp_addr_equal(&e->reply_src, &d->guest) &&
	       e->reply_sport >= d->gport && e->reply_sport <= d->gport_end;
}

static bool is_local(const struct vp_ct_sel *s, const struct vp_addr *a)
{
	for (size_t i = 0; i < s->n_local; i++)
		if (vp_addr_equal(&s->local[i], a))
			return true;
	return false;
}

/* Entry e went to the host's own address on a port of added DNAT d, with no NAT at all. */
static bool bound_to_host(const struct vp_ct_sel *s, const struct vp_ct_entry *e,
                          const struct vp_dnat *d)
{
	return !(e->status & (IPS_SRC_NAT | IPS_DST_NAT)) && d->proto == IPPROTO_UDP &&
	       e->family == d->family && e->proto == d->proto && e->orig_dport >= d->hport &&
	       e->orig_dport <= d->hport_end &&
	       (d->host.family ? vp_addr_equal(&e->orig_dst, &d->host) : is_local(s, &e->orig_dst));
}

bool vp_ct_selected(const struct vp_ct_sel *s, const struct vp_ct_entry *e)
{
	bool hit = false;

	for (size_t i = 0; !hit && i < s->n_added; i++)
		hit = bound_to_host(s, e, &s->added[i]);
	if (hit)
		return true;
	for (size_t i = 0; !hit && i < s->n_gone; i++)
		hit = vp_ct_match(e, &s->gone[i]);
	for (size_t i = 0; hit && i < s->n_keep; i++)
		hit = !vp_ct_match(e, &s->keep[i]);
	return hit;
}

/* ---- the table --------------------------------------------------------------------------- */

struct victim {
	unsigned char tuple[CT_TUPLE_MAX];
	struct vp_ct_entry e;   /* e.orig_tuple points at tuple once taken */
};

struct sweep {
	int family;
	const struct vp_ct_sel *sel;
	struct victim *v;
	size_t n, cap;
	bool full;              /* more than CT_ROUND_MAX: another round after this one */
};

static int take(struct sweep *s, const struct vp_ct_entry *e)
{
	if (s->n == CT_ROUND_MAX) {
		s->full = true;
		return 0;
	}
	if (s->n == s->cap && vp_grow(&s->v, &s->cap, s->n + 1, sizeof(*s->v)) < 0)
		return -ENOMEM;
	struct victim *v = &s->v[s->n++];
	v->e = *e;
	memcpy(v->tuple, e->orig_tuple, e->orig_tuple_len);
	v->e.orig_tuple = NULL;   /* set when used: the array may move while it grows */
	return 0;
}

/* One buffer of the dump: 1 at its end, 0 for more, -errno. */
static int dump_buffer(struct sweep *s, const char *buf, size_t n)
{
	struct vp_ct_entry e;
	int r = 0;

	for (size_t off = 0; r == 0 && off + NLMSG_HDRLEN <= n;) {
		struct nlmsghdr h;
		memcpy(&h, buf + off, sizeof(h));
		r = vp_ct_parse(buf + off, n - off, &e);
		if (r == 0 && vp_ct_selected(s->sel, &e))
			r = take(s, &e);
		off += NLMSG_ALIGN(h.nlmsg_len);
	}
	return r;
}

/* A socket whose every wait ends within CT_WAIT_S, or by the deadline if that comes first. */
static int sock_open(long long deadline)
{
	unsigned ms = vp_wait_ms(deadline, CT_WAIT_S * 1000);
	struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = ms % 1000 * 1000};
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);

	if (fd < 0)
		return -errno;
	if (!ms)
		tv.tv_usec = 1;   /* 0 would wait for ever; the first recv finds the deadline passed */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

static int send_req(int fd, const void *buf, size_t len)
{
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
	return sendto(fd, buf, len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0 ? -errno : 0;
}

/* recv into buf: the length, or -errno (-EMSGSIZE when the message did not fit). */
static ssize_t recv_one(int fd, char *buf, size_t cap)
{
	ssize_t n;

	do
		n = recv(fd, buf, cap, MSG_TRUNC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n == 0 ? -EBADMSG : (size_t)n > cap ? -EMSGSIZE : n;
}

static int dump(int fd, struct sweep *s, uint32_t seq, const struct vp_addr *reply_src, char *buf)
{
	int r = vp_ct_build_dump(buf, CT_RECV, seq, s->family, reply_src);

	if (r > 0)
		r = send_req(fd, buf, (size_t)r);
	while (r == 0) {
		ssize_t n = vp_deadline_passed(s->sel->deadline) ? -ETIMEDOUT
		                                                 : recv_one(fd, buf, CT_RECV);
		r = n < 0 ? (int)n : dump_buffer(s, buf, (size_t)n);
	}
	return r == 1 ? 0 : r;
}

/* Delete the victims, each acknowledged; one already gone is no error. */
static int delete_all(int fd, struct sweep *s, uint32_t *seq, char *buf, unsigned *deleted)
{
	for (size_t i = 0; i < s->n; i++) {
		struct vp_ct_entry e = s->v[i].e;
		e.orig_tuple = s->v[i].tuple;
		int r = vp_deadline_passed(s->sel->deadline) ? -ETIMEDOUT
		        : vp_ct_build_delete(buf, CT_RECV, ++*seq, &e);
		if (r > 0)
			r = send_req(fd, buf, (size_t)r);
		ssize_t n = r < 0 ? r : recv_one(fd, buf, CT_RECV);
		r = n < 0 ? (int)n : vp_ct_parse(buf, (size_t)n, &e);
		if (r == -ENOENT)
			continue;   /* it ended meanwhile */
		if (r != 1)
			return r < 0 ? r : -EBADMSG;
		(*deleted)++;
	}
	return 0;
}

/* Whether a DNAT of sel's is in family; *ret_filter the guest address every one shares there
 * (the kernel then sends only the entries whose reply comes from it), or NULL. */
static bool family_concerned(const struct vp_ct_sel *sel, int family,
                             const struct vp_addr **ret_filter)
{
	const struct vp_addr *g = NULL;
	bool any = false;

	for (size_t i = 0; i < sel->n_gone; i++) {
		if (sel->gone[i].family != family)
			continue;
		if (!any)
			g = &sel->gone[i].guest;
		else if (g && !vp_addr_equal(g, &sel->gone[i].guest))
			g = NULL;
		any = true;
	}
	for (size_t i = 0; i < sel->n_added; i++) {
		if (sel->added[i].family == family) {
			g = NULL;   /* the entries bound to the host come from clients */
			any = true;
		}
	}
	/* IPv6: the kernel's filter is not used. Linux 6.18 returned every entry but those of the
	 * address asked for (conntrack-udp-move6 found none to end with it). */
	*ret_filter = family == AF_INET ? g : NULL;
	return any;
}

/* The rounds of one family: a dump, the deletions, again while a round was full. */
static int flush_family(int fd, struct sweep *s, uint32_t *seq, char *buf, unsigned *deleted)
{
	const struct vp_addr *filter;
	int r = 0;

	if (!family_concerned(s->sel, s->family, &filter))
		return 0;   /* nothing of this family: no I/O */
	s->full = true;
	for (unsigned round = 0; r >= 0 && s->full && round < CT_ROUNDS; round++) {
		s->n = 0;
		s->full = false;
		r = dump(fd, s, ++*seq, filter, buf);
		if (r < 0 && r != -ENOMEM && r != -ETIMEDOUT && filter && !s->n) {
			filter = NULL;   /* a kernel without CTA_FILTER may refuse it: ask for all */
			s->full = true;
			r = 0;
			continue;
		}
		if (r >= 0)
			r = delete_all(fd, s, seq, buf, deleted);
	}
	return r;
}

/* The host's addresses into sel (for added DNATs on any local address). */
static int local_addrs(struct vp_ct_sel *sel, struct vp_addr **ret)
{
	struct ifaddrs *ifa, *i;
	size_t n = 0, cap = 0;

	*ret = NULL;
	if (getifaddrs(&ifa) < 0)
		return -errno;
	for (i = ifa; i; i = i->ifa_next) {
		int fam = i->ifa_addr ? i->ifa_addr->sa_family : 0;
		if (fam != AF_INET && fam != AF_INET6)
			continue;
		if (n == cap && vp_grow(ret, &cap, n + 1, sizeof(**ret)) < 0)
			break;
		(*ret)[n] = (struct vp_addr){.family = fam};
		if (fam == AF_INET)
			(*ret)[n++].v4 = ((const struct sockaddr_in *)(const void *)i->ifa_addr)->sin_addr;
		else
			(*ret)[n++].v6 = ((const struct sockaddr_in6 *)(const void *)i->ifa_addr)->sin6_addr;
	}
	freeifaddrs(ifa);
	sel->local = *ret;
	sel->n_local = n;
	return 0;
}

int vp_ct_flush(const struct vp_ct_sel *sel, unsigned *ret_deleted)
{
	struct vp_ct_sel s = *sel;
	struct sweep w = {.sel = &s};
	struct vp_addr *local = NULL;
	const struct vp_addr *filter;
	uint32_t seq = (uint32_t)time(NULL);
	unsigned deleted = 0;
	char *buf = NULL;
	int fd = -1, r = 0;

	if (!family_concerned(&s, AF_INET, &filter) && !family_concerned(&s, AF_INET6, &filter))
		goto out;   /* nothing gone, nothing added: no socket */
	if (s.n_added && (r = local_addrs(&s, &local)) < 0)
		goto out;
	buf = malloc(CT_RECV);
	fd = r = buf ? sock_open(s.deadline) : -ENOMEM;
	for (int i = 0; r >= 0 && i < 2; i++) {
		w.family = i ? AF_INET6 : AF_INET;
		r = flush_family(fd, &w, &seq, buf, &deleted);
	}
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	free(w.v);
	free(local);
	if (ret_deleted)
		*ret_deleted = deleted;
	return r < 0 ? r : 0;
}
