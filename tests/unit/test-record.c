/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The record of nf_tables handles (record.h) without root: each backend's lines as the release
 * before the shared module wrote them (fixtures/record/, left by a namespace case: guest1 dual
 * stack) read and written back byte for byte, what a line may not be, and the deletions a record
 * gives. A description of a made-up backend shows what a new one passes. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "fw.h"
#include "nfnl.h"
#include "record.h"
#include "tap.h"

/* A backend of one table and two chains, in the nftables syntax. */
static struct vp_rec_chain toy_chain(size_t i)
{
	return (struct vp_rec_chain){"toy", i ? "post" : "pre"};
}

static const struct vp_rec_desc toy = {
	.name = "toy", .syntax = VP_REC_NFT, .fams = {"ip", "ip6"}, .tables = {"toy"},
	.n_chains = 2, .chain = toy_chain,
};

/* body is read, and written back the same. */
static void check_round_trip(const struct vp_rec_desc *d, const char *body, const char *what)
{
	struct vp_rec rec = {.d = d};
	struct vp_record out = {.kind = VP_RULES_UNKNOWN};

	tap_ok(vp_rec_parse(&rec, body) == 0, "%s: read", what);
	vp_rec_format(&rec, &out);
	tap_ok(out.kind == VP_RULES_KNOWN, "%s: written", what);
	tap_streq(out.body ? out.body : "", body, "%s: written back byte for byte", what);
	vp_record_free(&out);
	vp_rec_free(&rec);
}

static void test_release_xt(void)
{
	char *body = tap_fixture("fixtures/record/iptables-nft.txt", NULL), *copy = strdup(body);
	struct vp_rec rec = {.d = &vp_rec_xt};

	tap_ok(vp_rec_parse(&rec, body) == 0, "iptables-nft, release: read");
	tap_streq(body, copy, "iptables-nft: the caller's text is left as it was");
	tap_ok(rec.n == 19 && vp_rec_count(&rec, 0, 0) == 4 && vp_rec_count(&rec, 1, 3) == 1,
	       "iptables-nft: 19 rules, 4 in IPv4 FWD, 1 in IPv6 POST (%zu)", rec.n);
	tap_ok(rec.table[0][0] == 1 && rec.table[0][1] == 2 && rec.table[1][0] == 4 &&
	       rec.table[1][1] == 5, "iptables-nft: filter and nat of both families");
	tap_ok(rec.r[0].fam == 0 && rec.r[0].chain == 0 && rec.r[0].handle == 31 &&
	       !strncmp(rec.r[0].spec, "-d 192.168.122.10/32 -o virbr0 ", 31),
	       "iptables-nft: the first rule, its handle and spec");
	tap_ok(vp_rec_table_of(&vp_rec_xt, 0) == 0 && vp_rec_table_of(&vp_rec_xt, 1) == 1,
	       "iptables-nft: FWD in filter, PRE in nat");
	vp_rec_free(&rec);
	check_round_trip(&vp_rec_xt, body, "iptables-nft, release");
	free(copy);
	free(body);
}

#ifdef HAVE_LIBNFTABLES
static void test_release_nft(void)
{
	char *body = tap_fixture("fixtures/record/nftables.txt", NULL);
	struct vp_rec rec = {.d = &vp_rec_nft};

	tap_ok(vp_rec_parse(&rec, body) == 0 && rec.n == 19, "nftables, release: 19 rules");
	tap_ok(rec.table[0][0] == 3 && rec.table[0][1] == 1 && rec.table[1][0] == 4 &&
	       rec.table[1][1] == 2, "nftables: ours and libvirt's table, both families");
	tap_ok(vp_rec_count(&rec, 0, 4) == 4 && vp_rec_count(&rec, 1, 4) == 1 &&
	       vp_rec_table_of(&vp_rec_nft, 4) == 1,
	       "nftables: the accepts in libvirt's forward chain, in its table");
	vp_rec_free(&rec);
	check_round_trip(&vp_rec_nft, body, "nftables, release");
	free(body);
}
#endif

static void check_bad(const struct vp_rec_desc *d, const char *body, const char *what)
{
	struct vp_rec rec = {.d = d};

	tap_ok(vp_rec_parse(&rec, body) == -EBADMSG, "%s: refused (%s)", d->name, what);
	vp_rec_free(&rec);
}

static void test_bad_lines(void)
{
	check_bad(&vp_rec_xt, "5 VIRT_PORTFWD_FWD 3 -j ACCEPT\n", "a family that is not 4 or 6");
	check_bad(&vp_rec_xt, "4 FORWARD 3 -j ACCEPT\n", "a chain that is not ours");
	check_bad(&vp_rec_xt, "4 VIRT_PORTFWD_FWD 3\n", "no spec");
	check_bad(&vp_rec_xt, "4 VIRT_PORTFWD_FWD -1 -j ACCEPT\n", "a negative handle");
	check_bad(&vp_rec_xt, "4 VIRT_PORTFWD_FWD 18446744073709551616 x\n", "a handle past 2^64");
	check_bad(&vp_rec_xt, "4  VIRT_PORTFWD_FWD 3 x\n", "two spaces");
	check_bad(&vp_rec_xt, "t4 mangle 3\n", "a table that is not filter or nat");
	check_bad(&vp_rec_xt, "t4 nat 0\n", "a table handle 0");
	check_bad(&vp_rec_xt, "t4 nat 3 4\n", "a word after the table handle");
	check_bad(&vp_rec_xt, "t4\n", "a table line cut short");
	check_bad(&vp_rec_xt, "4 VIRT_PORTFWD_FWD 3 x\n4", "a rule line cut short");
	check_bad(&vp_rec_xt, "t4 nat 3\n\nt6 nat 4\n", "an empty line");
	check_bad(&toy, "ip toy pre 0\n", "a rule handle 0");
	check_bad(&toy, "ip toy other 3\n", "a chain that is not in the description");
	check_bad(&toy, "ip other pre 3\n", "a chain in another table");
	check_bad(&toy, "ip toy pre 3 4\n", "a word after the handle");
	check_bad(&toy, "table inet toy 3\n", "a family not in the description");
	check_bad(&toy, "table ip other 3\n", "a table not in the description");
	check_bad(&toy, "ip toy pre\n", "a rule line cut short");
}

