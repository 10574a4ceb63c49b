/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

#define LOG_LINE_MAX 4096

static bool log_syslog, log_stderr = true, log_verbose;

void vp_log_open(bool use_syslog, bool use_stderr, bool verbose)
{
	log_syslog = use_syslog;
	log_stderr = use_stderr;
	log_verbose = verbose;
	if (use_syslog)
		openlog("virt-portfwd", LOG_PID, LOG_DAEMON);
}

void vp_log_atfork(void)
{
	if (log_syslog) {
		closelog();
		openlog("virt-portfwd", LOG_PID, LOG_DAEMON);
	}
}

void vp_log(int prio, const char *fmt, ...)
{
	char msg[LOG_LINE_MAX];
	va_list ap;

	if (prio >= LOG_DEBUG && !log_verbose)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	vp_text_sanitize(msg);
	if (log_syslog)
		syslog(prio, "%s", msg);
	if (log_stderr)
		fprintf(stderr, "virt-portfwd: %s\n", msg);
}

void vp_log_lines(int prio, const char *prefix, const char *what, const char *text)
{
	for (const char *p = text; p && *p;) {
		size_t n = strcspn(p, "\n");
		if (n)
			vp_log(prio, "%s %s: %.*s", prefix, what, (int)n, p);
		p += n + (p[n] == '\n');
	}
}
