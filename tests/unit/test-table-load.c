/* SPDX-License-Identifier: GPL-2.0-or-later */
/* One validator: every fixture of fixtures/config, installed as the table, is loaded the way the
 * hook loads it (vp_table_open with no path, what vp_ctx_load calls) and checked by the built
 * `virt-portfwd check`, given the same file with --config after the command and as the default
 * table; all must give the same verdict and the same messages, and those messages are the
 * parser's own goldens (NAME.err). `check` alone then warns (lint.h): a valid fixture's
 * warnings are its golden NAME.warn. As root; otherwise in a user namespace where we are root
 * (the hook trusts only root's files), or skipped; in a network namespace of its own, where no
 * address is local and nothing listens, so the warnings do not depend on the machine. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "table.h"
#include "tap.h"
#include "util.h"

#define FIX "fixtures/config/"

static char root[] = "/tmp/vp-test-table-load-XXXXXX";
static char table[128];   /* root + /etc/virt-portfwd/forwards.conf */
static const char *bin;

/* What one loading said: the exit status check would give, its stdout and its stderr. */
struct verdict {
	int status;
	char *out, *err;
};

static void verdict_free(struct verdict *v)
{
	free(v->out);
	free(v->err);
}

static char *read_back(const char *path)
{
	char *buf = NULL;
	size_t len;

	if (vp_read_file(path, 1u << 24, false, &buf, &len) < 0)
		return NULL;
	return buf;
}

static int write_file(const char *path, const char *buf, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int r = fd < 0 || write(fd, buf, len) != (ssize_t)len || fchmod(fd, mode) < 0 ? -1 : 0;

	if (fd >= 0)
		close(fd);
	return r;
}

/* The hook's way, in this process, its log (stderr) caught in a file. */
static struct verdict load_as_hook(void)
{
	struct verdict v = {0};
	struct vp_table t;
	char path[128];
	int saved = dup(STDERR_FILENO), fd, r;

	snprintf(path, sizeof(path), "%s/hook.err", root);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	fflush(stderr);
	if (saved < 0 || fd < 0 || dup2(fd, STDERR_FILENO) < 0) {
		printf("Bail out! cannot redirect stderr\n");
		exit(1);
	}
	r = vp_table_open(&t, NULL, false);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(fd);
	v.status = r == 0 ? 0 : 1;
	if (r == 0) {
		struct vp_buf b = {0};
		size_t guests = 0;
		vp_table_n_domains(&t, &guests);
		vp_buf_printf(&b, "%zu forwards for %zu guests, no errors\n", t.n, guests);
		v.out = b.s;
	} else {
		v.out = vp_strndup("", 0);
	}
	v.err = read_back(path);
	vp_table_free(&t);
	return v;
}

/* The built CLI: virt-portfwd ARGV..., stdout and stderr caught in files. */
static struct verdict run_cli(char *const *argv)
{
	struct verdict v = {.status = -1};
	char out[128], err[128];
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int st;

	snprintf(out, sizeof(out), "%s/cli.out", root);
	snprintf(err, sizeof(err), "%s/cli.err", root);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (posix_spawn(&pid, bin, &fa, NULL, argv, environ) == 0 && waitpid(pid, &st, 0) == pid)
		v.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	posix_spawn_file_actions_destroy(&fa);
	v.out = read_back(out);
	v.err = read_back(err);
	return v;
}

static bool same(const struct verdict *a, const struct verdict *b)
{
	return a->status == b->status && a->out && b->out && a->err && b->err &&
	       !strcmp(a->out, b->out) && !strcmp(a->err, b->err);
}

static void show(const char *who, const struct verdict *v)
{
	printf("# %s: exit %d\n# stdout: %s\n# stderr:\n%s", who, v->status,
	       v->out ? v->out : "(none)\n", v->err ? v->err : "(none)\n");
}

/* A golden NAME.EXT (NAME.err, NAME.warn) as the log prints it: "virt-portfwd: " before each
 * line, the fixture's name replaced by the installed path, control characters as '?' (log.c).
 * A NAME.warn that does not exist is empty. */
static char *golden_log(const char *dir, const char *name, const char *ext, size_t *ret_lines)
{
	struct vp_buf path = {0}, b = {0};
	size_t nl = strlen(name), lines = 0;
	char *golden;

	vp_buf_printf(&path, "%s/%.*s.%s", dir, (int)(nl - 5), name, ext);
	golden = strcmp(ext, "warn") || access(path.s, F_OK) == 0 ? tap_fixture(path.s, NULL)
	                                                           : vp_strndup("", 0);
	vp_buf_append(&b, "", 0);
	for (const char *line = golden; *line; lines++) {
		size_t ll = strcspn(line, "\n");
		vp_buf_printf(&b, "virt-portfwd: ");
		for (size_t i = 0; i < ll; i++) {
			unsigned char ch = (unsigned char)line[i];
			if (!strncmp(line + i, name, nl) && line[i + nl] == ':') {
				vp_buf_printf(&b, "%s", table);
				i += nl - 1;
			} else {
				vp_buf_append(&b, ch < 0x20 || ch == 0x7f ? "?" : line + i, 1);
			}
		}
		vp_buf_printf(&b, "\n");
		line += ll + (line[ll] == '\n');
	}
	free(golden);
	vp_buf_free(&path);
	if (ret_lines)
		*ret_lines = lines;
	return b.s;
}

/* The parser's golden NAME.err as the log prints it, then the line that says nothing is
 * applied. */
static char *expected_log(const char *dir, const char *name)
{
	struct vp_buf b = {0};
	char *log = golden_log(dir, name, "err", NULL);

	vp_buf_printf(&b, "%s", log);
	vp_buf_printf(&b, "virt-portfwd: the forward table has errors: nothing is applied from it\n");
	free(log);
	return b.s;
}

