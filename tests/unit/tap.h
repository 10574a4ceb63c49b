/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A tiny TAP producer for the unit tests. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Record one check; prints "ok N - name" or "not ok N - name" (+ diagnostics). */
bool tap_ok(bool cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Compare two strings; on mismatch print both as diagnostics. */
bool tap_streq(const char *got, const char *want, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Read a fixture (relative to the test's workdir, tests/unit). Aborts the test if missing. */
char *tap_fixture(const char *path, size_t *ret_len);
/* Remove the tree at path (a test's private directory), as rm -rf would. */
void tap_rmtree(const char *path);
/* fn(dir, name) for each file of dir (relative to tests/unit) whose name ends in ext, in sorted
 * order, so that a new fixture cannot be forgotten. Returns how many (at most 256). */
size_t tap_each_fixture(const char *dir, const char *ext,
                        void (*fn)(const char *dir, const char *name));
/* This process's CPU time in seconds: what a speed check of our own code compares. Another
 * process loading the machine does not count in it, where it would in wall-clock time. */
double tap_now(void);
/* Our own speed, never an absolute bound (that would time the machine): check that T is at most
 * RATIO times BASE, a baseline measured in the same run (BASE counts as at least 100 us). */
bool tap_ratio(double t, double base, double ratio, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Print the plan line and return the exit status: 0 if every check passed. */
int tap_done(void);
