/* SPDX-License-Identifier: GPL-2.0-or-later */
/* nf_tables over netlink: NFT_MSG_GET* for one table or chain (no NLM_F_DUMP: the kernel
 * answers from its lookup), one chain's rules from the top, read until enough, and one batch of
 * deletions by handle. */
#include "nfnl.h"

#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nf_tables_compat.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define REPLY_MAX (64u << 10)   /* one buffer of a reply; a rule of ours is far smaller */
#define HEAD_RECV (16u << 10)   /* one buffer of a chain's head: 40 rules of ours and more */
#define UDATA_COMMENT 0         /* libnftnl's NFTNL_UDATA_RULE_COMMENT: a NUL-ended string */
#define NEST_MAX 16             /* the largest attribute number we look at, plus room */

int vp_nfnl_open(struct vp_nfnl *q)
{
	q->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
	q->seq = (uint32_t)time(NULL);
	return q->fd < 0 ? -errno : 0;
}

void vp_nfnl_close(struct vp_nfnl *q)
{
	if (q && q->fd >= 0) {
		close(q->fd);
		q->fd = -1;
	}
}

/* ---- requests ---------------------------------------------------------------------------- */

struct msg {
	char buf[1024];
	size_t len;
	int err;
};

static void msg_put(struct msg *m, uint16_t type, const void *data, size_t len)
{
	struct nlattr a = {.nla_len = (uint16_t)(NLA_HDRLEN + len), .nla_type = type};

	if (m->err || len > 512 || m->len + NLA_ALIGN(NLA_HDRLEN + len) > sizeof(m->buf)) {
		m->err = -ENAMETOOLONG;
		return;
	}
	memset(m->buf + m->len, 0, NLA_ALIGN(NLA_HDRLEN + len));
	memcpy(m->buf + m->len, &a, sizeof(a));
	memcpy(m->buf + m->len + NLA_HDRLEN, data, len);
	m->len += NLA_ALIGN(NLA_HDRLEN + len);
}

static void msg_put_str(struct msg *m, uint16_t type, const char *s)
{
	msg_put(m, type, s, strlen(s) + 1);
}

static void msg_init(struct msg *m, struct vp_nfnl *q, int family, uint16_t type, uint16_t flags)
{
	struct nlmsghdr h = {.nlmsg_type = (uint16_t)(NFNL_SUBSYS_NFTABLES << 8 | type),
	                     .nlmsg_flags = (uint16_t)(NLM_F_REQUEST | flags),
	                     .nlmsg_seq = ++q->seq};
	struct nfgenmsg g = {.nfgen_family = (uint8_t)family, .version = NFNETLINK_V0};

	memset(m, 0, sizeof(*m));
	memcpy(m->buf, &h, sizeof(h));
	memcpy(m->buf + NLMSG_HDRLEN, &g, sizeof(g));
	m->len = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(g));
}

