/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "state.h"

#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plan.h"
#include "util.h"

#define STATE_MAX 4096

int vp_state_open_dir(void)
{
	char path[4096];
	struct stat st;
	int r = vp_path(path, sizeof(path), "%s", VP_STATE_DIR), fd;

	if (r < 0)
		return r;
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return -errno;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || st.st_uid != geteuid() || (st.st_mode & 0077)) {
		close(fd);
		return -EPERM;
	}
	return fd;
}

/* A file of the state directory, for reading: a regular file only (a FIFO or a device planted
 * there must neither block the hook nor be read). The fd (O_CLOEXEC) or -errno. */
static int open_regular(int dirfd, const char *name)
{
	struct stat st;
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	return fd;
}

/* A uuid is used as a file name: accept only what a normalised uuid contains. */
static bool safe_name(const char *uuid)
{
	size_t n = strlen(uuid);
	return n > 0 && n < 64 && strspn(uuid, "0123456789abcdef-") == n;
}

/* "addr <mac> <address>": a MAC of 17 characters and an address; anything else is dropped. */
static void parse_addr(struct vp_state *s, const char *val)
{
	struct vp_state_addr *a = &s->addr[s->n_addr];
	const char *ip = val + 18;

	if (s->n_addr >= VP_STATE_ADDR_MAX || strlen(val) < 19 || val[17] != ' ')
		return;
	memcpy(a->mac, val, 17);
	a->mac[17] = '\0';
	if (strspn(a->mac, "0123456789abcdef:") == 17 && vp_addr_parse(ip, strlen(ip), &a->ip) == 0)
		s->n_addr++;
}

static void parse_line(struct vp_state *s, char *line)
{
	char *val = strchr(line, ' ');
	unsigned long v;

	if (!val)
		return;
	*val++ = '\0';
	if (!strcmp(line, "backend"))
		snprintf(s->backend, sizeof(s->backend), "%s", val);
	else if (!strcmp(line, "name"))
		snprintf(s->name, sizeof(s->name), "%s", val);
	else if (!strcmp(line, "network"))
		snprintf(s->network, sizeof(s->network), "%s", val);
	else if (!strcmp(line, "families") && vp_parse_uint(val, strlen(val), 0, 3, &v) == 0)
		s->families = (unsigned)v;
	else if (!strcmp(line, "addr"))
		parse_addr(s, val);
}

int vp_state_read(int dirfd, const char *uuid, struct vp_state *ret)
{
	struct vp_state s;
	char *buf = NULL, *next;
	size_t len;
	int fd, r;

	if (!safe_name(uuid))
		return -EINVAL;
	memset(&s, 0, sizeof(s));
	fd = open_regular(dirfd, uuid);
	if (fd < 0)
		return fd;
	r = vp_read_fd(fd, STATE_MAX, &buf, &len);
	close(fd);
	if (r < 0)
		return r;
	for (char *line = buf; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		parse_line(&s, line);
	}
	free(buf);
	*ret = s;
	return 0;
}

/* Names may hold any byte but newline matters to our format: replace control bytes. */
static void put_field(struct vp_buf *b, const char *key, const char *val)
{
	vp_buf_printf(b, "%s ", key);
	for (const char *p = val; *p; p++)
		vp_buf_append(b, (unsigned char)*p < 0x20 ? "?" : p, 1);
	vp_buf_append(b, "\n", 1);
}

/* Write the file tmp: replacing it, or with excl only as a new file (-EEXIST). */
static int write_tmp(int dirfd, const char *tmp, const char *buf, size_t len, bool excl)
{
	int fd, r = 0;

	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | (excl ? O_EXCL : O_TRUNC) | O_NOFOLLOW |
	            O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	errno = 0;
	if (write(fd, buf, len) != (ssize_t)len)
		r = errno ? -errno : -EIO;
	if (close(fd) < 0 && !r)
		r = -errno;
	if (r)
		unlinkat(dirfd, tmp, 0);
	return r;
}

/* Write name atomically (temporary file, then rename). Under our lock the temporary name is
 * fixed (a run killed halfway leaves it where vp_state_sweep looks); outside it (unlocked: the
 * waiter's files, the doctor's counters) two writers may meet, and each has a file of its own,
 * made with O_EXCL: one left by a dead process of the same pid is replaced once. */
static int put_file_as(int dirfd, const char *name, const char *buf, size_t len, bool unlocked)
{
	char tmp[160];
	int r;

	if (unlocked)
		snprintf(tmp, sizeof(tmp), ".%s.%d.tmp", name, (int)getpid());
	else
		snprintf(tmp, sizeof(tmp), ".%s.tmp", name);
	r = write_tmp(dirfd, tmp, buf, len, unlocked);
	if (r == -EEXIST && unlinkat(dirfd, tmp, 0) == 0)
		r = write_tmp(dirfd, tmp, buf, len, true);
	if (!r && renameat(dirfd, tmp, dirfd, name) < 0) {
		r = -errno;
		unlinkat(dirfd, tmp, 0);
	}
	return r;
}

