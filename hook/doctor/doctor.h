/* SPDX-License-Identifier: GPL-2.0-or-later */
/* virt-portfwd doctor: where exactly a forward stops. Read-only, except for its own counters
 * file in the state directory (<uuid>.doctor), which makes "since the last check" possible. */
#pragma once

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
 * rules.hairpin, rules.masquerade, rules.accept, rules.shadow, rules.position,
 * rules.other_tables, traffic, probe (with --probe), firewalld.strict, firewalld.reload.
 * Returns the exit status: 0 every check passed, 1 a check failed, 2 usage. */
int vp_doctor(struct vp_ctx *c, bool probe, bool json, int argc, char *const *argv);