static int msg_send(struct vp_nfnl *q, struct msg *m)
{
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};

	if (m->err)
		return m->err;
	((struct nlmsghdr *)m->buf)->nlmsg_len = (uint32_t)m->len;
	if (sendto(q->fd, m->buf, m->len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
		return -errno;
	return 0;
}

/* ---- replies ----------------------------------------------------------------------------- */

/* The attributes in p[0..len) into tb[1..max]; a repeated one keeps the last. */
static int attrs_parse(const char *p, size_t len, const struct nlattr **tb, size_t max)
{
	for (size_t off = 0; off + NLA_HDRLEN <= len;) {
		const struct nlattr *a = (const struct nlattr *)(p + off);
		if (a->nla_len < NLA_HDRLEN || off + a->nla_len > len)
			return -EBADMSG;
		if ((a->nla_type & NLA_TYPE_MASK) <= max)
			tb[a->nla_type & NLA_TYPE_MASK] = a;
		off += NLA_ALIGN(a->nla_len);
	}
	return 0;
}

static const char *payload(const struct nlattr *a)
{
	return (const char *)a + NLA_HDRLEN;
}

static size_t payload_len(const struct nlattr *a)
{
	return a->nla_len - NLA_HDRLEN;
}

static int nested(const struct nlattr *a, const struct nlattr **tb, size_t max)
{
	memset(tb, 0, (max + 1) * sizeof(*tb));
	return a ? attrs_parse(payload(a), payload_len(a), tb, max) : -EBADMSG;
}

static int attr_u32(const struct nlattr *a, uint32_t *ret)
{
	uint32_t v;

	if (!a || payload_len(a) != sizeof(v))
		return -EBADMSG;
	memcpy(&v, payload(a), sizeof(v));
	*ret = ntohl(v);
	return 0;
}

/* A string attribute (or the string at the start of a binary one) into buf. */
static void attr_text(const struct nlattr *a, char *buf, size_t bufsz)
{
	size_t n = strnlen(payload(a), payload_len(a));

	if (n >= bufsz)
		n = bufsz - 1;
	memcpy(buf, payload(a), n);
	buf[n] = '\0';
}

/* The attributes of a reply message; NLMSG_ERROR becomes its errno. */
static int msg_attrs(const struct nlmsghdr *h, const struct nlattr **tb, size_t max)
{
	size_t hl = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct nfgenmsg));

	if (h->nlmsg_type == NLMSG_ERROR) {
		const struct nlmsgerr *e = NLMSG_DATA(h);
		return h->nlmsg_len >= NLMSG_LENGTH(sizeof(*e)) && e->error < 0 ? e->error : -EBADMSG;
	}
	if (h->nlmsg_len < hl)
		return -EBADMSG;
	memset(tb, 0, (max + 1) * sizeof(*tb));
	return attrs_parse((const char *)h + hl, h->nlmsg_len - hl, tb, max);
}