/* The name index "n.<name>": a hard link to the state file of the guest of that name, so that
 * an event for a guest can be told to concern nothing stored without the guest's uuid (which
 * only its domain XML holds). Names that cannot be a file name are not indexed. */
static int index_name(const char *name, char *out, size_t n)
{
	size_t len = strlen(name);

	if (!len || len > 200 || strchr(name, '/'))
		return -EINVAL;
	for (const char *p = name; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return -EINVAL;
	snprintf(out, n, "n.%s", name);
	return 0;
}

/* Unlink the index of name if it is the state file of uuid. */
static void index_drop(int dirfd, const char *name, const char *uuid)
{
	char idx[256];
	struct stat a, b;

	if (index_name(name, idx, sizeof(idx)) == 0 &&
	    fstatat(dirfd, idx, &a, AT_SYMLINK_NOFOLLOW) == 0 &&
	    fstatat(dirfd, uuid, &b, AT_SYMLINK_NOFOLLOW) == 0 && a.st_ino == b.st_ino)
		unlinkat(dirfd, idx, 0);
}

/* The new state file is linked as the index first, then renamed over the old one: a state file
 * is never without its index, except after an interruption, which vp_state_name_free sees. */
static int put_state(int dirfd, const char *uuid, const char *name, const char *buf, size_t len)
{
	char tmp[128], itmp[128], idx[256];
	int r;

	snprintf(tmp, sizeof(tmp), ".%s.tmp", uuid);
	snprintf(itmp, sizeof(itmp), ".%s.idx", uuid);
	if ((r = write_tmp(dirfd, tmp, buf, len, false)) < 0)
		return r;
	if (index_name(name, idx, sizeof(idx)) == 0) {
		unlinkat(dirfd, itmp, 0);
		if (linkat(dirfd, tmp, dirfd, itmp, 0) < 0 || renameat(dirfd, itmp, dirfd, idx) < 0)
			unlinkat(dirfd, itmp, 0);   /* no index: the fast path stays off, no harm */
	}
	if (renameat(dirfd, tmp, dirfd, uuid) < 0) {
		r = -errno;
		unlinkat(dirfd, tmp, 0);
	}
	return r;
}

int vp_state_write(int dirfd, const char *uuid, const struct vp_state *s)
{
	struct vp_state old;
	struct vp_buf b = {0};
	int r;

	if (!safe_name(uuid))
		return -EINVAL;
	if (vp_state_read(dirfd, uuid, &old) == 0 && strcmp(old.name, s->name))
		index_drop(dirfd, old.name, uuid);   /* renamed: the old name's index goes */
	put_field(&b, "backend", s->backend);
	vp_buf_printf(&b, "families %u\n", s->families);
	put_field(&b, "name", s->name);
	put_field(&b, "network", s->network);
	for (size_t i = 0; i < s->n_addr && i < VP_STATE_ADDR_MAX; i++) {
		char a[VP_ADDR_STRLEN];
		vp_buf_printf(&b, "addr %.17s %s\n", s->addr[i].mac, vp_addr_str(&s->addr[i].ip, a));
	}
	r = b.err ? b.err : put_state(dirfd, uuid, s->name, b.s, b.len);
	vp_buf_free(&b);
	return r;
}

static int side_name(const char *uuid, const char *kind, char *out, size_t n)
{
	if (!safe_name(uuid) || (strcmp(kind, "xml") && strcmp(kind, "waiter") &&
	                         strcmp(kind, "rules") && strcmp(kind, "doctor") &&
	                         strcmp(kind, "dnat")))
		return -EINVAL;
	snprintf(out, n, "%s.%s", uuid, kind);
	return 0;
}

int vp_state_put(int dirfd, const char *uuid, const char *kind, const char *buf, size_t len)
{
	char name[96];
	int r = side_name(uuid, kind, name, sizeof(name));
	/* "dnat" is written by the engine under our lock, with the name vp_state_sweep knows; the
	 * waiter's files and the doctor's counters are written without it. */
	return r < 0 ? r : put_file_as(dirfd, name, buf, len, strcmp(kind, "dnat") != 0);
}

int vp_state_get(int dirfd, const char *uuid, const char *kind, size_t max, char **ret_buf,
                 size_t *ret_len)
{
	char name[96];
	int fd, r = side_name(uuid, kind, name, sizeof(name));

	if (r < 0)
		return r;
	fd = open_regular(dirfd, name);
	if (fd < 0)
		return fd;
	r = vp_read_fd(fd, max, ret_buf, ret_len);
	close(fd);
	return r;
}

int vp_state_drop(int dirfd, const char *uuid, const char *kind)
{
	char name[96];
	int r = side_name(uuid, kind, name, sizeof(name));
	if (r < 0)
		return r;
	return unlinkat(dirfd, name, 0) < 0 && errno != ENOENT ? -errno : 0;
}

int vp_state_remove(int dirfd, const char *uuid)
{
	struct vp_state old;
	int r;

	if (!safe_name(uuid))
		return -EINVAL;
	if (vp_state_read(dirfd, uuid, &old) == 0)
		index_drop(dirfd, old.name, uuid);
	r = unlinkat(dirfd, uuid, 0) < 0 && errno != ENOENT ? -errno : 0;
	if (r == 0)
		vp_state_sweep(dirfd, uuid);   /* a write of it killed halfway, earlier */
	return r;
}

static int put_file(int dirfd, const char *name, const char *buf, size_t len)
{
	return put_file_as(dirfd, name, buf, len, false);
}

static DIR *open_dir(int dirfd);

/* The temporary files a write of uuid's state or rules leaves when it is killed halfway
 * (put_state, put_file), in the order it makes them. */
static int debris_name(const char *uuid, unsigned i, char *out, size_t n)
{
	static const char *const suffix[] = {"tmp", "idx", "rules.tmp", "dnat.tmp"};

	if (i >= sizeof(suffix) / sizeof(suffix[0]))
		return -ENOENT;
	snprintf(out, n, ".%s.%s", uuid, suffix[i]);
	return 0;
}

bool vp_state_has_debris(int dirfd, const char *uuid)
{
	char name[128];

	for (unsigned i = 0; safe_name(uuid) && debris_name(uuid, i, name, sizeof(name)) == 0; i++)
		if (faccessat(dirfd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
			return true;
	return false;
}

/* Unlink every index entry that is a link to the inode ino. */
static void index_drop_ino(int dirfd, ino_t ino)
{
	DIR *dp = open_dir(dirfd);
	struct dirent *e;

	if (!dp)
		return;
	while ((e = readdir(dp)))
		if (!strncmp(e->d_name, "n.", 2) && e->d_ino == ino)
			unlinkat(dirfd, e->d_name, 0);
	closedir(dp);
}

void vp_state_sweep(int dirfd, const char *uuid)
{
	char name[128];
	struct stat st;

	if (!safe_name(uuid))
		return;
	/* A killed put_state may have indexed its temporary file already. */
	debris_name(uuid, 0, name, sizeof(name));
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
	    st.st_nlink > 1)
		index_drop_ino(dirfd, st.st_ino);
	for (unsigned i = 0; debris_name(uuid, i, name, sizeof(name)) == 0; i++)
		unlinkat(dirfd, name, 0);
}

/* A stream over the directory from its start, on its own fd (closedir() closes it, exec never
 * sees it); NULL with errno set. */
static DIR *open_dir(int dirfd)
{
	int fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
	DIR *dp = fd >= 0 ? fdopendir(fd) : NULL;

	if (!dp) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		errno = e;
		return NULL;
	}
	rewinddir(dp);
	return dp;
}

struct ent {
	ino_t ino;
	char uuid[64];   /* empty for an index entry */
};

static int cmp_ent(const void *a, const void *b)
{
	ino_t x = ((const struct ent *)a)->ino, y = ((const struct ent *)b)->ino;
	return (x > y) - (x < y);
}

/* One pass over the directory: state files and index entries (by inode), the inode of the
 * index entry want, whether any lease waiter runs. */
struct scan {
	struct ent *st, *ix;
	size_t n_st, n_ix, cap_st, cap_ix;
	ino_t want;
	bool want_found, waiter;
};

/* Append an entry to *v (of *n, room for *cap). */
static int push(struct ent **v, size_t *n, size_t *cap, ino_t ino, const char *uuid)
{
	if (vp_grow(v, cap, *n + 1, sizeof(**v)) < 0)
		return -ENOMEM;
	(*v)[*n].ino = ino;
	snprintf((*v)[*n].uuid, sizeof((*v)[*n].uuid), "%s", uuid);
	(*n)++;
	return 0;
}

static int scan_dir(int dirfd, const char *want, struct scan *sc)
{
	DIR *dp = open_dir(dirfd);
	struct dirent *e;
	int r = 0;

	if (!dp)
		return -errno;
	while (r == 0 && (e = readdir(dp))) {
		const char *dot = strrchr(e->d_name, '.');
		if (safe_name(e->d_name)) {
			r = push(&sc->st, &sc->n_st, &sc->cap_st, e->d_ino, e->d_name);
		} else if (!strncmp(e->d_name, "n.", 2)) {
			r = push(&sc->ix, &sc->n_ix, &sc->cap_ix, e->d_ino, "");
			if (!strcmp(e->d_name, want)) {
				sc->want_found = true;
				sc->want = e->d_ino;
			}
		} else if ((dot && !strcmp(dot, ".waiter")) ||
		           (e->d_name[0] == '.' && strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))) {
			sc->waiter = true;   /* a waiter runs, or a write was killed: unsettled */
		}
	}
	closedir(dp);
	return r;
}

