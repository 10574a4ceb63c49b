/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* libvirt's qemu hook: argv = <hook> <domain> <operation> <sub-operation> <extra>, domain XML on
 * stdin. Never writes stdout; exit 0 unless `set on-error abort` and an install failed. */
int vp_hook_qemu(int argc, char **argv);
/* libvirt's network hook: argv = <hook> <network> <operation> <sub-operation>. */
int vp_hook_network(int argc, char **argv);
/* The command line interface. */
int vp_cli(int argc, char **argv);
