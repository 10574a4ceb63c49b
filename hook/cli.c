/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The command line: check the table, install/remove one guest's forwards, dry-run anything. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli-virt.h"
#include "doctor/doctor-status.h"
#include "doctor/doctor.h"
#include "domain.h"
#include "engine.h"
#include "firewalld.h"
#include "hook.h"
#include "lint.h"
#include "log.h"
#include "metadata.h"
#include "reconcile.h"
#include "util.h"
#include "waiter.h"

static const char usage[] =
	"Usage: virt-portfwd [OPTIONS] COMMAND\n"
	"\n"
	"Port forwards into libvirt NAT guests, applied by libvirt's qemu hook.\n"
	"\n"
	"Commands:\n"
	"  check [--strict] [--domain FILE]\n"
	"                     validate the forward table; change nothing (exit 1 on any error);\n"
	"                     warn of forwards the hook would skip or that would take others'\n"
	"                     traffic (--strict: exit 1 on a warning too); with --domain, also\n"
	"                     the forwards in that domain XML's metadata\n"
	"  install            install the forwards of the guest whose live domain XML is on stdin\n"
	"                     (what the hook does on 'started')\n"
	"  remove UUID        remove every rule of that guest (what the hook does on 'stopped')\n"
	"  add GUEST PROTO [ADDR:]HOSTPORT[-END] GUESTPORT[-END] [key=value...]\n"
	"                     keep a forward in the guest's metadata (libvirt's API): in its\n"
	"                     persistent definition, and in the running one, installed at once\n"
	"  remove GUEST PROTO [ADDR:]HOSTPORT[-END]\n"
	"                     take a forward out of the guest's metadata, its rules at once\n"
	"  list [GUEST]       every guest's forwards, from the table and the metadata\n"
	"  apply              bring every running guest in line with the table: after editing it,\n"
	"                     after a firewall reload, at boot; removes the rules of stopped guests\n"
	"  flush              remove every rule virt-portfwd installed\n"
	"  status             each running guest's forwards, addresses and what is installed\n"
	"  doctor [--probe] [--json] [GUEST [PORT]]\n"
	"                     check every stage of each forward and say where it stops, and the fix\n"
	"  watch-firewalld    put the forwards back after each firewalld reload (the hooks start it\n"
	"                     by themselves when firewalld runs)\n"
	"\n"
	"Options, before or after the command ('--' ends them):\n"
	"  -c, --config FILE  use FILE as the forward table (default /etc/virt-portfwd/forwards.conf\n"
	"                     and forwards.d/*.conf)\n"
	"  -n, --dry-run      print the planned rules, touch nothing\n"
	"      --connect URI  libvirt's URI for add, remove and list (default: virsh's)\n"
	"  -v, --verbose      log debugging detail\n"
	"  -h, --help         this text\n"
	"  -V, --version      the version\n";

/* Options may come before or after the command and its words (`check --config FILE` is
 * `--config FILE check`); "--" ends them, for a word that starts with '-'. */