/* Every state file has its index entry and every index entry its state file. */
static bool paired(struct scan *sc)
{
	if (sc->n_st != sc->n_ix)
		return false;
	if (sc->n_st == 0)
		return true;   /* and no array to sort: qsort wants one */
	qsort(sc->st, sc->n_st, sizeof(*sc->st), cmp_ent);
	qsort(sc->ix, sc->n_ix, sizeof(*sc->ix), cmp_ent);
	for (size_t i = 0; i < sc->n_st; i++)
		if (sc->st[i].ino != sc->ix[i].ino)
			return false;
	return true;
}

int vp_state_lookup_name(int dirfd, const char *name, char *ret_uuid, size_t n)
{
	struct scan sc = {0};
	char idx[256];
	int r = -EAGAIN;

	if (index_name(name, idx, sizeof(idx)) < 0 || scan_dir(dirfd, idx, &sc) < 0 ||
	    sc.waiter || !paired(&sc))
		goto out;
	if (!sc.want_found) {
		r = 0;
		goto out;
	}
	for (size_t i = 0; i < sc.n_st; i++)
		if (sc.st[i].ino == sc.want && strlen(sc.st[i].uuid) < n) {
			memcpy(ret_uuid, sc.st[i].uuid, strlen(sc.st[i].uuid) + 1);
			r = 1;
		}
out:
	free(sc.st);
	free(sc.ix);
	return r;
}

