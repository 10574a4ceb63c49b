/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The doctor's shared state. The files, none calling back into one that calls it:
 * doctor.c: arguments, the guests, the table stage and the order of the stages;
 * doctor-report.c: the output, a network's inputs, where a backend writes (used by every check);
 * doctor-guest.c: the guest, its NIC and address (the pipeline's decisions);
 * doctor-host.c: sysctls, libvirt's backend, firewalld, the probe;
 * doctor-rules.c: the backends' listings (listing.h) and each rule;
 * doctor-order.c: our accept above libvirt's reject, nothing of ours elsewhere;
 * doctor-shadow.c: foreign rules ahead of ours; doctor-traffic.c: counters;
 * doctor-conflicts.c: other tools' DNATs on our host ports;
 * doctor-status.c: `virt-portfwd status`, from the same data.
 * Everything reads; only the counters file is written. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "conflicts.h"
#include "doctor.h"
#include "fw.h"
#include "inputs.h"
#include "leases.h"
#include "lint.h"
#include "network.h"
#include "plan.h"
#include "resolve.h"
#include "state.h"

#define DR_MAX_NETS 16
#define DR_OTHER_FAMS 3   /* other tools' nftables tables: ip, ip6, inet */

enum dr_status { DR_OK = 0, DR_FAIL, DR_SKIP };

/* A network's status and leases, each read at most once. */
struct dr_net {
	struct vp_netinfo *in;          /* status and leases, as the hook reads them */
	const struct vp_backend *lv;    /* the backend libvirt's rules need (auto detection) */
	int lv_r;
	char lv_why[256];
};

/* One forward of one guest and everything learnt about it on the way. */
struct dr_fwd {
	const struct vp_forward *f;
	char label[320];                /* "web1 tcp 2222", the subject of its report lines */
	const struct vp_nic *nic;
	struct dr_net *net;             /* NULL when the NIC is not on a running libvirt network */
	bool resolved;
	struct vp_addr addr;            /* what libvirt says now */
	enum vp_addr_source src;
	struct vp_addr installed;       /* what our DNAT sends to; family 0: none found */
	bool planned;
	struct vp_ruleset rs;           /* this forward's rules, for the address in place */
};

struct dr_guest {
	struct vp_domain d;
	bool running;
	bool installed;                 /* our state records rules of it */
	struct vp_state st;
	struct dr_fwd *fw;
	size_t n_fw, cap_fw;
	struct vp_table meta;           /* the forwards of its metadata the hook takes (metadata.h) */
};

/* Where rules live: iptables-nft (nf_tables), the legacy tables, libvirt's nftables tables. */
enum { DR_IPT_NFT = 0, DR_IPT_LEGACY, DR_NFTABLES, DR_VARIANTS };

/* The base chains on the forward hook, other than libvirt's and ours, that would drop
 * (doctor-hooks.c), read once per family. */
struct dr_hook;
struct dr_hooks {
	bool loaded;
	bool native_err;                /* nftables could not be listed */
	struct dr_hook *c;
	size_t n, cap;
};

struct doctor {
	struct vp_ctx *c;
	bool json, probe;
	bool quiet;                     /* status: checks run for their data, nothing reported */
	const char *domain;             /* NULL: every guest with forwards */
	unsigned long port;             /* 0: every forward */
	unsigned n_fail, n_lines;
	struct dr_guest *g;
	size_t n_g, cap_g;
	struct dr_net nets[DR_MAX_NETS];
	size_t n_nets;
	struct vp_netcache cache;
	struct vp_listing lists[DR_VARIANTS][2]; /* [variant][IPv4, IPv6], read when first needed */
	unsigned families;              /* VP_FAM_* of the forwards looked at */
	struct dr_hooks hooks[2];       /* IPv4, IPv6 */
	bool offline;                   /* the listings are given (the fuzz harness): no other
	                                   table is read, nor a native one listed */
	struct vp_listing others[DR_OTHER_FAMS];  /* Docker's, netavark's, firewalld's tables */
	struct vp_other_dnats dnats;    /* their DNATs and the iptables listings' (conflicts.h) */
	bool dnats_loaded;
	int dnats_r;
	struct vp_listeners listeners;  /* the host's listening sockets (lint.h), read once */
	bool listeners_loaded;
};

/* doctor-report.c. One report line. check: the machine name ("rules.accept"); subject: what it is about
 * ("web1 tcp 2222"); fix: NULL unless the check failed. */
void dr_report(struct doctor *dr, const char *check, const char *subject, enum dr_status st,
               const char *fix, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* The end of the output: the JSON array's, or the count of failed checks. */
void dr_report_end(struct doctor *dr);
/* A network's status, leases and libvirt's backend, read once; NULL if the name is unusable or
 * too many networks were seen. */
struct dr_net *dr_net_get(struct doctor *dr, const char *name);
/* Where a backend writes (DR_IPT_NFT, DR_IPT_LEGACY, DR_NFTABLES); -1 for none. */
int dr_variant(const struct vp_backend *b);
/* The backend of this build that writes there; NULL if the build has none. */
const struct vp_backend *dr_backend(int variant);
/* Its name ("iptables-nft"), where it writes in words, and the command that edits its rules of
 * family `family` ("ip6tables-nft"): from the backend's table entry. */
const char *dr_variant_name(int variant);
const char *dr_variant_place(int variant);
const char *dr_tool(int variant, int family);

/* doctor-guest.c: the guest stage; fills g->fw (planned rules included). 0 or -ENOMEM. */
int dr_check_guest(struct doctor *dr, struct dr_guest *g);

/* doctor-host.c */
void dr_check_host(struct doctor *dr);
void dr_check_backends(struct doctor *dr);
void dr_check_firewalld(struct doctor *dr);
void dr_probe(struct doctor *dr, const struct dr_fwd *fw);

/* doctor-rules.c */
/* The listing of one family where `variant` writes: its backend's list() (fw.h), read once. */
const struct vp_listing *dr_listing(struct doctor *dr, int variant, int family);
void dr_listings_free(struct doctor *dr);
/* Where rule r of owner is in the listing of `variant`: its backend's where(). 0 or -errno
 * (ret untouched). */
int dr_where(int variant, const struct vp_rule *r, const char *owner, struct vp_where *ret);
/* Where our installed DNAT of fw sends to, whatever the address (fw->installed): found by the
 * match part of the rules in fw->rs, planned with any address of the network. */
void dr_find_installed(struct doctor *dr, struct dr_fwd *fw);
/* The rules of fw against the listing of where they go; true when they were looked at (then
 * dr_check_hooks follows: doctor.c). */
bool dr_check_rules(struct doctor *dr, const struct dr_fwd *fw);

/* doctor-order.c */
void dr_check_position(struct doctor *dr);
void dr_check_other_tables(struct doctor *dr);
/* Whether any rule of the guest is in the tables libvirt's backend needs: 1, 0, -1 (cannot
 * tell). */
int dr_owned_rules(struct doctor *dr, const struct dr_guest *g);

/* doctor.c: the guests to look at (running, or with rules installed), their forwards resolved
 * and planned, with report lines muted when dr->quiet. 0 or -errno. */
int dr_collect(struct doctor *dr);
void dr_free(struct doctor *dr);

/* doctor-traffic.c */
void dr_check_traffic(struct doctor *dr, const struct dr_guest *g);
/* The counters file of the last check ("<uuid>.doctor"): its time (-1 if none), and the packets
 * it holds for the rule "TABLE CHAIN SPEC" (false if none). text may be NULL for the time. */
long long dr_counters_time(const char *text);
bool dr_counters_get(const char *text, const char *key, uint64_t *ret);

/* doctor-hooks.c: every other base chain on the forward hook that would drop this forward's
 * connections, in any table and family, passed by a rule of ours or named with its owner and
 * the fix. v: the variant our rules are in. Reports nothing on an iptables host without such a
 * chain (dr_check_shadow reports there). */
void dr_check_hooks(struct doctor *dr, const struct dr_fwd *fw, int v);
void dr_hooks_free(struct doctor *dr);
/* Whether a line of iptables-nft's listing is an accept the nftables backend puts in FORWARD or
 * DOCKER-USER (fw-nft-nb.c). */
bool dr_hooks_accept(const struct vp_listed_rule *l);

/* doctor-conflicts.c: another tool's DNAT (Docker, netavark, firewalld) on the forward's host
 * port, named with where it is and the fix (conflicts.dnat); a local process listening on it,
 * a warning that does not fail (conflicts.listener). Nothing when there is neither. */
void dr_check_conflicts(struct doctor *dr, const struct dr_fwd *fw);
/* A forward of the guest's <metadata> on a host port the table (or an earlier one of its
 * metadata) already forwards: the hook leaves it out (conflicts.forwards, failed). */
void dr_check_clashes(struct doctor *dr, const struct dr_guest *g);
/* Running guests' metadata forwards on one host port (the hook installs both). */
void dr_check_meta_clashes(struct doctor *dr);
void dr_conflicts_free(struct doctor *dr);

/* doctor-shadow.c: a foreign rule ahead of our jumps in FORWARD or nat PREROUTING that drops
 * or diverts this forward's traffic. tool: the iptables binary, for the fix. */
void dr_check_shadow(struct doctor *dr, const struct dr_fwd *fw, const struct vp_listing *s,
                     const char *tool);
