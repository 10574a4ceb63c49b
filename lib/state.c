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

/* A uuid is used as a file name: accept only what a normalised uuid contains. */
static bool safe_name(const char *uuid)
{
	size_t n = strlen(uuid);
	return n > 0 && n < 64 && strspn(uuid, "0123456789abcdef-") == n;
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
	fd = openat(dirfd, uuid, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
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

/* Write name atomically (temporary file, then rename). */
static int put_file(int dirfd, const char *name, const char *buf, size_t len)
{
	char tmp[128];
	int fd, r = 0;

	snprintf(tmp, sizeof(tmp), ".%s.tmp", name);
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	errno = 0;
	if (write(fd, buf, len) != (ssize_t)len)
		r = errno ? -errno : -EIO;
	if (close(fd) < 0 && !r)
		r = -errno;
	if (!r && renameat(dirfd, tmp, dirfd, name) < 0)
		r = -errno;
	if (r)
		unlinkat(dirfd, tmp, 0);
	return r;
}

int vp_state_write(int dirfd, const char *uuid, const struct vp_state *s)
{
	struct vp_buf b = {0};
	int r;

	if (!safe_name(uuid))
		return -EINVAL;
	put_field(&b, "backend", s->backend);
	vp_buf_printf(&b, "families %u\n", s->families);
	put_field(&b, "name", s->name);
	put_field(&b, "network", s->network);
	r = b.err ? b.err : put_file(dirfd, uuid, b.s, b.len);
	vp_buf_free(&b);
	return r;
}

static int side_name(const char *uuid, const char *kind, char *out, size_t n)
{
	if (!safe_name(uuid) || (strcmp(kind, "xml") && strcmp(kind, "waiter") &&
	                         strcmp(kind, "rules")))
		return -EINVAL;
	snprintf(out, n, "%s.%s", uuid, kind);
	return 0;
}

int vp_state_put(int dirfd, const char *uuid, const char *kind, const char *buf, size_t len)
{
	char name[96];
	int r = side_name(uuid, kind, name, sizeof(name));
	return r < 0 ? r : put_file(dirfd, name, buf, len);
}

int vp_state_get(int dirfd, const char *uuid, const char *kind, size_t max, char **ret_buf,
                 size_t *ret_len)
{
	char name[96];
	int fd, r = side_name(uuid, kind, name, sizeof(name));

	if (r < 0)
		return r;
	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
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
	if (!safe_name(uuid))
		return -EINVAL;
	return unlinkat(dirfd, uuid, 0) < 0 && errno != ENOENT ? -errno : 0;
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
	int fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);   /* closedir() closes it, exec never sees it */
	DIR *dp = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *e;
	char **list = NULL;
	size_t n = 0;
	int r = 0;

	if (!dp) {
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	rewinddir(dp);
	while ((e = readdir(dp))) {
		if (!safe_name(e->d_name))
			continue;   /* ".", "lock", side files, temporaries */
		char **nl = realloc(list, (n + 2) * sizeof(*nl));
		char *name = strdup(e->d_name);
		if (!nl || !name) {
			free(name);
			if (nl)
				list = nl;
			r = -ENOMEM;
			break;
		}
		list = nl;
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

const char *vp_owner_uuid(const char *owner)
{
	size_t pl = strlen(VP_OWNER_PREFIX);
	return strncmp(owner, VP_OWNER_PREFIX, pl) == 0 && safe_name(owner + pl) ? owner + pl : NULL;
}

enum vp_rules_kind vp_rules_read(int dirfd, const char *uuid, const char *backend,
                                 char **ret_body)
{
	char *buf = NULL;
	size_t len, bl = strlen(backend);
	enum vp_rules_kind k = VP_RULES_UNKNOWN;

	if (vp_state_get(dirfd, uuid, "rules", VP_RULES_MAX, &buf, &len) < 0)
		return VP_RULES_UNKNOWN;
	if (!strcmp(buf, "none\n")) {
		k = VP_RULES_NONE;
	} else if (len > bl && !memcmp(buf, backend, bl) && buf[bl] == '\n') {
		memmove(buf, buf + bl + 1, len - bl);   /* with the NUL */
		*ret_body = buf;
		return VP_RULES_KNOWN;
	}
	free(buf);
	return k;
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
