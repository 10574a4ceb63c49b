/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The forward table as a whole (see table.h): the check across all lines, loading the files (the
 * only I/O), lookups. One file's grammar is in config.c. */
#include "table.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

/* ---- duplicate check ----
 * Forwards clash when proto and family are equal, their host port ranges overlap and their
 * host addresses are equal or either is "any". Every forward that clashes with an earlier one
 * (table order) is an error naming the earliest such. Sorted by start port, the forwards whose
 * range overlaps t's and that start no earlier than t are the contiguous positions starting
 * inside t's range; the ones starting before t are those whose range covers t's position.
 * A segment tree over positions answers both, so the whole check is O(n log n). */

#define NONE SIZE_MAX

/* The forwards are items[0..n) (table order = index); v sorts pointers into items, so that a
 * position's index is its pointer's offset. */
typedef const struct vp_forward *const *item_ref;

struct sweep {
	const struct vp_forward *const *items;
	size_t n;
	item_ref *v;                 /* one group, sorted by start port */
	size_t m;
	size_t *seg;                 /* 2m nodes */
	size_t *best;                /* per index: earliest clashing forward, or NONE */
};

static int cmp_int(long a, long b)
{
	return (a > b) - (a < b);
}

static int cmp_addr(const struct vp_addr *a, const struct vp_addr *b)
{
	if (a->family != b->family || !a->family)
		return cmp_int(a->family, b->family);
	return a->family == AF_INET ? memcmp(&a->v4, &b->v4, sizeof(a->v4))
	                            : memcmp(&a->v6, &b->v6, sizeof(a->v6));
}

static int cmp_group(const struct vp_forward *a, const struct vp_forward *b, bool by_addr)
{
	int r = cmp_int(a->proto, b->proto);

	if (!r)
		r = cmp_int(a->family, b->family);
	if (!r && by_addr)
		r = cmp_addr(&a->host_addr, &b->host_addr);
	return r;
}

static int cmp_sorted(const void *pa, const void *pb, bool by_addr)
{
	item_ref ra = *(const item_ref *)pa, rb = *(const item_ref *)pb;
	int r = cmp_group(*ra, *rb, by_addr);

	if (!r)
		r = cmp_int((*ra)->host_port, (*rb)->host_port);
	if (!r) /* table order: pointers into one array */
		r = ra < rb ? -1 : ra > rb;
	return r;
}

static int cmp_by_addr(const void *a, const void *b)
{
	return cmp_sorted(a, b, true);
}

static int cmp_by_family(const void *a, const void *b)
{
	return cmp_sorted(a, b, false);
}

static size_t min_sz(size_t a, size_t b)
{
	return a < b ? a : b;
}

/* Minimum over positions [l, r). */
static size_t seg_range(const size_t *seg, size_t m, size_t l, size_t r)
{
	size_t best = NONE;

	for (l += m, r += m; l < r; l >>= 1, r >>= 1) {
		if (l & 1)
			best = min_sz(best, seg[l++]);
		if (r & 1)
			best = min_sz(best, seg[--r]);
	}
	return best;
}

/* Tag positions [l, r) with val; seg_point() then sees the minimum tag covering it. */
static void seg_tag(size_t *seg, size_t m, size_t l, size_t r, size_t val)
{
	for (l += m, r += m; l < r; l >>= 1, r >>= 1) {
		if (l & 1) {
			seg[l] = min_sz(seg[l], val);
			l++;
		}
		if (r & 1) {
			r--;
			seg[r] = min_sz(seg[r], val);
		}
	}
}

static size_t seg_point(const size_t *seg, size_t m, size_t p)
{
	size_t best = NONE;

	for (p += m; p > 0; p >>= 1)
		best = min_sz(best, seg[p]);
	return best;
}

static size_t pos_index(const struct sweep *s, size_t p)
{
	return (size_t)(s->v[p] - s->items);
}

static const struct vp_forward *at(const struct sweep *s, size_t p)
{
	return *s->v[p];
}

