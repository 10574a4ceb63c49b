/* SPDX-License-Identifier: GPL-2.0-or-later */
/* virt-portfwd doctor: where exactly a forward stops. Read-only, except for its own counters
 * file in the state directory (<uuid>.doctor), which makes "since the last check" possible. */
#pragma once

#include "conflicts.h"
#include "diags.h"
#include "engine.h"

/* probe and json: --probe and --json (the command line parses them); argv: the words after
 * "doctor" ([DOMAIN [PORT]]; DOMAIN is a name or UUID, PORT a host port the forwards must
 * cover). c has the table loaded (c->table_ok tells whether it parsed; a broken table is one of
 * the findings) and c->out for the output:
 * one line per check, "ok", "FAIL" (followed by a "fix:" line) or "skip", then a count; or
 * with --json an array of {"check", "subject", "ok" (true, false, or null when skipped),
 * "detail", "fix" (null unless failed)}, one object per line. The checks, in order: table,
 * guest.forwards, guest.running, guest.nic, guest.address, guest.lease, host.ip_forward,
 * host.ipv6_forwarding, host.br_netfilter, host.backend, rules.dnat, rules.output_dnat,
 * rules.hairpin, rules.masquerade, rules.accept, rules.shadow, conflicts.forwards (a metadata
 * forward on a port the table has), conflicts.listener (only when a local socket listens on
 * the forward's port: ok, with a warning), conflicts.dnat (only when another tool DNATs the
 * forward's port), rules.position, rules.other_tables, traffic, probe (with --probe),
 * firewalld.strict, firewalld.reload.
 * Returns the exit status: 0 every check passed, 1 a check failed, 2 usage. */
int vp_doctor(struct vp_ctx *c, bool probe, bool json, int argc, char *const *argv);

/* Other tools' DNATs on this host's ports (conflicts.h: Docker, netavark, firewalld), from the
 * listings the doctor reads: both iptables variants of both families, and those tools' nftables
 * tables. For `add`: vp_other_dnat_conflict(ret, forward) says whether a new forward would
 * fight one. *ret is set here (vp_other_dnats_free() it after 0). 0; -EPERM when not root
 * (nothing read; say so once); -ENOMEM. */
int vp_host_dnats(struct vp_other_dnats *ret);

/* check's warning, "file:line:col: warning: ...", for each forward of t whose host port another
 * tool DNATs (at most one per forward), into w. 0, -EPERM (not root: nothing read), -ENOMEM. */
int vp_lint_dnats(const struct vp_table *t, struct vp_diags *w);
