/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The command line: check the table, install/remove one guest's forwards, dry-run anything. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "doctor-status.h"
#include "doctor.h"
#include "domain.h"
#include "guest.h"
#include "hook.h"
#include "log.h"
#include "reconcile.h"
#include "util.h"
#include "waiter.h"

static const char usage[] =
	"Usage: virt-portfwd [OPTIONS] COMMAND\n"
	"\n"
	"Port forwards into libvirt NAT guests, applied by libvirt's qemu hook.\n"
	"\n"
	"Commands:\n"
	"  check              validate the forward table; change nothing (exit 1 on any error)\n"
	"  install            install the forwards of the guest whose live domain XML is on stdin\n"
	"                     (what the hook does on 'started')\n"
	"  remove UUID        remove every rule of that guest (what the hook does on 'stopped')\n"
	"  apply              bring every running guest in line with the table: after editing it,\n"
	"                     after a firewall reload, at boot; removes the rules of stopped guests\n"
	"  flush              remove every rule virt-portfwd installed\n"
	"  status             each running guest's forwards, addresses and what is installed\n"
	"  doctor [--probe] [--json] [GUEST [PORT]]\n"
	"                     check every stage of each forward and say where it stops, and the fix\n"
	"\n"
	"Options:\n"
	"  -c, --config FILE  use FILE as the forward table (default /etc/virt-portfwd/forwards.conf\n"
	"                     and forwards.d/*.conf)\n"
	"  -n, --dry-run      print the planned rules, touch nothing\n"
	"  -v, --verbose      log debugging detail\n"
	"  -h, --help         this text\n"
	"  -V, --version      the version\n";

struct cli_opts {
	const char *config;
	bool dry_run, verbose;
};

static int cmd_check(struct cli_opts *o)
{
	struct vp_ctx c = {0};
	int r = vp_ctx_load(&c, o->config, o->config != NULL);

	if (r == 0)
		printf("%zu forwards for %zu guests, no errors\n", c.table.n,
		       vp_table_n_domains(&c.table));
	vp_ctx_free(&c);
	return r == 0 ? 0 : 1;
}

static int cmd_install(struct cli_opts *o)
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
static int cmd_host(struct cli_opts *o, const char *cmd)
{
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

static int cmd_doctor(struct cli_opts *o, int argc, char **argv)
{
	struct vp_ctx c = {0};
	struct vp_buf out = {0};
	int r;

	c.out = &out;
	vp_ctx_load(&c, o->config, o->config != NULL);   /* a bad table is one of its findings */
	r = vp_doctor(&c, argc, argv);
	if (out.s)
		fputs(out.s, stdout);
	vp_buf_free(&out);
	vp_ctx_free(&c);
	return r;
}

static int cmd_remove(struct cli_opts *o, const char *uuid)
{
	struct vp_ctx c = {.dry_run = o->dry_run};
	struct vp_buf out = {0};
	int r;

	c.out = &out;
	r = vp_guest_remove(&c, uuid);
	if (out.s)
		fputs(out.s, stdout);
	vp_buf_free(&out);
	return r < 0 ? 1 : 0;
}

int vp_cli(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'}, {"dry-run", no_argument, NULL, 'n'},
		{"verbose", no_argument, NULL, 'v'},      {"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},      {NULL, 0, NULL, 0},
	};
	struct cli_opts o = {0};
	int ch;

	while ((ch = getopt_long(argc, argv, "+c:nvhV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': o.config = optarg; break;
		case 'n': o.dry_run = true; break;
		case 'v': o.verbose = true; break;
		case 'h': fputs(usage, stdout); return 0;
		case 'V': puts("virt-portfwd " VERSION); return 0;
		default: fputs(usage, stderr); return 2;
		}
	}
	vp_log_open(false, true, o.verbose);
	const char *cmd = optind < argc ? argv[optind] : NULL;
	if (cmd && !strcmp(cmd, "check"))
		return cmd_check(&o);
	if (cmd && !strcmp(cmd, "install"))
		return cmd_install(&o);
	if (cmd && (!strcmp(cmd, "apply") || !strcmp(cmd, "flush") || !strcmp(cmd, "status")))
		return cmd_host(&o, cmd);
	if (cmd && !strcmp(cmd, "doctor"))
		return cmd_doctor(&o, argc - optind - 1, argv + optind + 1);
	if (cmd && !strcmp(cmd, "__wait-lease") && optind + 2 < argc)   /* internal: see waiter.h */
		return vp_waiter_main(argv[optind + 1], argv[optind + 2]);
	if (cmd && !strcmp(cmd, "remove") && optind + 1 < argc)
		return cmd_remove(&o, argv[optind + 1]);
	fputs(usage, stderr);
	return 2;
}