/* One past the last position starting inside position p's range. */
static size_t range_end(const struct sweep *s, size_t p)
{
	size_t lo = p + 1, hi = s->m;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (at(s, mid)->host_port <= at(s, p)->host_port_end)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool picked(const struct vp_forward *f, bool any_only)
{
	return !any_only || !f->host_addr.family;
}

/* For every target (any-address ones only if dst_any), the earliest overlapping source. */
static void sweep_group(struct sweep *s, bool src_any, bool dst_any)
{
	size_t m = s->m, *seg = s->seg;

	for (size_t p = 0; p < m; p++)
		seg[m + p] = picked(at(s, p), src_any) ? pos_index(s, p) : NONE;
	for (size_t i = m - 1; i > 0; i--)
		seg[i] = min_sz(seg[2 * i], seg[2 * i + 1]);
	for (size_t p = 0; p < m; p++)
		if (picked(at(s, p), dst_any)) {
			size_t *b = &s->best[pos_index(s, p)];
			*b = min_sz(*b, seg_range(seg, m, p + 1, range_end(s, p)));
		}
	for (size_t i = 0; i < 2 * m; i++)
		seg[i] = NONE;
	for (size_t p = 0; p < m; p++)
		if (picked(at(s, p), src_any))
			seg_tag(seg, m, p + 1, range_end(s, p), pos_index(s, p));
	for (size_t p = 0; p < m; p++)
		if (picked(at(s, p), dst_any)) {
			size_t *b = &s->best[pos_index(s, p)];
			*b = min_sz(*b, seg_point(seg, m, p));
		}
}

static void sweep_all(struct sweep *s, item_ref *v, bool by_addr)
{
	size_t n = s->n;

	qsort(v, n, sizeof(*v), by_addr ? cmp_by_addr : cmp_by_family);
	for (size_t a = 0, b; a < n; a = b) {
		for (b = a + 1; b < n && !cmp_group(*v[a], *v[b], by_addr); b++)
			;
		s->v = v + a;
		s->m = b - a;
		if (by_addr) {
			sweep_group(s, false, false); /* equal addresses, "any" with "any" */
		} else {
			sweep_group(s, true, false);  /* "any" against every address */
			sweep_group(s, false, true);
		}
	}
}

static const char *host_str(const struct vp_forward *f, unsigned port, char *out, size_t outsz)
{
	struct vp_buf b = {0};

	vp_forward_host(&b, f, port, port);
	snprintf(out, outsz, "%s/%s", b.s ? b.s : "?", vp_proto_name(f->proto));
	vp_buf_free(&b);
	return out;
}

/* For each of items[0..n), the earliest forward it clashes with (NONE: none): *ret_best, to
 * free. 0 or -ENOMEM. */
static int clashes(const struct vp_forward *const *items, size_t n, size_t **ret_best)
{
	struct sweep s = {.items = items, .n = n};
	item_ref *v = calloc(n, sizeof(*v));
	int r = 0;

	s.seg = calloc(2 * n, sizeof(*s.seg));
	s.best = calloc(n, sizeof(*s.best));
	if (!v || !s.seg || !s.best) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		v[i] = &items[i];
		s.best[i] = NONE;
	}
	sweep_all(&s, v, true);
	sweep_all(&s, v, false);
	*ret_best = s.best;
	s.best = NULL;
out:
	free(v);
	free(s.seg);
	free(s.best);
	return r;
}

/* The port both forwards claim, as "ADDR:PORT/proto" from f's side. */
int vp_forwards_clash(const struct vp_forward *const *items, size_t n, size_t **ret_best)
{
	*ret_best = NULL;
	return n ? clashes(items, n, ret_best) : 0;
}

static const char *clash_str(const struct vp_forward *f, const struct vp_forward *o, char *out,
                             size_t outsz)
{
	return host_str(f, f->host_port > o->host_port ? f->host_port : o->host_port, out, outsz);
}

int vp_table_check(const struct vp_table *t, struct vp_diags *d)
{
	const struct vp_forward **items = NULL;
	size_t *best = NULL;
	int r = 0;

	if (t->n < 2)
		return 0;
	items = calloc(t->n, sizeof(*items));
	if (!items)
		return -ENOMEM;
	for (size_t i = 0; i < t->n; i++)
		items[i] = &t->fwd[i];
	r = clashes(items, t->n, &best);
	for (size_t i = 0; best && i < t->n; i++) {
		const struct vp_forward *f = &t->fwd[i], *o;
		char hs[VP_ADDR_STRLEN + 32];
		if (best[i] == NONE || best[i] > i)
			continue;
		o = &t->fwd[best[i]];
		r = -EINVAL;
		vp_diags_add(d, "%s:%u:%u: host port %s is already forwarded at %s:%u:%u (%s)",
		             f->file, f->line, f->col, clash_str(f, o, hs, sizeof(hs)), o->file, o->line,
		             o->col, o->domain);
	}
	free(items);
	free(best);
	return r;
}

