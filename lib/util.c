/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int vp_parse_uint(const char *s, size_t len, unsigned long min, unsigned long max,
                  unsigned long *ret)
{
	unsigned long v = 0;

	if (!s || len == 0 || len > 20)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (~0UL - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	if (v < min || v > max)
		return -ERANGE;
	*ret = v;
	return 0;
}

int vp_read_fd(int fd, size_t max, char **ret_buf, size_t *ret_len)
{
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap + 1);
	int r = 0;

	if (!buf)
		return -ENOMEM;
	for (;;) {
		if (len == cap) {
			if (cap > max) {
				r = -EFBIG;
				goto out;
			}
			size_t ncap = cap * 2 > max + 1 ? max + 1 : cap * 2;
			char *nb = realloc(buf, ncap + 1);
			if (!nb) {
				r = -ENOMEM;
				goto out;
			}
			buf = nb;
			cap = ncap;
		}
		ssize_t n = read(fd, buf + len, cap - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max) {
			r = -EFBIG;
			goto out;
		}
	}
	buf[len] = '\0';
	*ret_buf = buf;
	*ret_len = len;
	buf = NULL;
out:
	free(buf);
	return r;
}

int vp_read_file(const char *path, size_t max, bool nofollow, char **ret_buf, size_t *ret_len)
{
	struct stat st;
	/* O_NONBLOCK: a FIFO in place of the file must not block the open (nor the hook, nor
	 * libvirt); the S_ISREG check below refuses it. Reads of a regular file ignore it. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK |
	              (nofollow ? O_NOFOLLOW : 0));
	int r;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
		goto out;
	}
	if ((unsigned long long)st.st_size > max) {
		r = -EFBIG;
		goto out;
	}
	r = vp_read_fd(fd, max, ret_buf, ret_len);
out:
	close(fd);
	return r;
}

static int buf_grow(struct vp_buf *b, size_t need)
{
	if (b->err)
		return b->err;
	if (b->len + need + 1 <= b->cap)
		return 0;
	size_t ncap = b->cap ? b->cap : 256;
	while (ncap < b->len + need + 1)
		ncap *= 2;
	char *ns = realloc(b->s, ncap);
	if (!ns)
		return b->err = -ENOMEM;
	b->s = ns;
	b->cap = ncap;
	return 0;
}

void vp_buf_append(struct vp_buf *b, const char *s, size_t n)
{
	if (buf_grow(b, n) < 0)
		return;
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

void vp_buf_vprintf(struct vp_buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0) {
		b->err = -EINVAL;
		return;
	}
	if (buf_grow(b, (size_t)n) < 0)
		return;
	vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
}

void vp_buf_printf(struct vp_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vp_buf_vprintf(b, fmt, ap);
	va_end(ap);
}

void vp_buf_free(struct vp_buf *b)
{
	if (!b)
		return;
	free(b->s);
	*b = (struct vp_buf){0};
}

const char *vp_root(void)
{
	const char *r = getenv("VIRT_PORTFWD_ROOT");
	return r ? r : "";
}

int vp_path(char *out, size_t outsz, const char *fmt, ...)
{
	const char *root = vp_root();
	size_t rl = strlen(root);
	va_list ap;

	if (rl >= outsz)
		return -ENAMETOOLONG;
	memcpy(out, root, rl);
	va_start(ap, fmt);
	int n = vsnprintf(out + rl, outsz - rl, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= outsz - rl)
		return -ENAMETOOLONG;
	return 0;
}

char *vp_strndup(const char *s, size_t n)
{
	char *p = malloc(n + 1);
	if (!p)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

/* close_range, or each fd below 1024 on kernels before 5.9. */
static void close_from_to(unsigned from, unsigned to)
{
	if (from <= to && syscall(SYS_close_range, from, to, 0U) < 0)
		for (unsigned fd = from; fd <= to && fd < 1024; fd++)
			close((int)fd);
}

void vp_close_fds(int keep)
{
	if (keep < 3) {
		close_from_to(3, ~0U);
		return;
	}
	close_from_to(3, (unsigned)keep - 1);
	close_from_to((unsigned)keep + 1, ~0U);
}

long long vp_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

unsigned vp_wait_ms(long long deadline, unsigned own_ms)
{
	long long left;

	if (!deadline)
		return own_ms;
	left = deadline - vp_now_ms();
	return left <= 0 ? 0 : left < own_ms ? (unsigned)left : own_ms;
}

bool vp_deadline_passed(long long deadline)
{
	return deadline && vp_now_ms() >= deadline;
}

int vp_grow(void *arr, size_t *cap, size_t need, size_t elem)
{
	void **p = arr, *np;
	size_t ncap = *cap ? *cap : 8;

	if (need <= *cap)
		return 0;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2)
			return -ENOMEM;
		ncap *= 2;
	}
	np = reallocarray(*p, ncap, elem);
	if (!np)
		return -ENOMEM;
	*p = np;
	*cap = ncap;
	return 0;
}

/* U+202A..U+202E and U+2066..U+2069 in UTF-8: the bidirectional embeddings, overrides and
 * isolates, which make a line read in another order than it is written. */
static bool bidi_control(const unsigned char *s)
{
	return s[0] == 0xe2 && ((s[1] == 0x80 && s[2] >= 0xaa && s[2] <= 0xae) ||
	                        (s[1] == 0x81 && s[2] >= 0xa6 && s[2] <= 0xa9));
}

void vp_text_sanitize(char *s)
{
	for (unsigned char *p = (unsigned char *)s; p && *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			*p = '?';
		else if (bidi_control(p))
			memcpy(p, "???", 3);
	}
}
