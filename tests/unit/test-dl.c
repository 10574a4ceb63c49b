/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The libraries loaded on demand (lib/dl.h): libnftables, libiptc, libvirt. Each loads by the
 * soname we built against, with every symbol of its table resolved; a missing library or symbol
 * makes it unavailable (-ELIBACC, no pointer left set, logged once), never a crash. No root
 * needed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dl.h"
#include "dl-virt.h"
#include "dl-sdbus.h"
#ifdef HAVE_LIBNFTABLES
#include "dl-nft.h"
#endif
#ifdef HAVE_LIBIPTC
#include "dl-iptc.h"
#endif
#include "tap.h"

static void loads_whole(const struct vp_dl_lib *l, int (*load)(void))
{
	size_t missing = 0;

	tap_ok(load() == 0, "%s loads", l->soname);
	for (size_t i = 0; i < l->n_sym; i++)
		if (!*l->sym[i].fn) {
			tap_ok(false, "%s: %s resolved", l->soname, l->sym[i].name);
			missing++;
		}
	tap_ok(l->n_sym > 0 && missing == 0, "%s: all %zu symbols of its table resolved",
	       l->soname, l->n_sym);
	tap_ok(load() == 0 && l->r == 1, "%s: loading it again keeps it", l->soname);
}

/* What two vp_dl_open(l) in a row log, and what they return. */
static char *log_of_two_opens(struct vp_dl_lib *l, int *ret1, int *ret2)
{
	int fd = memfd_create("log", MFD_CLOEXEC), saved = dup(STDERR_FILENO);
	char *text = calloc(1, 4096);
	ssize_t n;

	fflush(stderr);
	if (fd < 0 || saved < 0 || !text || dup2(fd, STDERR_FILENO) < 0)
		abort();
	*ret1 = vp_dl_open(l);
	*ret2 = vp_dl_open(l);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	n = pread(fd, text, 4095, 0);
	close(fd);
	if (n < 0)
		n = 0;
	text[n] = '\0';
	return text;
}

static size_t lines(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static void unavailable(void)
{
	static void *present, *absent;
	static const struct vp_dl_sym syms[] = {{&present, "printf"},
	                                        {&absent, "vp_no_such_function"}};
	struct vp_dl_lib lib = {.soname = "libc.so.6", .what = "a test", .sym = syms, .n_sym = 2};
	struct vp_dl_lib gone = {.soname = "libvp-no-such-library.so.0", .what = "a test",
	                         .sym = syms, .n_sym = 2};
	int r1, r2;
	char *log = log_of_two_opens(&lib, &r1, &r2);

	tap_ok(r1 == -ELIBACC && r2 == -ELIBACC, "a symbol missing: -ELIBACC, twice (%d, %d)", r1,
	       r2);
	tap_ok(!present && !absent, "a symbol missing: no pointer of the table is left set");
	tap_ok(lines(log) == 1 && strstr(log, "libc.so.6") && strstr(log, "vp_no_such_function"),
	       "a symbol missing: logged once, naming the library and the symbol: %s", log);
	free(log);
	log = log_of_two_opens(&gone, &r1, &r2);
	tap_ok(r1 == -ELIBACC && r2 == -ELIBACC && !present,
	       "a library missing: -ELIBACC, twice (%d, %d)", r1, r2);
	tap_ok(lines(log) == 1 && strstr(log, "cannot load libvp-no-such-library.so.0"),
	       "a library missing: logged once: %s", log);
	free(log);
}

int main(void)
{
#ifdef HAVE_LIBNFTABLES
	loads_whole(&vp_dl_libnftables, vp_dl_nft);
#endif
#ifdef HAVE_LIBIPTC
	loads_whole(&vp_dl_libip4tc, vp_dl_iptc);
	loads_whole(&vp_dl_libip6tc, vp_dl_iptc);
#endif
	loads_whole(&vp_dl_libvirt, vp_dl_virt);
	/* sd-bus's prototypes are our own (dl-sdbus.h): libsystemd has every one of them. */
	if (access("/usr/lib/x86_64-linux-gnu/libsystemd.so.0", F_OK) == 0 ||
	    access("/lib64/libsystemd.so.0", F_OK) == 0 || access("/usr/lib64/libsystemd.so.0", F_OK) == 0)
		loads_whole(&vp_dl_libsystemd, vp_dl_sdbus);
	unavailable();
	return tap_done();
}