enum { OPT_PROBE = 0x100, OPT_JSON, OPT_STRICT, OPT_DOMAIN, OPT_CONNECT };
static const struct option longopts[] = {
	{"config", required_argument, NULL, 'c'}, {"dry-run", no_argument, NULL, 'n'},
	{"verbose", no_argument, NULL, 'v'},      {"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, 'V'},      {"probe", no_argument, NULL, OPT_PROBE},
	{"json", no_argument, NULL, OPT_JSON},    {"strict", no_argument, NULL, OPT_STRICT},
	{"domain", required_argument, NULL, OPT_DOMAIN},
	{"connect", required_argument, NULL, OPT_CONNECT},
	{NULL, 0, NULL, 0},
};
/* After the command: add takes GUEST PROTO HOST GUEST and the table's 7 options; one more is
 * named in the error. */
#define MAX_WORDS 12

struct cli_opts {
	const char *config;
	const char *domain;                   /* --domain FILE: check only */
	const char *connect;                  /* --connect URI: add, remove, list */
	bool dry_run, verbose, probe, json;   /* --probe and --json: doctor only */
	bool strict;                          /* --strict: check only */
	char *cmd;
	char *words[MAX_WORDS];               /* the command's own words, after its name */
	int n_words;
};

/* The table's warnings (lint.h, and other tools' DNATs: doctor.h), logged; how many there
 * were. */
static size_t check_warnings(const struct vp_table *t)
{
	struct vp_diags w = {0};
	size_t n;
	int r = vp_table_lint(t, &w), rd = r < 0 ? r : vp_lint_dnats(t, &w);

	if (r < 0 || rd == -ENOMEM)
		vp_log(LOG_ERR, "check: out of memory: some warnings may be missing");
	else if (rd == -EPERM)
		vp_log(LOG_NOTICE, "check: the host's firewall rules were not read (not root): other "
		       "tools' DNATs on the forwarded ports (Docker, podman, firewalld) are not looked for");
	for (size_t i = 0; i < w.n; i++)
		vp_log(LOG_WARNING, "%s", w.msg[i]);
	n = w.n;
	vp_diags_free(&w);
	return n;
}

/* check --domain FILE: the forwards of a domain XML's metadata (`virsh dumpxml`), judged as the
 * hook would judge them beside the table t; each error and clash logged with its place. */
static int check_domain(const char *path, const struct vp_table *t)
{
	struct vp_domain d = {0};
	struct vp_table meta = {0};
	struct vp_diags dg = {0};
	char *buf = NULL;
	size_t len;
	int r = vp_read_file(path, VP_DOMAIN_XML_MAX, false, &buf, &len);

	if (r < 0)
		vp_log(LOG_ERR, "cannot read %s: %s", path, strerror(-r));
	else if ((r = vp_domain_parse(buf, len, &d)) < 0)
		vp_log(LOG_ERR, "%s is not a domain XML that libvirt would pass (%s)", path,
		       strerror(-r));
	if (r == 0)
		r = vp_metadata_forwards(t, &d, &meta, &dg);
	for (size_t i = 0; i < dg.n; i++)
		vp_log(LOG_ERR, "%s", dg.msg[i]);
	if (r == -ENOMEM)
		vp_log(LOG_ERR, "check: out of memory");
	if (r == 0) {
		vp_text_sanitize(d.name);
		printf("%zu forwards in the metadata of %s, no errors\n", meta.n, d.name);
	}
	vp_table_free(&meta);
	vp_diags_free(&dg);
	vp_domain_free(&d);
	free(buf);
	return r;
}

static int cmd_check(const struct cli_opts *o)
{
	struct vp_ctx c = {0};
	size_t guests, warnings = 0;
	int r = vp_ctx_load(&c, o->config, o->config != NULL);

	if (r == 0 && (r = vp_table_n_domains(&c.table, &guests)) < 0)
		vp_log(LOG_ERR, "check: out of memory");
	if (r == 0)
		warnings = check_warnings(&c.table);
	if (r == 0 && warnings)
		printf("%zu forwards for %zu guests, no errors, %zu warning%s\n", c.table.n, guests,
		       warnings, warnings == 1 ? "" : "s");
	else if (r == 0)
		printf("%zu forwards for %zu guests, no errors\n", c.table.n, guests);
	if (r == 0 && o->domain)
		r = check_domain(o->domain, &c.table);
	vp_ctx_free(&c);
	return r == 0 && !(o->strict && warnings) ? 0 : 1;
}

static int cmd_install(const struct cli_opts *o)
{
	struct vp_ctx c = {.dry_run = o->dry_run};
	struct vp_buf out = {0};
	struct vp_domain d = {0};
	char *buf = NULL;
	size_t len;
	int r = vp_read_fd(STDIN_FILENO, VP_DOMAIN_XML_MAX, &buf, &len);

	if (r == 0)
		r = vp_domain_parse(buf, len, &d);
	free(buf);
	if (r < 0) {
		vp_log(LOG_ERR, "cannot read the domain XML on stdin: %s", strerror(-r));
		return 1;
	}
	c.out = &out;
	r = vp_ctx_load(&c, o->config, o->config != NULL);
	if (r == 0)
		r = vp_guest_install(&c, &d);
	if (out.s)
		fputs(out.s, stdout);
	vp_buf_free(&out);
	vp_ctx_free(&c);
	vp_domain_free(&d);
	return r < 0 ? 1 : 0;
}

/* apply, flush, status: whole-host commands printing on stdout. */
static int cmd_host(const struct cli_opts *o)
{
	const char *cmd = o->cmd;
	struct vp_ctx c = {.dry_run = o->dry_run || !strcmp(cmd, "status")};
	struct vp_buf out = {0};
	int r;

	c.out = &out;
	r = vp_ctx_load(&c, o->config, o->config != NULL);
	if (r < 0 && strcmp(cmd, "flush") != 0)   /* flush needs no valid table */
		goto out;
	if (!strcmp(cmd, "apply"))
		r = vp_apply_all(&c, NULL);
	else if (!strcmp(cmd, "flush"))
		r = vp_flush_all(&c);
	else
		r = vp_status(&c);
	if (out.s)
		fputs(out.s, stdout);
out:
	vp_buf_free(&out);
	vp_ctx_free(&c);
	return r ? 1 : 0;
}

static int cmd_doctor(const struct cli_opts *o)
{
	struct vp_ctx c = {0};
	struct vp_buf out = {0};
	int r;

	c.out = &out;
	vp_ctx_load(&c, o->config, o->config != NULL);   /* a bad table is one of its findings */
	r = vp_doctor(&c, o->probe, o->json, o->n_words, o->words);
	if (out.s)
		fputs(out.s, stdout);
	vp_buf_free(&out);
	vp_ctx_free(&c);
	return r;
}

/* add, remove GUEST PROTO HOST, list: through libvirt (cli-virt.h). */
static int cmd_virt(const struct cli_opts *o)
{
	struct virt_args a = {.uri = o->connect, .config = o->config, .dry_run = o->dry_run,
	                      .words = o->words, .n_words = o->n_words};

	if (!strcmp(o->cmd, "add"))
		return vp_cli_add(&a);
	if (!strcmp(o->cmd, "list"))
		return vp_cli_list(&a);
	return vp_cli_unforward(&a);
}

static int cmd_remove(const struct cli_opts *o)
{
	const char *uuid = o->words[0];
	struct vp_ctx c = {.dry_run = o->dry_run};
	struct vp_buf out = {0};
	int r;

	if (o->n_words == 3)
		return cmd_virt(o);
	c.out = &out;
	r = vp_guest_remove(&c, uuid);
	if (out.s)
		fputs(out.s, stdout);
	vp_buf_free(&out);
	return r < 0 ? 1 : 0;
}

static int cmd_watch_firewalld(const struct cli_opts *o)
{
	(void)o;
	return vp_firewalld_watch();
}

static int cmd_wait_lease(const struct cli_opts *o)
{
	return vp_waiter_main(o->words[0], o->words[1]);
}

static const struct cli_cmd {
	const char *name;
	int min_words, max_words;
	int (*run)(const struct cli_opts *o);
} commands[] = {
	{"check", 0, 0, cmd_check},   {"install", 0, 0, cmd_install}, {"remove", 1, 3, cmd_remove},
	{"add", 4, 11, cmd_virt},     {"list", 0, 1, cmd_virt},
	{"apply", 0, 0, cmd_host},    {"flush", 0, 0, cmd_host},      {"status", 0, 0, cmd_host},
	{"doctor", 0, 2, cmd_doctor}, {"watch-firewalld", 0, 0, cmd_watch_firewalld},
	{"__wait-lease", 2, 2, cmd_wait_lease},   /* internal: see waiter.h */
};

static int bad_usage(void)
{
	fputs(usage, stderr);
	return 2;
}

/* What is wrong, then the usage: exit status 2. */
static __attribute__((format(printf, 1, 2))) int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("virt-portfwd: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return bad_usage();
}

/* The first word is the command, the others its own. Those beyond MAX_WORDS are dropped: no
 * command takes that many, and it refuses the first one it does not take. */
static void add_word(struct cli_opts *o, char *w)
{
	if (!o->cmd)
		o->cmd = w;
	else if (o->n_words < MAX_WORDS)
		o->words[o->n_words++] = w;
}

/* -1 to go on, else the exit status (--help, --version, a bad option). */
static int parse_args(int argc, char **argv, struct cli_opts *o)
{
	int ch;

	/* "-": words come back in order, as the argument of option 1, whatever POSIXLY_CORRECT
	 * says; getopt_long then permutes nothing. */
	while ((ch = getopt_long(argc, argv, "-c:nvhV", longopts, NULL)) != -1) {
		switch (ch) {
		case 1: add_word(o, optarg); break;
		case 'c': o->config = optarg; break;
		case 'n': o->dry_run = true; break;
		case 'v': o->verbose = true; break;
		case OPT_PROBE: o->probe = true; break;
		case OPT_JSON: o->json = true; break;
		case OPT_STRICT: o->strict = true; break;
		case OPT_DOMAIN: o->domain = optarg; break;
		case OPT_CONNECT: o->connect = optarg; break;
		case 'h': fputs(usage, stdout); return 0;
		case 'V': puts("virt-portfwd " VERSION); return 0;
		default: return bad_usage();   /* getopt said why */
		}
	}
	for (; optind < argc; optind++)   /* after "--" */
		add_word(o, argv[optind]);
	return -1;
}

int vp_cli(int argc, char **argv)
{
	struct cli_opts o = {0};
	const struct cli_cmd *c = NULL;
	int r = parse_args(argc, argv, &o);

	if (r >= 0)
		return r;
	for (size_t i = 0; o.cmd && !c && i < VP_ARRAY_SIZE(commands); i++)
		if (!strcmp(o.cmd, commands[i].name))
			c = &commands[i];
	if (!c)
		return bad_usage();
	if (o.n_words > c->max_words)
		return usage_error("unexpected argument '%s' after %s", o.words[c->max_words], c->name);
	if (o.n_words < c->min_words || (!strcmp(c->name, "remove") && o.n_words == 2))
		return usage_error("%s: missing argument", c->name);
	if ((o.probe || o.json) && strcmp(c->name, "doctor") != 0)
		return usage_error("--probe and --json are options of doctor, not of %s", c->name);
	if (o.strict && strcmp(c->name, "check") != 0)
		return usage_error("--strict is an option of check, not of %s", c->name);
	if (o.domain && strcmp(c->name, "check") != 0)
		return usage_error("--domain is an option of check, not of %s", c->name);
	if (o.connect && strcmp(c->name, "add") && strcmp(c->name, "remove") && strcmp(c->name, "list"))
		return usage_error("--connect is an option of add, remove and list, not of %s", c->name);
	vp_log_open(false, true, o.verbose);
	return c->run(&o);
}
