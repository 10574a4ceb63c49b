/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The firewall backend interface. A backend renders abstract rules and applies them; it never
 * decides what to forward. One backend per file, each compiled only when its library is found. */
#pragma once

#include <stdbool.h>

#include "listing.h"
#include "network.h"
#include "plan.h"
#include "record.h"
#include "util.h"

#define VP_FAM_V4 1u
#define VP_FAM_V6 2u

struct vp_fw_opts {
	unsigned lock_wait_ms;     /* bounded wait for the xtables lock (legacy backend); 0 = 5000 */
	unsigned families;         /* VP_FAM_* that may hold rules of this owner besides those in
	                              the ruleset (from our state); 0 = look at both */
	int hold_fd;               /* our lock, handed down to the programs a backend runs (run.h);
	                              -1 none (0 is taken for none too: it is never our lock) */
	long long deadline;        /* vp_now_ms instant by which every wait of the change ends
	                              (the xtables lock, a program), each also keeping its own
	                              bound; 0: none */
	long long rollback_deadline; /* the same for the rollback after a failed change: later, so
	                              that a change cut short still has time to be undone */
};

/* libvirt's chain in the iptables filter table: where its own rules are tells the backend. */
#define VP_LIBVIRT_CHAIN "LIBVIRT_FWI"

struct vp_backend {
	const char *name;          /* "iptables-legacy", "iptables-nft", "nftables" */
	const char *place;         /* where it writes, in words, for the doctor */
	const char *tool[2];       /* the command that edits its rules, IPv4 and IPv6, for the
	                              doctor's fixes */
	/* Load the library the backend works through (dl.h): 0, or -ELIBACC when it is
	 * unavailable (logged once), and then apply fails the same way, having done nothing.
	 * NULL: the backend runs programs, it needs no library. */
	int (*load)(void);
	/* Whether libvirt's own rules for network net (NULL: not known) are in this backend's
	 * tables; why receives the sentence for the log. Read-only and cheap; a program it runs
	 * ends by deadline (run.h). */
	bool (*probe)(const struct vp_network *net, long long deadline, char *why, size_t whysz);
	/* The rules of family `family` as this backend would write them, for --dry-run. */
	void (*render)(const struct vp_ruleset *rs, int family, struct vp_buf *out);
	/* The rules of family `family` where this backend writes them, ours, libvirt's and
	 * others' in those tables, as a normalised listing (listing.h): what the doctor and
	 * `status` judge the pipeline's decisions against. 0 or -errno, out->err saying why.
	 * Read-only; runs as the doctor does, not under our lock. */
	int (*list)(int family, struct vp_listing *out);
	/* Where rule r of owner shows in that listing. 0 or -errno (ret untouched). */
	int (*where)(const struct vp_rule *r, const char *owner, struct vp_where *ret);
	/* Make the rules owned by rs->owner exactly rs->r[0..n) (n == 0 removes them all):
	 * create our chains if missing, keep the jumps to them at position 1 of the built-in chains,
	 * delete our chains and jumps once no rule of any owner is left in them. Rules of other
	 * owners and foreign rules are never touched. Idempotent: when the owner's rules are
	 * already exactly these, nothing is written. All or nothing: on failure the owner is left
	 * with no rule at all (best-effort rollback) and a negative errno is returned; the reason
	 * is logged once. IPv4 rules go to the IPv4 tables, IPv6 rules to the IPv6 ones. */
	int (*apply)(const struct vp_ruleset *rs, const struct vp_fw_opts *o,
	             const struct vp_record *prev, struct vp_record *next);
	/* apply takes prev, the record it returned last time for this owner (UNKNOWN when there is
	 * none to trust), and on success may fill next with the record of what it installed: the
	 * engine keeps it for the next change. A backend without a record leaves next alone and
	 * is given UNKNOWN. */
	bool records;
	/* The owner tag of each rule of ours in this backend's tables, both families, to fn (one
	 * call per rule, so a tag may come more than once), until fn returns non-zero, which is
	 * then returned; else 0, or -errno. Read-only: what tells the engine that rules are there
	 * that no state accounts for (a ruleset restored from a dump, a state directory lost).
	 * NULL: the backend cannot tell, and its rules are found through our state only. */
	int (*owners)(int (*fn)(const char *owner, void *data), void *data);
};

/* Each backend's owners() callback gets the tags as the kernel holds them; this says whether
 * one is ours and its uuid safe to use as a file name (into uuid, 37 bytes). */
bool vp_owner_uuid(const char *owner, char uuid[37]);

/* Every backend of this build, NULL-terminated, in the order detection asks them. */
extern const struct vp_backend *const vp_backends[];
/* A backend by name ("iptables-nft", ...), as recorded in our state; NULL if unknown. */
const struct vp_backend *vp_backend_by_name(const char *name);

extern const struct vp_backend vp_backend_xt;    /* fw-xt.c: iptables-nft-restore, exec */
extern const struct vp_rec_desc vp_rec_xt;       /* fw-xt-rec.c: its record (record.h) */
extern const struct vp_backend vp_backend_xt_legacy; /* fw-xt.c: iptables-legacy-restore, exec
                                                        (fallback when built without libiptc) */
#define VP_XT_LEGACY_PLACE "the legacy iptables tables (iptables-legacy)"
#ifdef HAVE_LIBIPTC
extern const struct vp_backend vp_backend_iptc;  /* fw-iptc.c: libiptc, legacy tables */
#endif
#ifdef HAVE_LIBNFTABLES
extern const struct vp_backend vp_backend_nft;   /* fw-nft.c: libnftables, libvirt's nftables */
extern const struct vp_rec_desc vp_rec_nft;      /* fw-nft-rec.c: its record (record.h) */
/* The nft commands vp_backend_nft would run to install the rules of family `family` on a host
 * with libvirt's nftables table and nothing of ours yet, one per line ("add rule ip
 * virt_portfwd prerouting ...", "insert rule ip libvirt_network forward ..."), for --dry-run. */
void vp_render_nft(const struct vp_ruleset *rs, int family, struct vp_buf *out);
#endif
/* The list() and where() of the iptables backends (fw-xt.c), by flavour. */
int vp_xt_nft_list(int family, struct vp_listing *out);
int vp_xt_legacy_list(int family, struct vp_listing *out);
int vp_xt_where(const struct vp_rule *r, const char *owner, struct vp_where *ret);
#ifdef HAVE_LIBNFTABLES
/* ... and the nftables backend's (fw-nft-list.c). */
int vp_nft_list(int family, struct vp_listing *out);
int vp_nft_where(const struct vp_rule *r, const char *owner, struct vp_where *ret);
#endif