/* Where o is, for a message about another forward: "FILE:LINE:COL (GUEST)" or
 * "domain NAME metadata forward N". */
static void place(const struct vp_forward *o, char *out, size_t outsz)
{
	if (o->meta)
		vp_forward_where(o, out, outsz);
	else
		snprintf(out, outsz, "%s:%u:%u (%s)", o->file, o->line, o->col, o->domain);
}

/* Drops the forwards of t marked in drop (t keeps its order). */
static void drop_marked(struct vp_table *t, const bool *drop)
{
	size_t k = 0;

	for (size_t i = 0; i < t->n; i++) {
		if (drop[i])
			vp_forward_free(&t->fwd[i]);
		else
			t->fwd[k++] = t->fwd[i];
	}
	t->n = k;
}

/* Above this many extra forwards, every table forward goes into the sweep: picking the ones
 * that may clash costs n * m comparisons, the sweep (n + m) log(n + m). */
#define EXTRA_PICK_MAX 64u

/* Whether table forward f may clash with any of extra: the sweep then decides. */
static bool may_clash(const struct vp_forward *f, const struct vp_table *extra)
{
	if (extra->n > EXTRA_PICK_MAX)
		return true;
	for (size_t k = 0; k < extra->n; k++) {
		const struct vp_forward *e = &extra->fwd[k];
		if (e->proto == f->proto && e->family == f->family &&
		    e->host_port <= f->host_port_end && f->host_port <= e->host_port_end)
			return true;
	}
	return false;
}

int vp_table_check_extra(const struct vp_table *t, struct vp_table *extra, struct vp_diags *d)
{
	size_t n = 0, first, *best = NULL;
	const struct vp_forward **items = NULL;
	bool *drop = NULL;
	int r = 0;

	if (!extra->n)
		return 0;
	/* The table's candidates in table order, then extra: the earliest clash is the table's. */
	items = calloc(t->n + extra->n, sizeof(*items));
	drop = calloc(extra->n, sizeof(*drop));
	if (!items || !drop) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < t->n; i++)
		if (may_clash(&t->fwd[i], extra))
			items[n++] = &t->fwd[i];
	first = n;
	for (size_t k = 0; k < extra->n; k++)
		items[n++] = &extra->fwd[k];
	r = clashes(items, n, &best);
	for (size_t i = first; best && i < n; i++) {
		char hs[VP_ADDR_STRLEN + 32], here[512], there[4096 + 64];
		if (best[i] == NONE || best[i] > i)
			continue;
		drop[i - first] = true;
		r = -EINVAL;
		vp_forward_where(items[i], here, sizeof(here));
		place(items[best[i]], there, sizeof(there));
		vp_diags_add(d, "%s: host port %s is already forwarded at %s: this forward is not "
		             "installed", here, clash_str(items[i], items[best[i]], hs, sizeof(hs)),
		             there);
	}
	if (r == -EINVAL)
		drop_marked(extra, drop);
out:
	free(items);
	free(best);
	free(drop);
	return r;
}

/* ---- loading ---- */

/* Root's (or with any_owner ours), not writable by group or other. what: "" or "directory ". */
static int check_owner(const char *path, const char *what, const struct stat *st, bool any_owner,
                       struct vp_diags *d)
{
	if (st->st_uid != 0 && !(any_owner && st->st_uid == geteuid())) {
		vp_diags_add(d, "refusing %s%s: owned by uid %u (expected root)", what, path,
		             (unsigned)st->st_uid);
		return -EPERM;
	}
	if (st->st_mode & (S_IWGRP | S_IWOTH)) {
		vp_diags_add(d, "refusing %s%s: writable by group or other (chmod go-w)", what, path);
		return -EPERM;
	}
	return 0;
}

