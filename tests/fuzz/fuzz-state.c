/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer harness: what the hook reads back from its state directory, /run/virt-portfwd/:
 * a guest's state file "<uuid>" (vp_state_read: backend, families, name, network), its
 * "<uuid>.rules" file (vp_rules_read: which backend's record follows, if any) and the doctor's
 * "<uuid>.doctor" counters (dr_counters_time, dr_counters_get); each input is each of them in
 * turn. The state is written back (vp_state_write) and looked up by the guest's name
 * (vp_state_lookup_name), as the hook does between two events of a guest, and removed.
 *
 * The functions work on a directory: the harness has its own (under /dev/shm, else TMPDIR),
 * made on the first input, empty after each one, removed at exit. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <unistd.h>

#include "fuzz.h"
#include "doctor-int.h"
#include "state.h"
#include "util.h"

#define UUID "c0ffee00-0000-4000-8000-00000000000a"
#define STATE_MAX 4096   /* state.c: a larger state file is refused, not cut */

static char dir_path[64];
static int dir_fd = -1;

static void dir_remove(void)
{
	if (dir_fd >= 0)
		close(dir_fd);
	if (dir_path[0])
		rmdir(dir_path);
}

static int state_dir(void)
{
	const char *tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");

	if (dir_fd >= 0)
		return dir_fd;
	snprintf(dir_path, sizeof(dir_path), "%s/vp-fuzz-state.XXXXXX", tmp ? tmp : "/tmp");
	if (!mkdtemp(dir_path)) {
		dir_path[0] = '\0';
		return -1;
	}
	atexit(dir_remove);
	dir_fd = open(dir_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return dir_fd;
}

/* Whether the directory holds nothing (after an input: what the functions made, they removed). */
static bool dir_empty(int dirfd)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *dp = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *e;
	bool empty = true;

	FUZZ_ASSERT(dp != NULL);
	while ((e = readdir(dp)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			empty = false;
	closedir(dp);
	return empty;
}

static void put(int dirfd, const char *name, const uint8_t *data, size_t size)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	FUZZ_ASSERT(fd >= 0);
	FUZZ_ASSERT(write(fd, data, size) == (ssize_t)size);
	close(fd);
}

/* state.c writes each field with its control bytes as '?': the state as it reads back. */
static void written(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20)
			*s = '?';
}

/* state.c: a name is indexed (looked up without the domain XML) when it can be a file name. */
static bool indexable(const char *name)
{
	size_t n = strlen(name);

	if (!n || n > 200 || strchr(name, '/'))
		return false;
	for (; *name; name++)
		if ((unsigned char)*name < 0x20 || *name == 0x7f)
			return false;
	return true;
}

static void check_state(int dirfd, const struct vp_state *s)
{
	struct vp_state again, want = *s;
	char uuid[64] = "";
	int r;

	FUZZ_ASSERT_STR(s->backend);
	FUZZ_ASSERT_STR(s->name);
	FUZZ_ASSERT_STR(s->network);
	FUZZ_ASSERT(s->families <= 3);
	/* Written back, it reads the same, and the guest's name finds it. */
	FUZZ_ASSERT(vp_state_write(dirfd, UUID, s) == 0);
	FUZZ_ASSERT(vp_state_read(dirfd, UUID, &again) == 0);
	written(want.backend);
	written(want.name);
	written(want.network);
	FUZZ_ASSERT(!strcmp(again.backend, want.backend) && !strcmp(again.name, want.name) &&
	            !strcmp(again.network, want.network) && again.families == want.families);
	r = vp_state_lookup_name(dirfd, s->name, uuid, sizeof(uuid));
	FUZZ_ASSERT(indexable(s->name) ? r == 1 && !strcmp(uuid, UUID) : r == -EAGAIN);
}

static void state_file(int dirfd, const uint8_t *data, size_t size)
{
	struct vp_state s;
	int r;

	put(dirfd, UUID, data, size);
	memset(&s, 0xa5, sizeof(s));
	r = vp_state_read(dirfd, UUID, &s);
	FUZZ_ASSERT(r == 0 || r == -EFBIG || r == -ENOMEM);
	FUZZ_ASSERT((r == -EFBIG) == (size > STATE_MAX));
	if (r == 0)
		check_state(dirfd, &s);
	FUZZ_ASSERT(vp_state_remove(dirfd, UUID) == 0);
	FUZZ_ASSERT(dir_empty(dirfd));
}

/* The first line names the backend whose record the rest is; "none" that there is no rule. */
static void rules_file(int dirfd, const uint8_t *data, size_t size)
{
	static const char *const backends[] = {"iptables-nft", "nftables", "iptables-legacy"};
	size_t text = strnlen((const char *)data, size);   /* what the string functions see */

	FUZZ_ASSERT(vp_state_put(dirfd, UUID, "rules", (const char *)data, size) == 0);
	for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++) {
		size_t bl = strlen(backends[i]);
		bool known = size > bl && !memcmp(data, backends[i], bl) && data[bl] == '\n';
		struct vp_record rec;

		vp_rules_read(dirfd, UUID, backends[i], &rec);
		if (rec.kind == VP_RULES_KNOWN) {
			FUZZ_ASSERT(known && rec.body);
			/* The record is the rest, as a string: up to its first NUL, if any. */
			FUZZ_ASSERT(strlen(rec.body) == (text > bl ? text - bl - 1 : 0));
			FUZZ_ASSERT(!memcmp(rec.body, data + bl + 1, strlen(rec.body)));
		} else {
			FUZZ_ASSERT(!rec.body && (rec.kind == VP_RULES_UNKNOWN || rec.kind == VP_RULES_NONE));
			FUZZ_ASSERT(!known || size > VP_RULES_MAX);
			FUZZ_ASSERT(rec.kind != VP_RULES_NONE || (text == 5 && !memcmp(data, "none\n", 5)));
		}
		vp_record_free(&rec);
	}
	FUZZ_ASSERT(vp_state_drop(dirfd, UUID, "rules") == 0);
}

/* "time UNIXTIME" and "PACKETS<TAB>KEY" lines: each key with a number reads back. */
static void counters_file(const uint8_t *data, size_t size)
{
	char *text = vp_strndup((const char *)data, size);   /* as vp_state_get gives it */
	uint64_t p;

	if (!text)
		return;
	FUZZ_ASSERT(dr_counters_time(text) >= -1);
	for (char *line = text, *next; line && *line; line = next) {
		char *tab = strchr(line, '\t'), *eol = strchr(line, '\n');
		unsigned long v;
		next = eol ? eol + 1 : NULL;
		if (!tab || (eol && tab > eol))
			continue;
		if (vp_parse_uint(line, (size_t)(tab - line), 0, ULONG_MAX, &v) < 0)
			continue;
		char *key = vp_strndup(tab + 1, eol ? (size_t)(eol - tab - 1) : strlen(tab + 1));
		if (!key)
			break;
		FUZZ_ASSERT(dr_counters_get(text, key, &p));
		free(key);
	}
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int dirfd = state_dir();

	FUZZ_ASSERT(dirfd >= 0);
	state_file(dirfd, data, size);
	rules_file(dirfd, data, size);
	counters_file(data, size);
	FUZZ_ASSERT(dir_empty(dirfd));
	return 0;
}
