/* SPDX-License-Identifier: GPL-2.0-or-later */
/* add, remove GUEST PROTO HOST, list: the forwards kept in a domain's <metadata>, written
 * through libvirt's API (cli-virt.c). The command line only, never the hook. */
#pragma once

#include <stdbool.h>

struct virt_args {
	const char *uri;        /* --connect, NULL: virsh's default */
	const char *config;     /* -c FILE, NULL: the installed table */
	bool dry_run;
	char *const *words;     /* the command's words: GUEST PROTO HOST ... */
	int n_words;
};

/* Each returns the exit status: 0, or 1 after logging why (nothing was changed). */
int vp_cli_add(const struct virt_args *a);
int vp_cli_unforward(const struct virt_args *a);
int vp_cli_list(const struct virt_args *a);