/* Send one request for one object and take its reply's attributes (pointing into reply). */
static int get_one(struct vp_nfnl *q, struct msg *m, char *reply, size_t replysz,
                   const struct nlattr **tb, size_t max)
{
	uint32_t seq = ((struct nlmsghdr *)m->buf)->nlmsg_seq;
	int r = msg_send(q, m);
	ssize_t n;

	if (r < 0)
		return r;
	do {   /* every earlier request was answered in full: this reply is the next message */
		n = recv(q->fd, reply, replysz, MSG_TRUNC);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	const struct nlmsghdr *h = (const struct nlmsghdr *)reply;
	if ((size_t)n > replysz || !NLMSG_OK(h, (size_t)n) || h->nlmsg_seq != seq)
		return -EBADMSG;
	return msg_attrs(h, tb, max);
}

/* ---- rules ------------------------------------------------------------------------------- */

/* The comment in a rule's user data: records of a one-byte type and a one-byte length. */
static int udata_comment(const struct nlattr *a, char *buf, size_t bufsz)
{
	const unsigned char *p = (const unsigned char *)payload(a);
	size_t len = payload_len(a);

	for (size_t off = 0; off + 2 <= len; off += 2u + p[off + 1]) {
		size_t vl = p[off + 1], sl;
		if (off + 2 + vl > len)
			return -EBADMSG;
		if (p[off] != UDATA_COMMENT)
			continue;
		sl = strnlen((const char *)p + off + 2, vl);
		if (sl >= bufsz)
			sl = bufsz - 1;
		memcpy(buf, p + off + 2, sl);
		buf[sl] = '\0';
		return 0;
	}
	return 0;
}

/* An immediate verdict: the chain of a jump or goto. */
static void expr_immediate(const struct nlattr *data, struct vp_nfnl_rule *r)
{
	const struct nlattr *it[NEST_MAX + 1], *dt[NEST_MAX + 1], *vt[NEST_MAX + 1];
	uint32_t code;

	if (nested(data, it, NFTA_IMMEDIATE_MAX) < 0 ||
	    nested(it[NFTA_IMMEDIATE_DATA], dt, NFTA_DATA_MAX) < 0 ||
	    nested(dt[NFTA_DATA_VERDICT], vt, NFTA_VERDICT_MAX) < 0 ||
	    attr_u32(vt[NFTA_VERDICT_CODE], &code) < 0)
		return;
	if (((int32_t)code == NFT_JUMP || (int32_t)code == NFT_GOTO) && vt[NFTA_VERDICT_CHAIN])
		attr_text(vt[NFTA_VERDICT_CHAIN], r->jump, sizeof(r->jump));
}

/* An xt match (iptables-nft's compat expression): the text of a "comment" match. */
static void expr_match(const struct nlattr *data, struct vp_nfnl_rule *r)
{
	const struct nlattr *mt[NEST_MAX + 1];
	char name[32];

	if (nested(data, mt, NFTA_MATCH_MAX) < 0 || !mt[NFTA_MATCH_NAME] || !mt[NFTA_MATCH_INFO])
		return;
	attr_text(mt[NFTA_MATCH_NAME], name, sizeof(name));
	if (!strcmp(name, "comment"))
		attr_text(mt[NFTA_MATCH_INFO], r->xt_comment, sizeof(r->xt_comment));
}

static int rule_exprs(const struct nlattr *list, struct vp_nfnl_rule *r)
{
	const char *p = payload(list);
	size_t len = payload_len(list);

	for (size_t off = 0; off + NLA_HDRLEN <= len;) {
		const struct nlattr *elem = (const struct nlattr *)(p + off), *et[NEST_MAX + 1];
		char name[32];
		if (elem->nla_len < NLA_HDRLEN || off + elem->nla_len > len)
			return -EBADMSG;
		off += NLA_ALIGN(elem->nla_len);
		if (nested(elem, et, NFTA_EXPR_MAX) < 0 || !et[NFTA_EXPR_NAME] || !et[NFTA_EXPR_DATA])
			continue;
		attr_text(et[NFTA_EXPR_NAME], name, sizeof(name));
		if (!strcmp(name, "immediate"))
			expr_immediate(et[NFTA_EXPR_DATA], r);
		else if (!strcmp(name, "match"))
			expr_match(et[NFTA_EXPR_DATA], r);
	}
	return 0;
}

static int rule_from(const struct nlattr **tb, struct vp_nfnl_rule *r)
{
	uint64_t handle;

	memset(r, 0, sizeof(*r));
	if (!tb[NFTA_RULE_HANDLE] || payload_len(tb[NFTA_RULE_HANDLE]) != sizeof(handle))
		return -EBADMSG;
	memcpy(&handle, payload(tb[NFTA_RULE_HANDLE]), sizeof(handle));
	r->handle = be64toh(handle);
	if (tb[NFTA_RULE_USERDATA] && udata_comment(tb[NFTA_RULE_USERDATA], r->comment,
	                                            sizeof(r->comment)) < 0)
		return -EBADMSG;
	return tb[NFTA_RULE_EXPRESSIONS] ? rule_exprs(tb[NFTA_RULE_EXPRESSIONS], r) : 0;
}

/* ---- the questions ----------------------------------------------------------------------- */

/* The use count (attribute use_attr of the reply to type, attributes up to max) of a table
 * (chain NULL: how many chains it has) or of a chain (how many rules); with ret_handle, the
 * 64-bit attribute handle_attr too (-ENODATA when the kernel sends none). */
static int get_use(struct vp_nfnl *q, int family, uint16_t type, const char *table,
                   const char *chain, uint16_t max, uint16_t use_attr, unsigned *ret_use,
                   uint16_t handle_attr, uint64_t *ret_handle)
{
	const struct nlattr *tb[NFTA_CHAIN_MAX > NFTA_TABLE_MAX ? NFTA_CHAIN_MAX + 1 :
	                        NFTA_TABLE_MAX + 1];
	struct msg m;
	char reply[4096];
	uint32_t use;
	uint64_t handle;
	int r;

	msg_init(&m, q, family, type, 0);
	if (chain) {
		msg_put_str(&m, NFTA_CHAIN_TABLE, table);
		msg_put_str(&m, NFTA_CHAIN_NAME, chain);
	} else {
		msg_put_str(&m, NFTA_TABLE_NAME, table);
	}
	r = get_one(q, &m, reply, sizeof(reply), tb, max);
	if (r == 0)
		r = attr_u32(tb[use_attr], &use);
	if (r == 0 && ret_handle) {
		if (!tb[handle_attr] || payload_len(tb[handle_attr]) != sizeof(handle))
			return -ENODATA;
		memcpy(&handle, payload(tb[handle_attr]), sizeof(handle));
		*ret_handle = be64toh(handle);
	}
	if (r == 0)
		*ret_use = use;
	return r;
}

int vp_nfnl_table(struct vp_nfnl *q, int family, const char *table, unsigned *ret_use)
{
	return get_use(q, family, NFT_MSG_GETTABLE, table, NULL, NFTA_TABLE_MAX, NFTA_TABLE_USE,
	               ret_use, 0, NULL);
}

int vp_nfnl_table_handle(struct vp_nfnl *q, int family, const char *table, unsigned *ret_use,
                        uint64_t *ret_handle)
{
	return get_use(q, family, NFT_MSG_GETTABLE, table, NULL, NFTA_TABLE_MAX, NFTA_TABLE_USE,
	               ret_use, NFTA_TABLE_HANDLE, ret_handle);
}

int vp_nfnl_chain_use(struct vp_nfnl *q, int family, const char *table, const char *chain,
                     unsigned *ret_use)
{
	return get_use(q, family, NFT_MSG_GETCHAIN, table, chain, NFTA_CHAIN_MAX, NFTA_CHAIN_USE,
	               ret_use, 0, NULL);
}

/* One buffer of a dump: each rule to fn, until it returns non-zero. */
static int head_buffer(const char *buf, size_t n, int (*fn)(const struct vp_nfnl_rule *, void *),
                       void *data, struct vp_nfnl_rule *rule, bool *done)
{
	const struct nlattr *tb[NFTA_RULE_MAX + 1];
	int r = 0;

	for (const struct nlmsghdr *h = (const struct nlmsghdr *)buf; r == 0 && NLMSG_OK(h, n);
	     h = NLMSG_NEXT(h, n)) {
		if (h->nlmsg_type == NLMSG_DONE) {
			*done = true;
			break;
		}
		r = msg_attrs(h, tb, NFTA_RULE_MAX);
		if (r == 0)
			r = rule_from(tb, rule);
		if (r == 0)
			r = fn(rule, data);
	}
	return r;
}

int vp_nfnl_chain_rules(struct vp_nfnl *q, int family, const char *table, const char *chain,
                       int (*fn)(const struct vp_nfnl_rule *r, void *data), void *data)
{
	struct vp_nfnl_rule *rule = malloc(sizeof(*rule));
	char *buf = malloc(REPLY_MAX);
	struct msg m;
	bool done = false;
	int r = rule && buf ? 0 : -ENOMEM;

	if (r == 0) {
		msg_init(&m, q, family, NFT_MSG_GETRULE, NLM_F_DUMP);
		msg_put_str(&m, NFTA_RULE_TABLE, table);
		msg_put_str(&m, NFTA_RULE_CHAIN, chain);
		r = msg_send(q, &m);
	}
	/* Each recv makes the kernel fill the next buffer of the dump at once, as large as the
	 * largest recv so far: small reads keep what it fills for nothing small (a chain may hold
	 * 10 000 rules). */
	while (r == 0 && !done) {
		ssize_t n = recv(q->fd, buf, HEAD_RECV, MSG_TRUNC);
		if (n < 0 && errno == EINTR)
			continue;
		r = n < 0 ? -errno : n == 0 ? -EBADMSG : n > HEAD_RECV ? -EMSGSIZE
		    : head_buffer(buf, (size_t)n, fn, data, rule, &done);
	}
	free(buf);
	free(rule);
	return r;
}

int vp_nfnl_chain_head(int family, const char *table, const char *chain,
                      int (*fn)(const struct vp_nfnl_rule *r, void *data), void *data)
{
	struct vp_nfnl q = {.fd = -1};
	int r = vp_nfnl_open(&q);

	/* Abandoning the dump half way is fine: closing the socket ends it. */
	if (r == 0)
		r = vp_nfnl_chain_rules(&q, family, table, chain, fn, data);
	vp_nfnl_close(&q);
	return r;
}

struct tag_walk {
	bool xt;
	int (*fn)(const char *tag, void *data);
	void *data;
};

static int tag_take(const struct vp_nfnl_rule *rule, void *data)
{
	struct tag_walk *w = data;
	const char *tag = w->xt ? rule->xt_comment : rule->comment;
	return tag[0] ? w->fn(tag, w->data) : 0;
}

int vp_nfnl_tags(const struct vp_nfnl_place *p, size_t n, bool xt,
                 int (*fn)(const char *tag, void *data), void *data)
{
	struct tag_walk w = {xt, fn, data};
	struct vp_nfnl q = {.fd = -1};
	int r = vp_nfnl_open(&q);

	for (size_t i = 0; i < n && r == 0; i++) {
		r = vp_nfnl_chain_rules(&q, p[i].family, p[i].table, p[i].chain, tag_take, &w);
		r = r == -ENOENT ? 0 : r;
	}
	vp_nfnl_close(&q);
	return r;
}

/* ---- deleting by handle ------------------------------------------------------------------ */

static void batch_mark(struct msg *m, struct vp_nfnl *q, uint16_t type)
{
	struct nlmsghdr h = {.nlmsg_len = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct nfgenmsg)),
	                     .nlmsg_type = type, .nlmsg_flags = NLM_F_REQUEST, .nlmsg_seq = ++q->seq};
	struct nfgenmsg g = {.nfgen_family = AF_UNSPEC, .version = NFNETLINK_V0,
	                     .res_id = htons(NFNL_SUBSYS_NFTABLES)};

	memset(m, 0, sizeof(*m));
	memcpy(m->buf, &h, sizeof(h));
	memcpy(m->buf + NLMSG_HDRLEN, &g, sizeof(g));
	m->len = h.nlmsg_len;
}