static int check_file(const char *path, int fd, bool any_owner, struct vp_diags *d)
{
	struct stat st;
	int r;

	if (fstat(fd, &st) < 0) {
		r = -errno;
		vp_diags_add(d, "cannot stat %s: %s", path, strerror(-r));
		return r;
	}
	if (S_ISDIR(st.st_mode)) {
		vp_diags_add(d, "refusing %s: it is a directory (expected a regular file)", path);
		return -EPERM;
	}
	if (!S_ISREG(st.st_mode)) {
		vp_diags_add(d, "refusing %s: not a regular file", path);
		return -EPERM;
	}
	r = check_owner(path, "", &st, any_owner, d);
	if (r < 0)
		return r;
	if ((unsigned long long)st.st_size > VP_TABLE_MAX_SIZE) {
		vp_diags_add(d, "refusing %s: larger than %u bytes", path, VP_TABLE_MAX_SIZE);
		return -EINVAL;
	}
	return 0;
}

/* A directory the table's files are in: whoever may write it may replace or remove them, so it
 * is held to the files' rule (root's, not writable by group or other). fd: open on it. */
static int check_dir(const char *path, int fd, bool any_owner, struct vp_diags *d)
{
	struct stat st;

	if (fstat(fd, &st) < 0) {
		int r = -errno;
		vp_diags_add(d, "cannot stat %s: %s", path, strerror(-r));
		return r;
	}
	return check_owner(path, "directory ", &st, any_owner, d);
}

/* The directory holding the main table file (the default one: -c names a draft anywhere). */
static int check_parent(const char *path, bool any_owner, struct vp_diags *d)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');
	int fd, r;

	if (!slash || (size_t)(slash - path) >= sizeof(dir))
		return 0;
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = '\0';
	fd = open(dir[0] ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	r = check_dir(dir, fd, any_owner, d);
	close(fd);
	return r;
}

