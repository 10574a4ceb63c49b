/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Inside the iptables backends: what fw-xt.c (reading with iptables-save, one restore batch) and
 * fw-xt-rec.c (iptables-nft's record of handles, and the paths that need no reading) share. Not
 * an interface for anything else: fw.h is. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "fw.h"

#define LOCK_WAIT_DEFAULT_MS 5000u

struct xt_tools {
	const char *name;
	const char *save[2], *restore[2];   /* [0] IPv4, [1] IPv6 */
	bool locks;                         /* restore takes the xtables lock */
};
extern const struct xt_tools vp_xt_tools_nft, vp_xt_tools_legacy;

/* One chain of ours and the built-in chain that jumps to it. */
struct chain_def {
	const char *table, *chain, *builtin;
	const char *jump[2];  /* canonical jump spec, IPv4 / IPv6 */
};
#define N_CHAINS 4
extern const struct chain_def vp_xt_chains[N_CHAINS];

/* The owner's wanted rule specs per chain, rendered in canonical form. */
struct xt_wanted {
	char **s[N_CHAINS];
	size_t n[N_CHAINS], cap[N_CHAINS];
};

size_t vp_xt_chain_index(const char *chain);   /* N_CHAINS when not ours */
void vp_xt_wanted_free(struct xt_wanted *w);
int vp_xt_wanted_build(const struct vp_ruleset *rs, int family, struct xt_wanted *w);
/* Run the restore tool (family index fi: 0 IPv4, 1 IPv6) on the batch. 0 or -errno. */
int vp_xt_restore(const struct xt_tools *t, int fi, const struct vp_buf *batch,
                  const struct vp_fw_opts *o);

/* A way to make one family's change without reading the ruleset (fw-xt-rec.c: by the
 * record), tried first: 0 done, -ESTALE read instead, other -errno failed. */
struct vp_xt_shortcut {
	int (*family)(void *ctx, const struct vp_ruleset *rs, int fi, const struct vp_fw_opts *o);
	void *ctx;
};
/* The change for every family concerned, each by the shortcut (NULL: none) when it can, else by
 * reading; on failure, whatever of this owner made it in is dropped. */
int vp_xt_apply(const struct xt_tools *t, const struct vp_xt_shortcut *sc,
                const struct vp_ruleset *rs, const struct vp_fw_opts *o);
