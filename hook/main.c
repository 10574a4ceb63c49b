/* SPDX-License-Identifier: GPL-2.0-or-later */
/* One executable, several roles (multi-call): libvirt's qemu hook, its network hook, the CLI. */
#include <string.h>

#include "hook.h"

/* Installed as /etc/libvirt/hooks/qemu, or as any name inside /etc/libvirt/hooks/qemu.d/. */
static const char *role(const char *argv0)
{
	const char *slash = strrchr(argv0, '/');
	const char *base = slash ? slash + 1 : argv0;
	size_t dirlen = slash ? (size_t)(slash - argv0) : 0;

	if (!strcmp(base, "qemu") || (dirlen >= 7 && !strncmp(slash - 7, "/qemu.d", 7)))
		return "qemu";
	if (!strcmp(base, "network") || (dirlen >= 10 && !strncmp(slash - 10, "/network.d", 10)))
		return "network";
	return "cli";
}

int main(int argc, char **argv)
{
	const char *r = role(argc > 0 ? argv[0] : "");

	if (!strcmp(r, "qemu"))
		return vp_hook_qemu(argc, argv);
	if (!strcmp(r, "network"))
		return vp_hook_network(argc, argv);
	return vp_cli(argc, argv);
}