static int load_file(struct vp_table *t, const char *path, bool missing_ok, bool any_owner,
                     struct vp_diags *d)
{
	/* O_NONBLOCK: opening a FIFO planted in place of the table must not hang the hook. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
	char *buf = NULL;
	size_t len;
	int r;

	if (fd < 0) {
		r = -errno;
		if (r == -ENOENT && missing_ok)
			return 0;
		if (r == -ELOOP) {
			vp_diags_add(d, "refusing %s: it is a symbolic link (expected a regular file)", path);
			return -EPERM;
		}
		vp_diags_add(d, "cannot open %s: %s", path, strerror(-r));
		return r;
	}
	r = check_file(path, fd, any_owner, d);
	if (r < 0)
		goto out;
	r = vp_read_fd(fd, VP_TABLE_MAX_SIZE, &buf, &len);
	if (r == -EFBIG)
		vp_diags_add(d, "refusing %s: larger than %u bytes", path, VP_TABLE_MAX_SIZE);
	else if (r < 0 && r != -ENOMEM)
		vp_diags_add(d, "cannot read %s: %s", path, strerror(-r));
	if (r < 0)
		goto out;
	r = vp_table_parse(t, path, buf, len, d);
out:
	free(buf);
	close(fd);
	return r;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* Sorted "*.conf" names of dir, hidden ones skipped. A missing dir is empty. */
static int list_dropins(const char *dir, bool any_owner, struct vp_diags *d, char ***ret_names,
                        size_t *ret_n)
{
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	int r = 0, fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *dp = fd < 0 ? NULL : fdopendir(fd);

	if (!dp) {
		r = errno == ENOENT ? 0 : -errno;
		if (r < 0)
			vp_diags_add(d, "cannot read drop-in directory %s: %s", dir, strerror(-r));
		if (fd >= 0)
			close(fd);
		goto out;
	}
	r = check_dir(dir, fd, any_owner, d);
	if (r < 0) {
		closedir(dp);
		goto out;
	}
	for (errno = 0; (de = readdir(dp)); errno = 0) {
		size_t len = strlen(de->d_name);
		if (de->d_name[0] == '.' || len <= 5 || strcmp(de->d_name + len - 5, ".conf") != 0)
			continue;
		if (n == VP_TABLE_MAX_FILES) {
			vp_diags_add(d, "too many files in %s (max %u)", dir, VP_TABLE_MAX_FILES);
			r = -EINVAL;
			break;
		}
		if (vp_grow(&names, &cap, n + 1, sizeof(*names)) < 0) {
			r = -ENOMEM;
			break;
		}
		names[n] = vp_strndup(de->d_name, len);
		if (!names[n]) {
			r = -ENOMEM;
			break;
		}
		n++;
	}
	if (!de && errno && r == 0) {
		r = -errno;
		vp_diags_add(d, "cannot read drop-in directory %s: %s", dir, strerror(-r));
	}
	closedir(dp);
out:
	if (r < 0) {
		free_names(names, n);
		return r;
	}
	if (n)
		qsort(names, n, sizeof(*names), cmp_names);
	*ret_names = names;
	*ret_n = n;
	return 0;
}

static int load_dropins(struct vp_table *t, const char *dir, bool any_owner, struct vp_diags *d)
{
	char **names = NULL;
	size_t n = 0, dl = strlen(dir);
	int r = list_dropins(dir, any_owner, d, &names, &n), first = r;

	for (size_t i = 0; i < n && r != -ENOMEM; i++) {
		struct vp_buf path = {0};
		vp_buf_printf(&path, "%s%s%s", dir, dl && dir[dl - 1] == '/' ? "" : "/", names[i]);
		r = path.err ? path.err : load_file(t, path.s, false, any_owner, d);
		if (first == 0 || r == -ENOMEM)
			first = r;
		vp_buf_free(&path);
	}
	free_names(names, n);
	return first;
}

int vp_table_load(struct vp_table *t, const char *path, const char *dropin_dir,
                  bool missing_ok, bool any_owner, struct vp_diags *d)
{
	/* Every file is read even after an error so that all problems are reported at once;
	 * the first error decides the return value. */
	int r = load_file(t, path, missing_ok, any_owner, d), r2;

	if (r == -ENOMEM)
		return r;
	/* The default table (with its drop-ins): its directory too. */
	r2 = dropin_dir ? check_parent(path, any_owner, d) : 0;
	if (r == 0)
		r = r2;
	if (dropin_dir) {
		r2 = load_dropins(t, dropin_dir, any_owner, d);
		if (r == 0 || r2 == -ENOMEM)
			r = r2;
		if (r == -ENOMEM)
			return r;
	}
	r2 = vp_table_check(t, d);
	return r == 0 ? r2 : r;
}

int vp_table_open(struct vp_table *t, const char *path, bool any_owner)
{
	char def[4096], dropin[4096];
	struct vp_diags d = {0};
	int r;

	vp_table_init(t);
	if (!path) {
		if ((r = vp_path(def, sizeof(def), "/etc/virt-portfwd/forwards.conf")) < 0 ||
		    (r = vp_path(dropin, sizeof(dropin), "/etc/virt-portfwd/forwards.d")) < 0)
			return r;
	}
	r = vp_table_load(t, path ? path : def, path ? NULL : dropin, !path, any_owner, &d);
	for (size_t i = 0; i < d.n; i++)
		vp_log(LOG_ERR, "%s", d.msg[i]);
	vp_diags_free(&d);
	if (r < 0)
		vp_log(LOG_ERR, "the forward table has errors: nothing is applied from it");
	return r;
}

/* ---- lookups ---- */

void vp_forward_where(const struct vp_forward *f, char *out, size_t outsz)
{
	if (f->meta)
		snprintf(out, outsz, "%s forward %u", f->file ? f->file : "?", f->line);
	else
		snprintf(out, outsz, "%s:%u", f->file ? f->file : "?", f->line);
}

bool vp_forward_matches(const struct vp_forward *f, const char *name, const char *uuid)
{
	if (f->domain_is_uuid)
		return uuid && strcasecmp(f->domain, uuid) == 0;
	return name && strcmp(f->domain, name) == 0;
}

bool vp_table_has_domain(const struct vp_table *t, const char *name, const char *uuid)
{
	for (size_t i = 0; i < t->n; i++)
		if (vp_forward_matches(&t->fwd[i], name, uuid))
			return true;
	return false;
}

int vp_table_n_domains(const struct vp_table *t, size_t *ret_n)
{
	/* Sorted, not pairwise: a table of 10 000 guests took 0.2 s of `check` comparing each
	 * with all before it. */
	const char **v = t->n ? calloc(t->n, sizeof(*v)) : NULL;
	size_t n = 0;

	if (t->n && !v)
		return -ENOMEM;
	for (size_t i = 0; i < t->n; i++)
		v[i] = t->fwd[i].domain;
	if (t->n)
		qsort(v, t->n, sizeof(*v), cmp_names);
	for (size_t i = 0; i < t->n; i++)
		n += i == 0 || strcmp(v[i], v[i - 1]) != 0;
	free(v);
	*ret_n = n;
	return 0;
}