static int batch_add(char *out, size_t *len, size_t cap, const struct msg *m)
{
	if (m->err)
		return m->err;
	if (*len + m->len > cap)
		return -E2BIG;
	memcpy(out + *len, m->buf, m->len);
	((struct nlmsghdr *)(out + *len))->nlmsg_len = (uint32_t)m->len;
	*len += m->len;
	return 0;
}

/* The replies to a batch whose last request alone asks for an acknowledgement: the kernel
 * answers a failing request with its error and the last one in any case, in order, so the
 * last one's reply ends them. The first error, or 0. */
static int batch_acks(struct vp_nfnl *q, uint32_t first_seq, uint32_t last_seq)
{
	char *buf = malloc(REPLY_MAX);
	int first = 0, r = buf ? 0 : -ENOMEM;
	bool done = false;

	while (r == 0 && !done) {
		ssize_t got = recv(q->fd, buf, REPLY_MAX, 0);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			r = got < 0 ? -errno : -EBADMSG;
			break;
		}
		size_t left = (size_t)got;
		for (const struct nlmsghdr *h = (const struct nlmsghdr *)buf; !done && NLMSG_OK(h, left);
		     h = NLMSG_NEXT(h, left)) {
			const struct nlmsgerr *e = NLMSG_DATA(h);
			if (h->nlmsg_type != NLMSG_ERROR || h->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
				continue;
			if (e->error < 0 && !first)
				first = e->error;
			/* The batch's own header: the kernel gave up on the whole batch (no memory). */
			done = h->nlmsg_seq == last_seq || h->nlmsg_seq == first_seq;
		}
	}
	free(buf);
	return r < 0 ? r : first;
}

