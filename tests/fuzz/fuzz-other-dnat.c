/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer harness: other tools' DNATs read from rule text (conflicts.h), vp_other_dnat_xt and
 * vp_other_dnat_nft, and the check of forwards against what they found. Those rules are written
 * by Docker, netavark and firewalld, from what their users publish. The first byte picks the
 * listing (iptables-save or nft), the family and the table and chain the rules are in; each
 * following line is one rule. */
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "conflicts.h"
#include "fuzz.h"

static const struct {
	const char *table, *chain;
} places[8] = {
	{"nat", "DOCKER"}, {"nat", "NETAVARK-DN-1D8721804F16F"}, {"nat", "PRE_public_allow"},
	{"docker-bridges", "nat-prerouting-and-output"}, {"netavark", "nv_2f259bab_dnat"},
	{"firewalld", "nat_PRE_public_allow"}, {"nat", "PREROUTING"}, {"filter", "DOCKER"},
};

/* The promises of conflicts.h for each finding. */
static void check_found(const struct vp_other_dnats *d)
{
	FUZZ_ASSERT(d->n <= d->cap && (d->n == 0 || d->d));
	for (size_t i = 0; i < d->n; i++) {
		const struct vp_other_dnat *x = &d->d[i];
		char s[128];
		FUZZ_ASSERT(x->tool && x->tool[0]);
		FUZZ_ASSERT(x->proto == IPPROTO_TCP || x->proto == IPPROTO_UDP ||
		            x->proto == IPPROTO_SCTP);
		FUZZ_ASSERT(x->family == 0 || x->family == AF_INET || x->family == AF_INET6);
		FUZZ_ASSERT(!x->addr.family || x->addr.family == x->family);
		FUZZ_ASSERT(x->port >= 1 && x->port <= x->port_end && x->port_end <= 65535);
		FUZZ_ASSERT_STR(x->where);
		vp_other_dnat_ports_str(x, s, sizeof(s));
		FUZZ_ASSERT(strlen(s) < sizeof(s));
	}
}

/* Each finding must clash with a forward of its own port, protocol and family. */
static void check_conflicts(const struct vp_other_dnats *d)
{
	for (size_t i = 0; i < d->n && i < 64; i++) {
		const struct vp_other_dnat *x = &d->d[i];
		struct vp_forward f = {.proto = x->proto, .family = x->family ? x->family : AF_INET,
		                       .host_addr = x->addr, .host_port = (uint16_t)x->port_end,
		                       .host_port_end = (uint16_t)x->port_end, .local = true};
		FUZZ_ASSERT(vp_other_dnat_conflict(d, &f) != NULL);
		f.proto = IPPROTO_TCP + IPPROTO_UDP;   /* no protocol of any rule */
		FUZZ_ASSERT(vp_other_dnat_conflict(d, &f) == NULL);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int families[4] = {AF_INET, AF_INET6, 0, AF_INET};
	struct vp_other_dnats d = {0};
	struct vp_other_src src;
	bool nft;
	char *text, *line, *next;
	unsigned pos = 0;
	int r = 0;

	if (size < 1)
		return 0;
	nft = data[0] & 1;
	src = (struct vp_other_src){nft ? "nftables" : "iptables-nft", families[(data[0] >> 1) & 3],
	                            places[(data[0] >> 3) & 7].table, places[(data[0] >> 3) & 7].chain,
	                            0};
	if (!nft && !src.family)
		src.family = AF_INET;
	if (!(text = malloc(size)))
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	for (line = text; r >= 0 && line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		src.pos = ++pos;
		r = nft ? vp_other_dnat_nft(&d, &src, line) : vp_other_dnat_xt(&d, &src, line);
		FUZZ_ASSERT(r == 0 || r == 1 || r == -ENOMEM);
	}
	check_found(&d);
	check_conflicts(&d);
	vp_other_dnats_free(&d);
	FUZZ_ASSERT(d.n == 0 && d.d == NULL);
	free(text);
	return 0;
}
