/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>

static bool log_syslog, log_stderr = true, log_verbose;

void vp_log_open(bool use_syslog, bool use_stderr, bool verbose)
{
	log_syslog = use_syslog;
	log_stderr = use_stderr;
	log_verbose = verbose;
	if (use_syslog)
		openlog("virt-portfwd", LOG_PID, LOG_DAEMON);
}

void vp_log(int prio, const char *fmt, ...)
{
	va_list ap;

	if (prio >= LOG_DEBUG && !log_verbose)
		return;
	if (log_syslog) {
		va_start(ap, fmt);
		vsyslog(prio, fmt, ap);
		va_end(ap);
	}
	if (log_stderr) {
		va_start(ap, fmt);
		fputs("virt-portfwd: ", stderr);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
		va_end(ap);
	}
}