/* What `check` says of a fixture the hook loads as it: the same, and the fixture's warnings
 * (NAME.warn, none for an invalid table), counted on the summary line. */
static struct verdict with_warnings(const struct verdict *hook, const char *dir, const char *name)
{
	struct verdict v = {.status = hook->status};
	struct vp_buf out = {0}, err = {0};
	size_t n = 0;
	char *warn = hook->status ? vp_strndup("", 0) : golden_log(dir, name, "warn", &n);
	size_t ol = hook->out ? strlen(hook->out) : 0;

	if (n && ol && hook->out[ol - 1] == '\n')
		vp_buf_printf(&out, "%.*s, %zu warning%s\n", (int)(ol - 1), hook->out, n,
		              n == 1 ? "" : "s");
	else
		vp_buf_printf(&out, "%s", hook->out ? hook->out : "");
	vp_buf_printf(&err, "%s%s", hook->err ? hook->err : "", warn ? warn : "");
	free(warn);
	v.out = out.s;
	v.err = err.s;
	return v;
}

static void one_fixture(const char *dir, const char *name)
{
	struct vp_buf conf = {0};
	char *buf, *want;
	size_t len;
	bool err = strstr(dir, "/err") != NULL;
	char *after[] = {(char *)"virt-portfwd", (char *)"check", (char *)"--config", table, NULL};
	char *dflt[] = {(char *)"virt-portfwd", (char *)"check", NULL};
	struct verdict hook, checked, cli, cli_default;

	vp_buf_printf(&conf, "%s/%s", dir, name);
	buf = tap_fixture(conf.s, &len);
	if (write_file(table, buf, len, 0644) < 0) {
		printf("Bail out! cannot write %s\n", table);
		exit(1);
	}
	hook = load_as_hook();
	checked = with_warnings(&hook, dir, name);
	cli = run_cli(after);
	cli_default = run_cli(dflt);
	if (!tap_ok(same(&checked, &cli), "%s: `check --config` and the hook say the same, and its "
	            "warnings", conf.s)) {
		show("hook, and the warnings", &checked);
		show("check --config", &cli);
	}
	if (!tap_ok(same(&checked, &cli_default), "%s: `check` of the installed table: the same",
	            conf.s))
		show("check", &cli_default);
	tap_ok(hook.status == (err ? 1 : 0), "%s: %s", conf.s, err ? "refused" : "accepted");
	want = err ? expected_log(dir, name) : vp_strndup("", 0);
	tap_streq(hook.err, want, "%s: the messages are the parser's own", conf.s);
	free(want);
	verdict_free(&hook);
	verdict_free(&checked);
	verdict_free(&cli);
	verdict_free(&cli_default);
	free(buf);
	vp_buf_free(&conf);
}

/* Root of a user namespace of our own: our files are then root's, as the hook requires. */
static bool put_proc(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	bool ok = fd >= 0 && write(fd, s, strlen(s)) == (ssize_t)strlen(s);

	if (fd >= 0)
		close(fd);
	return ok;
}

static bool become_root(void)
{
	char uid_map[64], gid_map[64];

	if (geteuid() == 0)
		return true;
	snprintf(uid_map, sizeof(uid_map), "0 %u 1", (unsigned)geteuid());
	snprintf(gid_map, sizeof(gid_map), "0 %u 1", (unsigned)getegid());
	return unshare(CLONE_NEWUSER) == 0 && put_proc("/proc/self/setgroups", "deny") &&
	       put_proc("/proc/self/uid_map", uid_map) && put_proc("/proc/self/gid_map", gid_map) &&
	       geteuid() == 0;
}

static const char *const tree[] = {"etc", "etc/virt-portfwd"};
static const char *const files[] = {"etc/virt-portfwd/forwards.conf", "hook.err", "cli.out",
                                    "cli.err"};

static int cleanup(void)
{
	char p[128];

	for (size_t i = 0; i < VP_ARRAY_SIZE(files); i++) {
		snprintf(p, sizeof(p), "%s/%s", root, files[i]);
		unlink(p);
	}
	for (size_t i = VP_ARRAY_SIZE(tree); i-- > 0;) {
		snprintf(p, sizeof(p), "%s/%s", root, tree[i]);
		rmdir(p);
	}
	return rmdir(root);
}

int main(void)
{
	char dir[128];
	size_t n;

	bin = getenv("VP_BIN");
	if (!bin) {
		printf("Bail out! VP_BIN is not set (meson test sets it)\n");
		return 1;
	}
	if (!become_root()) {
		printf("1..0 # SKIP not root, and no user namespace to be root in\n");
		return 0;
	}
	if (unshare(CLONE_NEWNET) < 0) {
		printf("1..0 # SKIP no network namespace of our own (the warnings read the host)\n");
		return 0;
	}
	if (!mkdtemp(root) || chmod(root, 0755) < 0) {
		printf("Bail out! mkdtemp\n");
		return 1;
	}
	for (size_t i = 0; i < VP_ARRAY_SIZE(tree); i++) {
		snprintf(dir, sizeof(dir), "%s/%s", root, tree[i]);
		mkdir(dir, 0755);
	}
	snprintf(table, sizeof(table), "%s/%s", root, files[0]);
	setenv("VIRT_PORTFWD_ROOT", root, 1);
	vp_log_open(false, true, false);
	n = tap_each_fixture(FIX "err", ".conf", one_fixture);
	tap_ok(n >= 10, "found %zu error fixtures", n);
	n = tap_each_fixture(FIX "ok", ".conf", one_fixture);
	tap_ok(n >= 5, "found %zu valid fixtures", n);
	tap_ok(cleanup() == 0, "temporary tree removed");
	return tap_done();
}
