/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Inside the nftables backend: what fw-nft.c (rendering, reading what is there, the change) and
 * fw-nft-rec.c (the record of handles, and the paths that need no reading) share. Not an
 * interface for anything else: fw.h is. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "dl-nft.h"
#include "fw.h"
#include "nfnl.h"

#define OUR_TABLE   "virt_portfwd"
#define LV_TABLE    "libvirt_network"
#define LV_CHAIN    "forward"

/* The chains a rule of ours can be in. NC_FWD is our own forward chain, used only when libvirt's
 * table is missing; NC_LV is libvirt's forward base chain. */
enum nchain { NC_PRE = 0, NC_OUT, NC_POST, NC_FWD, NC_LV, NC_COUNT };

struct nft_chain {
	const char *table, *name, *spec;
};
extern const struct nft_chain vp_nft_chains[NC_COUNT];

struct nft_fam {
	int af;
	unsigned bit;           /* VP_FAM_* */
	const char *name;       /* nft family and payload keyword: "ip", "ip6" */
	const char *loopback;   /* host-local DNAT skips these, as the iptables OUTPUT jump does */
};

#define N_FAMS 2

extern const struct nft_fam vp_nft_fams[N_FAMS];

/* This owner's installed rules in one chain, in listing order. */
struct owned {
	uint64_t *handle;
	char **text;            /* canonical text; filled only when a comparison needs it */
	size_t n, cap;          /* handles, and how many are allocated */
	bool below_jump;        /* NC_LV: one of them sits below a jump or goto */
};

/* What one family's ruleset shows of us. Every rule we add goes to the top of its chain (our
 * table's too): where the path without reading finds their handles, and the same order whichever
 * path installed a guest. */
struct view {
	bool table;             /* our table exists */
	bool lv;                /* libvirt's table with its forward chain exists */
	size_t n_other;         /* rules in our table that are not this owner's */
	struct owned own[NC_COUNT];
	bool chain[NC_COUNT];   /* this chain of our table exists */
};

/* The owner's wanted rules per chain, in canonical text. */
struct nft_wanted {
	char **s[NC_COUNT];
	size_t n[NC_COUNT], cap[NC_COUNT];
};

int vp_nft_wanted_build(const struct vp_ruleset *rs, const struct nft_fam *f, bool lv,
                        struct nft_wanted *w);
void vp_nft_wanted_free(struct nft_wanted *w);
enum nchain vp_nft_stage_chain(enum vp_stage s, bool lv);
/* Append one family's changes to the batch; nothing when the owner's rules are already right. */
void vp_nft_batch_family(const struct nft_fam *f, const struct view *v, const struct nft_wanted *w,
                         struct vp_buf *b);
bool vp_nft_has_family(const struct vp_ruleset *rs, int af);
/* A context with buffered output and errors. 0, -ELIBACC (libnftables unavailable, logged
 * once) or -ENOMEM. */
int vp_nft_ctx_open(struct nft_ctx **ret);
/* Run one command with these output flags; *ret_out points into ctx's buffer until the next
 * run. 0 or -errno, logged. */
int vp_nft_run(struct nft_ctx *ctx, unsigned flags, const char *cmd, const char **ret_out);
/* Read what is there, change what differs, in one transaction; on failure remove what the
 * owner had (fw.h). 0 or -errno. */
int vp_nft_apply_read(struct vp_nfnl *q, const struct vp_ruleset *rs, const struct vp_fw_opts *o);
