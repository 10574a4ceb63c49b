/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The firewalld watcher. firewalld < 2.0 (RHEL 8/9, Debian 12's 1.3) flushes every iptables
 * table on `firewall-cmd --reload` and when it starts; libvirt then puts its own rules back (it
 * listens for firewalld on D-Bus), but calls no hook, so our forwards would stay gone. The
 * watcher listens for the same signals (Reloaded, and firewalld's bus name getting an owner),
 * waits until libvirt's rules are back, then does what `virt-portfwd apply` does, in process.
 *
 * Nobody has to start it: the hooks do (vp_firewalld_watch_ensure) when firewalld runs and no
 * watcher does, detached like the lease waiter. One per network namespace; it leaves no file. */
#pragma once

/* From a hook: start the watcher if firewalld has run since boot (/run/firewalld is there) and
 * no watcher runs. Costs the hook one stat on hosts without firewalld. Never waits for the
 * watcher, never fails the hook: a failure is logged. */
void vp_firewalld_watch_ensure(void);
/* The watcher itself (`virt-portfwd watch-firewalld`): runs until the system bus goes away.
 * Exit status: 0 when firewalld neither runs nor has run since boot, or a watcher runs already;
 * 1 on failure. */
int vp_firewalld_watch(void);