void vp_state_list_free(char **list)
{
	if (!list)
		return;
	for (char **p = list; *p; p++)
		free(*p);
	free(list);
}

int vp_state_list(int dirfd, char ***ret, size_t *ret_n)
{
	DIR *dp = open_dir(dirfd);
	struct dirent *e;
	char **list = NULL;
	size_t n = 0, cap = 0;
	int r = 0;

	if (!dp)
		return -errno;
	while ((e = readdir(dp))) {
		if (!safe_name(e->d_name))
			continue;   /* ".", "lock", side files, temporaries */
		char *name = strdup(e->d_name);
		if (!name || vp_grow(&list, &cap, n + 2, sizeof(*list)) < 0) {
			free(name);
			r = -ENOMEM;
			break;
		}
		list[n++] = name;
		list[n] = NULL;
	}
	closedir(dp);
	if (r < 0 || !list) {
		if (list)
			list[n] = NULL;
		vp_state_list_free(list);
		if (r < 0)
			return r;
		list = calloc(1, sizeof(*list));
		if (!list)
			return -ENOMEM;
	}
	*ret = list;
	*ret_n = n;
	return 0;
}

void vp_rules_read(int dirfd, const char *uuid, const char *backend, struct vp_record *ret)
{
	char *buf = NULL;
	size_t len, bl = strlen(backend);

	*ret = (struct vp_record){.kind = VP_RULES_UNKNOWN};
	if (vp_state_get(dirfd, uuid, "rules", VP_RULES_MAX, &buf, &len) < 0)
		return;
	if (!strcmp(buf, "none\n")) {
		ret->kind = VP_RULES_NONE;
	} else if (len > bl && !memcmp(buf, backend, bl) && buf[bl] == '\n') {
		memmove(buf, buf + bl + 1, len - bl);   /* with the NUL */
		*ret = (struct vp_record){.kind = VP_RULES_KNOWN, .body = buf};
		return;
	}
	free(buf);
}

int vp_rules_write(int dirfd, const char *uuid, const char *backend, const char *body)
{
	struct vp_buf b = {0};
	char name[96];
	int r = side_name(uuid, "rules", name, sizeof(name));

	if (r < 0)
		return r;
	if (body)
		vp_buf_printf(&b, "%s\n%s", backend, body);
	else
		vp_buf_printf(&b, "unknown\n");
	r = b.err ? b.err : put_file(dirfd, name, b.s, b.len);
	vp_buf_free(&b);
	return r;
}

int vp_rules_mark_new(int dirfd, const char *uuid)
{
	char name[96];
	int r = side_name(uuid, "rules", name, sizeof(name));

	if (r < 0)
		return r;
	if (faccessat(dirfd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		return 0;
	return errno == ENOENT ? put_file(dirfd, name, "none\n", 5) : -errno;
}
