/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer harness: the forward table grammar (vp_table_parse) and the cross-line check
 * (vp_table_check), on one file's contents. The table is written by root, but it is the most
 * complex grammar we have and `virt-portfwd check` is meant to be run on drafts. */
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "table.h"
#include "fuzz.h"

static void check_forward(const struct vp_forward *f)
{
	FUZZ_ASSERT(f->domain && strlen(f->domain) <= VP_DOMAIN_MAX);
	FUZZ_ASSERT(f->proto == IPPROTO_TCP || f->proto == IPPROTO_UDP || f->proto == IPPROTO_SCTP);
	FUZZ_ASSERT(f->family == AF_INET || f->family == AF_INET6);
	FUZZ_ASSERT(f->host_port <= f->host_port_end && f->guest_port <= f->guest_port_end);
	FUZZ_ASSERT(f->host_port_end - f->host_port == f->guest_port_end - f->guest_port);
	FUZZ_ASSERT(f->n_from <= VP_TABLE_MAX_FROM && (f->n_from == 0 || f->from));
	FUZZ_ASSERT_STR(f->nic);
	FUZZ_ASSERT(fuzz_mac_ok(f->nic));
	FUZZ_ASSERT(vp_proto_name(f->proto) != NULL);
	/* Matching by the forward's own domain must find it: what the hook does per guest. */
	FUZZ_ASSERT(vp_forward_matches(f, f->domain, f->domain_is_uuid ? f->domain : ""));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vp_table t;
	struct vp_diags d = {0};
	int r;

	vp_table_init(&t);
	r = vp_table_parse(&t, "fuzz.conf", (const char *)data, size, &d);
	FUZZ_ASSERT(r == 0 || r == -EINVAL || r == -ENOMEM);
	FUZZ_ASSERT(r != -EINVAL || d.n > 0);   /* every refusal says why */
	/* Lines with errors add nothing; the good lines of a bad file are still whole forwards,
	 * and vp_table_load checks them across lines all the same. */
	for (size_t i = 0; i < t.n; i++)
		check_forward(&t.fwd[i]);
	r = vp_table_check(&t, &d);
	FUZZ_ASSERT(r == 0 || (r == -EINVAL && d.n > 0));
	(void)vp_table_has_domain(&t, "web1", "9f1c2b7e-1d3a-4c5b-8e6f-0a1b2c3d4e5f");
	FUZZ_ASSERT(vp_backend_name(t.set.backend) != NULL);
	/* Each diagnostic is one whole line: a NUL-terminated string without a newline. */
	for (size_t i = 0; i < d.n; i++)
		FUZZ_ASSERT(d.msg[i] && !strchr(d.msg[i], '\n'));
	vp_diags_free(&d);
	vp_table_free(&t);
	return 0;
}
