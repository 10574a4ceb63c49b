/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The harnesses without libFuzzer: feed every file of the given directories (the committed
 * corpus, then the regression inputs of crashes found so far) to LLVMFuzzerTestOneInput once.
 * Built with any compiler and run by the unit suite; under the sanitizer build it checks the
 * same inputs with ASan and UBSan. A crash or a broken invariant (abort) fails the test.
 *
 * Usage: replay-NAME CORPUS-DIR [REGRESSIONS-DIR]   (REGRESSIONS-DIR may be missing) */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"
#include "tap.h"
#include "util.h"

/* Larger than any input the parsers accept whole, so the size bounds get replayed too. */
#define REPLAY_MAX_INPUT (64u << 20)

/* Replay one file. The input goes into a buffer of exactly its size (vp_read_file adds a NUL
 * past the end), so that a read one byte too far is caught by ASan or valgrind. */
static int replay_file(const char *path)
{
	char *buf = NULL;
	uint8_t *exact = NULL;
	size_t len;
	int r = vp_read_file(path, REPLAY_MAX_INPUT, true, &buf, &len);

	if (r < 0)
		goto out;
	exact = malloc(len ? len : 1);
	if (!exact) {
		r = -ENOMEM;
		goto out;
	}
	memcpy(exact, buf, len);
	/* If the harness crashes, the log must say which input did it. */
	printf("# replaying %s (%zu bytes)\n", path, len);
	fflush(stdout);
	LLVMFuzzerTestOneInput(exact, len);
out:
	free(exact);
	free(buf);
	return r;
}

static bool is_regular(const char *dir, const char *name)
{
	struct stat st;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r;

	if (dfd < 0)
		return false;
	r = fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW);
	close(dfd);
	return r == 0 && S_ISREG(st.st_mode);
}

/* Every regular, non-hidden file of dir, in name order. Returns how many, or -errno. */
static int replay_dir(const char *dir)
{
	struct dirent **ents = NULL;
	char path[4096];
	int n = scandir(dir, &ents, NULL, alphasort), done = 0;

	if (n < 0)
		return -errno;
	for (int i = 0; i < n; i++) {
		const char *name = ents[i]->d_name;
		if (name[0] != '.' && is_regular(dir, name)) {
			int r = snprintf(path, sizeof(path), "%s/%s", dir, name) < (int)sizeof(path)
			        ? replay_file(path) : -ENAMETOOLONG;
			tap_ok(r == 0, "%s%s%s", path, r < 0 ? ": " : "", r < 0 ? strerror(-r) : "");
			done++;
		}
		free(ents[i]);
	}
	free(ents);
	return done;
}

int main(int argc, char **argv)
{
	int n;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: %s CORPUS-DIR [REGRESSIONS-DIR]\n", argv[0]);
		return 2;
	}
	/* The corpus is committed: an empty or missing one is a broken checkout or a wrong path. */
	n = replay_dir(argv[1]);
	tap_ok(n > 0, "corpus %s has inputs (%d)", argv[1], n);
	if (argc == 3) {
		n = replay_dir(argv[2]);
		if (n == -ENOENT)
			printf("# no regression inputs in %s\n", argv[2]);
		else
			tap_ok(n >= 0, "regression inputs of %s readable", argv[2]);
	}
	return tap_done();
}
