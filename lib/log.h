/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Logging: syslog (ident virt-portfwd) and stderr. Never stdout. lib/ parsers do not log;
 * they return errors and diagnostics, and the caller logs once. */
#pragma once

#include <stdbool.h>
#include <syslog.h>

void vp_log_open(bool use_syslog, bool use_stderr, bool verbose);
/* In a child about to close every fd: syslog's socket is let go, and opened anew (same ident)
 * at the next line, never written into an fd that took its number. */
void vp_log_atfork(void);
void vp_log(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* One log line per line of text ("PREFIX WHAT: line"): a log line never holds a newline. */
void vp_log_lines(int prio, const char *prefix, const char *what, const char *text);
