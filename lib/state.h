/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What we installed, per guest, under /run/virt-portfwd/ (tmpfs: gone on reboot with the rules).
 * Written before a change (the families it may touch) and after it; removed after removal.
 * Removal never depends on the table or a lease: it deletes by owner tag, and the state only
 * tells which backend and families to look in, and which guests are running with forwards. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "addr.h"
#include "domain.h"
#include "record.h"

#define VP_STATE_DIR "/run/virt-portfwd"

/* A guest address our rules send to, and the MAC of the NIC it was found for. */
#define VP_STATE_ADDR_MAX 16
struct vp_state_addr {
	char mac[18];
	struct vp_addr ip;
};

struct vp_state {
	char backend[32];          /* vp_backend.name */
	unsigned families;         /* VP_FAM_* that may hold rules */
	char name[VP_NAME_MAX];    /* domain name, for status output */
	char network[VP_NAME_MAX]; /* first network with forwards, for the network hook */
	struct vp_state_addr addr[VP_STATE_ADDR_MAX];   /* the addresses installed ("addr" lines) */
	size_t n_addr;
};

/* Open (creating 0700 if needed) the state directory; refuse it when it is a symlink, not ours
 * or accessible by others. Returns a directory fd (O_CLOEXEC) or -errno. */
int vp_state_open_dir(void);
int vp_state_read(int dirfd, const char *uuid, struct vp_state *ret);   /* -ENOENT if none */
int vp_state_write(int dirfd, const char *uuid, const struct vp_state *s);  /* atomic */
/* Removes the state file, its index entry and what a write of it killed halfway left. */
int vp_state_remove(int dirfd, const char *uuid);
/* Whether a write of uuid's state or rules was killed halfway and left its temporary files
 * (or an index entry to them); vp_state_sweep, under our lock, removes them. */
bool vp_state_has_debris(int dirfd, const char *uuid);
void vp_state_sweep(int dirfd, const char *uuid);
/* What is stored for the guest named name, told from the directory alone (each state file is
 * indexed by its guest's name), so that the hook can do without the guest's domain XML: 0
 * nothing (no state, no lease waiter of anyone running); 1 the state of uuid ret_uuid (of n
 * bytes) and no lease waiter; -EAGAIN when it cannot tell (a state without its index, written
 * by an older version or interrupted; a temporary file of a write killed halfway; a name that
 * cannot be indexed; a waiter running). */
int vp_state_lookup_name(int dirfd, const char *name, char *ret_uuid, size_t n);

/* The uuids that have a state file (guests with rules installed). *ret is a NULL-terminated
 * array to free with vp_state_list_free. */
int vp_state_list(int dirfd, char ***ret, size_t *ret_n);
void vp_state_list_free(char **list);

/* Side files of a guest: "<uuid>.xml" (the domain XML a lease waiter works from),
 * "<uuid>.waiter" (the waiter's pid), "<uuid>.rules" (what a backend knows it installed,
 * see vp_rules_kind), "<uuid>.doctor" (the packet counters the doctor saw last) and
 * "<uuid>.dnat" (the DNATs installed, whose flows follow them: ct-follow.h). kind is "xml",
 * "waiter", "rules", "doctor" or "dnat". */
int vp_state_put(int dirfd, const char *uuid, const char *kind, const char *buf, size_t len);
int vp_state_get(int dirfd, const char *uuid, const char *kind, size_t max, char **ret_buf,
                 size_t *ret_len);
int vp_state_drop(int dirfd, const char *uuid, const char *kind);

/* The "rules" side file holds a backend's record (record.h), which lets it skip reading the
 * whole ruleset, a cost in proportion to every rule of every guest. Written under our lock. Its
 * first line says what it knows:
 *   (no file)          nothing known: read what is there (also the state of an older version)
 *   "none"             no state existed: this guest has no rule in any backend
 *   "<backend name>"   the lines after it are exactly its rules, in that backend's words
 *   anything else      nothing known ("unknown" while a change runs and after a failure) */
#define VP_RULES_MAX (4u << 20)

/* What uuid's rules file says for this backend, into *ret (free with vp_record_free). */
void vp_rules_read(int dirfd, const char *uuid, const char *backend, struct vp_record *ret);
/* Replace the file by "<backend>\n<body>"; body NULL writes "unknown". 0 or -errno. */
int vp_rules_write(int dirfd, const char *uuid, const char *backend, const char *body);
/* A guest about to get its first state: "none", unless a file is there already (a failed
 * change left "unknown"). 0 or -errno. */
int vp_rules_mark_new(int dirfd, const char *uuid);