static void test_lines_kept(void)
{
	struct vp_rec rec = {.d = &vp_rec_xt};

	tap_ok(vp_rec_parse(&rec, "4 VIRT_PORTFWD_PRE 0 -j DNAT") == 0 && rec.n == 1 &&
	       rec.r[0].handle == 0 && !strcmp(rec.r[0].spec, "-j DNAT"),
	       "iptables-nft: handle 0 (not found), a last line without its newline");
	vp_rec_free(&rec);
	tap_ok(rec.d == &vp_rec_xt && rec.n == 0 && !rec.r, "freed, the description is kept");
	vp_rec_free(NULL);
	check_round_trip(&vp_rec_xt, "", "iptables-nft, no rule");
	check_round_trip(&vp_rec_xt, "4 VIRT_PORTFWD_OUT 7 \n", "iptables-nft, an empty spec");
	check_round_trip(&toy, "table ip toy 9\ntable ip6 toy 8\nip6 toy post 2\nip toy pre 5\n",
	                 "toy, the rules in their order");
}

/* Written by family: tables before their rules (iptables-nft), or every table first. */
static void test_write_order(void)
{
	struct vp_rec rec = {.d = &toy};
	struct vp_record out = {.kind = VP_RULES_UNKNOWN};

	rec.table[1][0] = 8;
	rec.table[0][0] = 9;
	tap_ok(vp_rec_add(&rec, 0, 1, 4, NULL) == 0 && vp_rec_add(&rec, 1, 0, 3, NULL) == 0,
	       "toy: two rules added");
	vp_rec_format(&rec, &out);
	tap_streq(out.body, "table ip toy 9\ntable ip6 toy 8\nip toy post 4\nip6 toy pre 3\n",
	          "toy: the tables first, then the rules");
	vp_record_free(&out);
	vp_rec_free(&rec);
	rec = (struct vp_rec){.d = &vp_rec_xt};
	rec.table[0][1] = 2;
	rec.table[1][0] = 5;
	tap_ok(vp_rec_add(&rec, 1, 0, 7, "-j B") == 0 && vp_rec_add(&rec, 0, 3, 6, "-j A") == 0,
	       "iptables-nft: two rules added");
	vp_rec_format(&rec, &out);
	tap_streq(out.body, "t4 nat 2\n4 VIRT_PORTFWD_POST 6 -j A\nt6 filter 5\n"
	          "6 VIRT_PORTFWD_FWD 7 -j B\n", "iptables-nft: each family's table, then its rules");
	vp_record_free(&out);
	vp_rec_free(&rec);
}

/* The deletions of one family's rules in one chain, as the transaction gets them. */
static void test_dels(void)
{
	struct vp_rec rec = {.d = &toy};
	struct vp_nfnl_del del[4];
	size_t n = 0;

	tap_ok(vp_rec_parse(&rec, "ip toy pre 5\nip6 toy pre 6\nip toy pre 7\nip toy post 8\n") == 0,
	       "toy: read");
	tap_ok(vp_rec_dels(&rec, 0, 0, del, &n) == 0 && n == 2, "toy: IPv4 pre, two deletions");
	tap_ok(del[0].family == AF_INET && !strcmp(del[0].table, "toy") &&
	       !strcmp(del[0].chain, "pre") && del[0].handle == 5 && del[1].handle == 7,
	       "toy: by family, table, chain and handle, in the record's order");
	tap_ok(vp_rec_dels(&rec, 1, 1, del, &n) == 0 && n == 2, "toy: IPv6 post, none");
	vp_rec_free(&rec);
	tap_ok(vp_rec_parse(&rec, "4 VIRT_PORTFWD_FWD 0 -j ACCEPT\n") == -EBADMSG,
	       "toy: another backend's lines are not read");
	vp_rec_free(&rec);
	rec.d = &vp_rec_xt;
	n = 0;
	tap_ok(vp_rec_parse(&rec, "4 VIRT_PORTFWD_FWD 0 -j ACCEPT\n") == 0 &&
	       vp_rec_dels(&rec, 0, 0, del, &n) == -ESTALE,
	       "iptables-nft: a handle not known sends the removal to reading");
	vp_rec_free(&rec);
}

int main(void)
{
	test_release_xt();
#ifdef HAVE_LIBNFTABLES
	test_release_nft();
#endif
	test_bad_lines();
	test_lines_kept();
	test_write_order();
	test_dels();
	return tap_done();
}
