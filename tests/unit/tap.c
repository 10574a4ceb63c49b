/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "tap.h"

#include <dirent.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "util.h"

static unsigned n_tests, n_failed;

static __attribute__((format(printf, 2, 0))) void tap_line(bool cond, const char *fmt, va_list ap)
{
	n_tests++;
	if (!cond)
		n_failed++;
	printf("%sok %u - ", cond ? "" : "not ", n_tests);
	vprintf(fmt, ap);
	putchar('\n');
}

bool tap_ok(bool cond, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	tap_line(cond, fmt, ap);
	va_end(ap);
	return cond;
}

bool tap_streq(const char *got, const char *want, const char *fmt, ...)
{
	bool eq = got && want && strcmp(got, want) == 0;
	va_list ap;
	va_start(ap, fmt);
	tap_line(eq, fmt, ap);
	va_end(ap);
	if (!eq)
		printf("# --- want:\n%s\n# --- got:\n%s\n# ---\n", want ? want : "(null)",
		       got ? got : "(null)");
	return eq;
}

char *tap_fixture(const char *path, size_t *ret_len)
{
	char *buf;
	size_t len;
	int r = vp_read_file(path, 256u << 20, false, &buf, &len);
	if (r < 0) {
		printf("Bail out! cannot read fixture %s (%d)\n", path, r);
		exit(1);
	}
	if (ret_len)
		*ret_len = len;
	return buf;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

size_t tap_each_fixture(const char *dir, const char *ext,
                        void (*fn)(const char *dir, const char *name))
{
	char *names[256];
	size_t n = 0, el = strlen(ext);
	struct dirent *de;
	DIR *dp = opendir(dir);

	if (!tap_ok(dp != NULL, "open %s", dir))
		return 0;
	while ((de = readdir(dp)) && n < VP_ARRAY_SIZE(names)) {
		size_t l = strlen(de->d_name);
		if (l > el && strcmp(de->d_name + l - el, ext) == 0)
			names[n++] = vp_strndup(de->d_name, l);
	}
	closedir(dp);
	qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n; i++) {
		fn(dir, names[i]);
		free(names[i]);
	}
	return n;
}

double tap_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

bool tap_ratio(double t, double base, double ratio, const char *fmt, ...)
{
	double floor = base < 1e-4 ? 1e-4 : base;
	bool ok = t <= ratio * floor;
	va_list ap;

	va_start(ap, fmt);
	tap_line(ok, fmt, ap);
	va_end(ap);
	printf("#   %.2f ms of CPU against a baseline of %.2f ms in this run (%.1fx, at most %.0fx)\n", t * 1e3,
	       base * 1e3, t / floor, ratio);
	return ok;
}

int tap_done(void)
{
	printf("1..%u\n", n_tests);
	return n_failed ? 1 : 0;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

void tap_rmtree(const char *path)
{
	nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}
