/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The forward table: /etc/virt-portfwd/forwards.conf and forwards.d/ *.conf.
 *
 *   # domain  proto  [host-addr:]host-port[-end]  guest-port[-end]  [key=value ...]
 *   web1      tcp    2222                         22
 *   web1      tcp    [::]:2222                    22      from=2001:db8::/32
 *   set backend auto|iptables-legacy|iptables-nft|nftables
 *   set lease-wait SECONDS
 *   set on-error continue|abort
 *
 * This header is the table's model and one file's grammar (config.c): a pure function over a
 * buffer. The table as a whole (the check across lines, loading the files) is table.h. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "diags.h"
#include "util.h"

#define VP_TABLE_MAX_LINE   4096u           /* bytes per line, newline excluded */
#define VP_TABLE_MAX_LINES  100000u         /* lines per file */
#define VP_TABLE_MAX_SIZE   (8u << 20)      /* bytes per file */
#define VP_TABLE_MAX_FILES  256u            /* forwards.d entries */
#define VP_TABLE_MAX_FROM   64u             /* CIDRs in one from= */
#define VP_DOMAIN_MAX       255u            /* bytes in a domain name */
#define VP_LEASE_WAIT_DEFAULT 300u
#define VP_LEASE_WAIT_MAX   86400u
#define VP_HOOK_TIMEOUT_DEFAULT 20u
#define VP_HOOK_TIMEOUT_MAX 600u

enum vp_backend_choice {
	VP_BACKEND_AUTO = 0,
	VP_BACKEND_IPT_LEGACY,
	VP_BACKEND_IPT_NFT,
	VP_BACKEND_NFT,
};

struct vp_forward {
	char *domain;             /* name as written, or a UUID normalised to lowercase 8-4-4-4-12 */
	bool domain_is_uuid;
	int proto;                /* IPPROTO_TCP, IPPROTO_UDP or IPPROTO_SCTP */
	int family;               /* AF_INET, or AF_INET6 when the host side is [v6] */
	struct vp_addr host_addr; /* family 0: any local address of `family` ([::] also gives 0) */
	uint16_t host_port, host_port_end;   /* end == port for a single port */
	uint16_t guest_port, guest_port_end; /* same length as the host range */
	struct vp_cidr *from;     /* from=CIDR[,CIDR...]; NULL/0 = anywhere */
	size_t n_from;
	char nic[18];             /* nic=MAC, lowercase aa:bb:cc:dd:ee:ff; "" = not given */
	char *network;            /* network=NAME; NULL = not given */
	struct vp_addr ip;        /* ip=ADDR; family 0 = resolve from libvirt */
	bool masquerade;          /* masquerade=yes (default no) */
	bool local;               /* local=no turns off host-local access (default yes) */
	bool hairpin;             /* hairpin=no turns off guest-to-guest via host address (default yes) */
	const char *file;         /* file name, owned by the table */
	unsigned line;
	unsigned col;              /* column of the host field, for diagnostics (0: metadata) */
	bool meta;                /* from the domain's <metadata>: file is "domain NAME metadata",
	                             line the forward's number there (metadata.h) */
};

struct vp_settings {
	enum vp_backend_choice backend;
	unsigned lease_wait;      /* seconds, default VP_LEASE_WAIT_DEFAULT */
	bool on_error_abort;      /* set on-error abort */
	unsigned hook_timeout;    /* seconds one hook invocation may hold libvirt, default
	                             VP_HOOK_TIMEOUT_DEFAULT */
};

struct vp_table {
	struct vp_forward *fwd;
	size_t n, cap;
	struct vp_settings set;
	unsigned set_seen;        /* bitmask of settings already given (duplicate detection) */
	unsigned set_line[4];     /* where each was given */
	const char *set_file[4];
	char **files;             /* file names, for vp_forward.file */
	size_t n_files, cap_files;
};

void vp_table_init(struct vp_table *t);
void vp_table_free(struct vp_table *t);

/* Parse one file's contents (buf need not be NUL-terminated) and append its forwards
 * and settings to t. Every error goes to d. Returns 0 when the buffer had no error,
 * -EINVAL when it had any (the caller must then apply nothing), -ENOMEM. */
int vp_table_parse(struct vp_table *t, const char *fname, const char *buf, size_t len,
                   struct vp_diags *d);

/* One forward given as words instead of a line: the domain's metadata (metadata.h). words[0..n)
 * are a table line's fields and key=value options (4 <= n <= 4 + VP_META_MAX_ATTRS, domain.h), parsed and
 * refused with the table's messages, each located as "FILE forward INDEX: message" (file:
 * "domain NAME metadata"). The forward is appended to t with meta set. 0, -EINVAL (in d),
 * -ENOMEM. */
int vp_table_add_words(struct vp_table *t, const char *file, unsigned index,
                       const char *const *words, size_t n, struct vp_diags *d);
void vp_forward_free(struct vp_forward *f);   /* its members; the table frees its own */

const char *vp_proto_name(int proto);   /* "tcp", "udp", "sctp" */
/* The host side of f as a table line writes it, for ports lo..hi: "2222", "2222-2223",
 * "198.51.100.7:2222", "[::]:2222", "[2001:db8::5]:2222". Appended to out. */
void vp_forward_host(struct vp_buf *out, const struct vp_forward *f, unsigned lo, unsigned hi);
const char *vp_backend_name(enum vp_backend_choice b);
