/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The small helpers every file leans on: the text sanitizer of names in logs and output, array
 * growth, the host side of a forward as a table line writes it, deadlines, and a program run
 * against one. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "config.h"
#include "run.h"
#include "tap.h"
#include "util.h"

static void check_sanitize(const char *in, const char *want, const char *what)
{
	char buf[256];

	snprintf(buf, sizeof(buf), "%s", in);
	vp_text_sanitize(buf);
	tap_streq(buf, want, "sanitize: %s", what);
}

static void test_sanitize(void)
{
	check_sanitize("web1", "web1", "a plain name is kept");
	check_sanitize("gäst-日本", "gäst-日本", "UTF-8 letters are kept");
	check_sanitize("a\nvirt-portfwd: FORGED", "a?virt-portfwd: FORGED", "a newline");
	check_sanitize("tab\there\x7f", "tab?here?", "a tab, DEL");
	check_sanitize("x\xe2\x80\xae" "evil", "x???evil", "U+202E (right-to-left override)");
	check_sanitize("\xe2\x81\xa6" "y\xe2\x81\xa9", "???y???", "U+2066, U+2069 (isolates)");
	check_sanitize("\xe2\x80\x94", "\xe2\x80\x94", "U+2014 (a dash) is kept");
	check_sanitize("\xe2\x80", "\xe2\x80", "a truncated sequence at the end is left alone");
}

static void test_grow(void)
{
	int *a = NULL;
	size_t cap = 0;

	tap_ok(vp_grow(&a, &cap, 1, sizeof(*a)) == 0 && a && cap == 8, "grow: first room is 8");
	tap_ok(vp_grow(&a, &cap, 8, sizeof(*a)) == 0 && cap == 8, "grow: enough room, unchanged");
	tap_ok(vp_grow(&a, &cap, 9, sizeof(*a)) == 0 && cap == 16, "grow: doubles");
	tap_ok(vp_grow(&a, &cap, 100, sizeof(*a)) == 0 && cap == 128, "grow: to the next doubling");
	int *before = a;
	size_t cap_before = cap;
	tap_ok(vp_grow(&a, &cap, SIZE_MAX / 2 + 2, sizeof(*a)) == -ENOMEM && a == before &&
	       cap == cap_before, "grow: an impossible size is -ENOMEM, nothing changed");
	free(a);
}

static void check_host(const char *line, unsigned lo, unsigned hi, const char *want)
{
	struct vp_table t;
	struct vp_diags d = {0};
	struct vp_buf b = {0};

	vp_table_init(&t);
	if (vp_table_parse(&t, "t.conf", line, strlen(line), &d) == 0 && t.n == 1)
		vp_forward_host(&b, &t.fwd[0], lo, hi);
	tap_streq(b.s ? b.s : "", want, "host side of '%.*s'", (int)strlen(line) - 1, line);
	vp_buf_free(&b);
	vp_diags_free(&d);
	vp_table_free(&t);
}

static void test_forward_host(void)
{
	check_host("web1 tcp 2222 22\n", 2222, 2222, "2222");
	check_host("web1 tcp 8080-8089 80-89\n", 8080, 8089, "8080-8089");
	check_host("web1 tcp 198.51.100.7:5432 5432\n", 5432, 5432, "198.51.100.7:5432");
	check_host("web1 tcp [::]:2222 22\n", 2222, 2222, "[::]:2222");
	check_host("web1 tcp [2001:db8::5]:2222-2223 22-23\n", 2222, 2223, "[2001:db8::5]:2222-2223");
}

/* Tools come from the tool directories in order, never from PATH; a name with '/' is kept. */
static void test_tool_path(void)
{
	char p[256];

	setenv("PATH", "/tmp", 1);
	setenv("VIRT_PORTFWD_TOOL_DIRS", "/nonexistent::/usr/bin:/bin", 1);
	tap_ok(vp_tool_path("sh", p, sizeof(p)) == 0 && strcmp(p, "/usr/bin/sh") == 0,
	       "the first directory that has it, empty entries skipped (%s)", p);
	tap_ok(vp_tool_path("no-such-tool-here", p, sizeof(p)) == -ENOENT, "none has it: -ENOENT");
	tap_ok(vp_tool_path("/x/y", p, sizeof(p)) == 0 && strcmp(p, "/x/y") == 0,
	       "a path is taken as it is");
	tap_ok(vp_tool_path("sh", p, 10) == 0 && strcmp(p, "/bin/sh") == 0,
	       "a path that does not fit is skipped, not cut short (%s)", p);
	setenv("VIRT_PORTFWD_TOOL_DIRS", "/tmp", 1);
	tap_ok(vp_tool_path("sh", p, sizeof(p)) == -ENOENT, "PATH is not searched");
	unsetenv("VIRT_PORTFWD_TOOL_DIRS");
	tap_ok(vp_tool_path("sh", p, sizeof(p)) == 0 && p[0] == '/', "the built-in directories (%s)",
	       p);
}

/* A wait takes min(its own bound, time left); a program is killed at the deadline when that
 * comes before its own 30 s, and not run at all once it has passed. */
static void test_deadline(void)
{
	const char *sleeper[] = {"sleep", "10", NULL};
	long long t0 = vp_now_ms();
	unsigned w = vp_wait_ms(t0 + 100000, 5000);
	int r;

	tap_ok(vp_wait_ms(0, 5000) == 5000 && w == 5000, "deadline: far or none, the own bound");
	w = vp_wait_ms(t0 + 1000, 5000);
	tap_ok(w > 900 && w <= 1000, "deadline: near, the time left (%u ms)", w);
	tap_ok(vp_wait_ms(t0 - 1, 5000) == 0 && vp_deadline_passed(t0 - 1) &&
	       !vp_deadline_passed(0) && !vp_deadline_passed(t0 + 100000),
	       "deadline: past, no wait at all");
	t0 = vp_now_ms();
	r = vp_spawn(sleeper, NULL, 0, NULL, 0, NULL, -1, t0 + 300);
	t0 = vp_now_ms() - t0;
	tap_ok(r == -ETIMEDOUT && t0 >= 300 && t0 < 3000,
	       "deadline: a program still running is killed at it (%lld ms)", t0);
	t0 = vp_now_ms();
	r = vp_spawn(sleeper, NULL, 0, NULL, 0, NULL, -1, t0 - 1);
	tap_ok(r == -ETIMEDOUT && vp_now_ms() - t0 < 100, "deadline: past it, nothing is run");
}

int main(void)
{
	test_sanitize();
	test_grow();
	test_forward_host();
	test_tool_path();
	test_deadline();
	return tap_done();
}