int vp_nfnl_delete(struct vp_nfnl *q, const struct vp_nfnl_del *d, size_t n)
{
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
	size_t cap = (n + 2) * sizeof(struct msg), len = 0;
	char *out;
	struct msg m;
	int r;

	if (!n)
		return 0;
	out = malloc(cap);
	/* Replies without the request echoed back: an error names the request by its number. A
	 * kernel that does not answer cannot hold the hook (and libvirt) for ever. */
	struct timeval tv = {.tv_sec = 10};
	int one = 1;
	uint32_t first_seq, last_seq = 0;
	if (!out)
		return -ENOMEM;
	setsockopt(q->fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	setsockopt(q->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	batch_mark(&m, q, NFNL_MSG_BATCH_BEGIN);
	first_seq = q->seq;
	r = batch_add(out, &len, cap, &m);
	for (size_t i = 0; r == 0 && i < n; i++) {
		uint64_t be = htobe64(d[i].handle);
		uint16_t ack = i + 1 == n ? NLM_F_ACK : 0;   /* one reply per request would overflow */
		if (d[i].chain && d[i].handle) {
			msg_init(&m, q, d[i].family, NFT_MSG_DELRULE, ack);
			msg_put_str(&m, NFTA_RULE_TABLE, d[i].table);
			msg_put_str(&m, NFTA_RULE_CHAIN, d[i].chain);
			msg_put(&m, NFTA_RULE_HANDLE, &be, sizeof(be));
		} else if (d[i].chain) {
			/* NONREC: the kernel would delete the rules in it, and refuses instead. */
			msg_init(&m, q, d[i].family, NFT_MSG_DELCHAIN, (uint16_t)(ack | NLM_F_NONREC));
			msg_put_str(&m, NFTA_CHAIN_TABLE, d[i].table);
			msg_put_str(&m, NFTA_CHAIN_NAME, d[i].chain);
		} else {
			msg_init(&m, q, d[i].family, NFT_MSG_DELTABLE, ack);
			msg_put_str(&m, NFTA_TABLE_NAME, d[i].table);
		}
		last_seq = q->seq;
		r = batch_add(out, &len, cap, &m);
	}
	batch_mark(&m, q, NFNL_MSG_BATCH_END);
	if (r == 0)
		r = batch_add(out, &len, cap, &m);
	/* sendmsg, as libnftables sends its batches (the tests' fault library hooks that). */
	struct iovec iov = {.iov_base = out, .iov_len = len};
	struct msghdr mh = {.msg_name = &kernel, .msg_namelen = sizeof(kernel), .msg_iov = &iov,
	                    .msg_iovlen = 1};
	if (r == 0 && sendmsg(q->fd, &mh, 0) < 0)
		r = -errno;
	if (r == 0)
		r = batch_acks(q, first_seq, last_seq);
	free(out);
	return r;
}

bool vp_nfnl_chain_exists(int family, const char *table, const char *chain)
{
	struct vp_nfnl q;
	unsigned use;
	bool found;

	if (vp_nfnl_open(&q) < 0)
		return false;
	found = vp_nfnl_chain_use(&q, family, table, chain, &use) == 0;
	vp_nfnl_close(&q);
	return found;
}

struct owner_walk {
	const char *owner;
	bool xt;
	uint64_t *h;
	size_t want, got, seen;
};

static int owner_take(const struct vp_nfnl_rule *rule, void *data)
{
	struct owner_walk *w = data;

	if (++w->seen > w->want + 64)   /* others inserted above ours meanwhile: give up */
		return -ESTALE;
	if (!strcmp(w->xt ? rule->xt_comment : rule->comment, w->owner))
		w->h[w->got++] = rule->handle;
	return w->got == w->want ? 1 : 0;
}

int vp_nfnl_owner_head(int family, const char *table, const char *chain, const char *owner,
                       bool xt, uint64_t *h, size_t want)
{
	struct owner_walk w = {.owner = owner, .xt = xt, .h = h, .want = want};
	int r;

	if (!want)
		return 0;
	r = vp_nfnl_chain_head(family, table, chain, owner_take, &w);
	return r == 1 ? 0 : r < 0 ? r : -ESTALE;
}
