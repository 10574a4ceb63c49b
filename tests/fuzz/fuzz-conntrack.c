/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer harness: a buffer of a ctnetlink dump, message by message (vp_ct_parse), each entry
 * through the match and back out as a deletion; and the same bytes as the list of installed
 * DNATs (vp_dnat_parse), which sits in our state directory. The kernel is trusted more than a
 * guest, but a parser that reads past a message or an attribute is a bug wherever its input
 * comes from. */
#include <errno.h>
#include <sys/socket.h>

#include "conntrack.h"
#include "ct-follow.h"
#include "fuzz.h"

static void check_entry(const uint8_t *data, size_t size, const struct vp_ct_entry *e)
{
	struct vp_dnat d = {.family = e->family, .proto = e->proto, .hport = 1, .hport_end = 65535,
	                    .guest = e->reply_src, .gport = 0, .gport_end = 65535};
	struct vp_ct_sel s = {.gone = &d, .n_gone = 1};
	char buf[512];

	FUZZ_ASSERT(e->family == AF_INET || e->family == AF_INET6);
	FUZZ_ASSERT((const uint8_t *)e->orig_tuple >= data &&
	            (const uint8_t *)e->orig_tuple + e->orig_tuple_len <= data + size);
	FUZZ_ASSERT(e->orig_tuple_len >= 4 && e->orig_tuple_len <= 160);
	if (e->orig_dport)
		FUZZ_ASSERT(vp_ct_match(e, &d) == !!(e->status & 0x20));   /* IPS_DST_NAT */
	(void)vp_ct_selected(&s, e);
	FUZZ_ASSERT(vp_ct_build_delete(buf, sizeof(buf), 1, e) > 0);
}

static void check_dump(const uint8_t *data, size_t size)
{
	struct vp_ct_entry e;

	for (size_t off = 0; off + 16 <= size;) {
		uint32_t len;
		memcpy(&len, data + off, sizeof(len));
		int r = vp_ct_parse(data + off, size - off, &e);
		FUZZ_ASSERT(r <= 1 && r > -4096);
		if (r == 0)
			check_entry(data, size, &e);
		if (r != 0 || len < 16)
			break;
		off += (len + 3u) & ~3u;
	}
}

static void check_list(const uint8_t *data, size_t size)
{
	struct vp_dnat_list l = {(struct vp_dnat *)(uintptr_t)0xa5a5, 7, 7};
	struct vp_buf text = {0};
	int r = vp_dnat_parse((const char *)data, size, &l);

	FUZZ_ASSERT(r == 0 || r == -EINVAL || r == -E2BIG || r == -ENOMEM);
	if (r < 0) {
		FUZZ_ASSERT(l.n == 0 && l.d == NULL);
		return;
	}
	FUZZ_ASSERT(l.n <= VP_DNAT_MAX);
	for (size_t i = 0; i < l.n; i++)
		FUZZ_ASSERT(l.d[i].hport <= l.d[i].hport_end && l.d[i].gport <= l.d[i].gport_end &&
		            l.d[i].family == l.d[i].guest.family);
	/* What parses writes back as text that parses to the same. */
	struct vp_dnat_list back;
	vp_dnat_format(&l, &text);
	FUZZ_ASSERT(text.err || (vp_dnat_parse(text.s, text.len, &back) == 0 && back.n == l.n));
	for (size_t i = 0; !text.err && i < l.n; i++)
		FUZZ_ASSERT(vp_dnat_equal(&back.d[i], &l.d[i]));
	if (!text.err)
		vp_dnat_list_free(&back);
	vp_buf_free(&text);
	vp_dnat_list_free(&l);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_dump(data, size);
	check_list(data, size);
	return 0;
}
