/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Small helpers shared by every file: checked numbers, bounded reads, a growable string. */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VP_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Parse the whole of s[0..len) as an unsigned decimal number in [min, max].
 * No sign, no leading/trailing space, no empty string. 0 or -EINVAL / -ERANGE. */
int vp_parse_uint(const char *s, size_t len, unsigned long min, unsigned long max,
                  unsigned long *ret);

/* Read at most max bytes of a file into a NUL-terminated heap buffer.
 * -EFBIG if the file is larger than max. O_CLOEXEC, no symlink following if nofollow. */
int vp_read_file(const char *path, size_t max, bool nofollow, char **ret_buf, size_t *ret_len);
int vp_read_fd(int fd, size_t max, char **ret_buf, size_t *ret_len);

/* Growable string buffer. All functions are NULL-safe on a zeroed struct. */
struct vp_buf {
	char *s;     /* always NUL-terminated once anything was appended */
	size_t len;
	size_t cap;
	int err;     /* sticky: first allocation failure (-ENOMEM) */
};
void vp_buf_printf(struct vp_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void vp_buf_vprintf(struct vp_buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
void vp_buf_append(struct vp_buf *b, const char *s, size_t n);
void vp_buf_free(struct vp_buf *b);

/* Concatenate the test root ($VIRT_PORTFWD_ROOT, default "") and a path: "<root><path>".
 * Returns -ENAMETOOLONG if it does not fit. */
int vp_path(char *out, size_t outsz, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
const char *vp_root(void);

/* strdup that may fail: NULL on ENOMEM. */
char *vp_strndup(const char *s, size_t n);

/* Make *arr (of *cap elements of size elem) hold at least need elements, doubling (at least 8):
 * 0, or -ENOMEM (overflow included) with *arr and *cap unchanged. */
int vp_grow(void *arr, size_t *cap, size_t need, size_t elem);

/* Every control character of s (a newline above all) becomes '?', and each byte of a Unicode
 * bidirectional control (U+202A..E, U+2066..9) too, in place: a name that reaches a log or an
 * output line can neither forge a line nor make it read in another order. */
void vp_text_sanitize(char *s);

/* Close every fd from 3 up but keep (-1: none). */
void vp_close_fds(int keep);

/* CLOCK_MONOTONIC in milliseconds: deadlines that a changed wall clock cannot move. */
long long vp_now_ms(void);
/* Deadlines are instants on that clock (ms); 0 is none. What a wait whose own bound is own_ms
 * may take before deadline: min(own_ms, time left), 0 once it has passed. */
unsigned vp_wait_ms(long long deadline, unsigned own_ms);
/* Whether deadline (not 0) has passed. */
bool vp_deadline_passed(long long deadline);
