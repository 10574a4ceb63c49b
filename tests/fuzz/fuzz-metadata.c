/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer harness: the forwards of a domain's <metadata> (vp_domain_parse, then
 * vp_metadata_forwards beside a small table). The element is written by whoever may define the
 * guest, who need not be root, and the hook reads it as root: it must survive anything, and give
 * only whole forwards of this guest that clash with nothing. */
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "fuzz.h"
#include "metadata.h"
#include "table.h"

static const char table_text[] = "web0 tcp 8080 80\n"
                                 "web0 udp 198.51.100.7:5000-5010 5000-5010\n"
                                 "web0 tcp [2001:db8::1]:443 443\n";

static void check_forward(const struct vp_forward *f, const struct vp_domain *d)
{
	FUZZ_ASSERT(f->meta && f->col == 0 && f->line >= 1 && f->line <= d->n_meta);
	FUZZ_ASSERT(f->domain_is_uuid && !strcmp(f->domain, d->uuid));
	FUZZ_ASSERT(vp_forward_matches(f, "", d->uuid));
	FUZZ_ASSERT(f->proto == IPPROTO_TCP || f->proto == IPPROTO_UDP || f->proto == IPPROTO_SCTP);
	FUZZ_ASSERT(f->family == AF_INET || f->family == AF_INET6);
	FUZZ_ASSERT(f->host_port <= f->host_port_end && f->guest_port <= f->guest_port_end);
	FUZZ_ASSERT(f->host_port_end - f->host_port == f->guest_port_end - f->guest_port);
	FUZZ_ASSERT(f->n_from <= VP_TABLE_MAX_FROM && (f->n_from == 0 || f->from));
	FUZZ_ASSERT(fuzz_mac_ok(f->nic));
}

static void check_meta(const struct vp_table *t, struct vp_table *meta, const struct vp_domain *d)
{
	struct vp_diags again = {0};

	for (size_t i = 0; i < meta->n; i++)
		check_forward(&meta->fwd[i], d);
	/* What is kept clashes with nothing: checking it once more drops nothing. */
	FUZZ_ASSERT(vp_table_check_extra(t, meta, &again) != -EINVAL && again.n == 0);
	vp_diags_free(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vp_table t, meta;
	struct vp_domain d = {0};
	struct vp_diags dg = {0};
	int r;

	vp_table_init(&t);
	vp_table_init(&meta);
	FUZZ_ASSERT(vp_table_parse(&t, "T", table_text, sizeof(table_text) - 1, &dg) == 0);
	if (vp_domain_parse((const char *)data, size, &d) < 0)
		goto out;
	FUZZ_ASSERT(d.n_meta <= VP_META_MAX_FORWARDS && (!d.meta_too_many || d.n_meta == 0));
	for (size_t i = 0; i < d.n_meta; i++)
		FUZZ_ASSERT(d.meta[i].name && d.meta[i].n_attrs <= VP_META_MAX_ATTRS);
	r = vp_metadata_forwards(&t, &d, &meta, &dg);
	FUZZ_ASSERT(r == 0 || r == -EINVAL || r == -EEXIST || r == -ENOMEM);
	FUZZ_ASSERT(r == 0 || r == -ENOMEM || dg.n > 0);        /* every refusal says why */
	FUZZ_ASSERT(r != -EINVAL || meta.n == 0);               /* a bad one refuses them all */
	FUZZ_ASSERT(meta.n <= d.n_meta);
	if (r != -ENOMEM)
		check_meta(&t, &meta, &d);
	for (size_t i = 0; i < dg.n; i++)   /* each message one whole line */
		FUZZ_ASSERT(dg.msg[i] && !strchr(dg.msg[i], '\n'));
out:
	vp_diags_free(&dg);
	vp_table_free(&meta);
	vp_table_free(&t);
	vp_domain_free(&d);
	return 0;
}
