/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Shared by the libFuzzer harnesses (fuzz-*.c) and their replay driver (replay.c). */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The entry point libFuzzer calls once per input; replay.c calls it once per committed file. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A broken promise of a parser's header is a finding like a crash: abort, so that libFuzzer
 * keeps the input and the replay test fails. */
#define FUZZ_ASSERT(cond)                                                                   \
	do {                                                                                    \
		if (!(cond)) {                                                                      \
			fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, #cond);    \
			abort();                                                                        \
		}                                                                                   \
	} while (0)

/* A fixed-size string field holds a NUL within its size. */
#define FUZZ_ASSERT_STR(field) FUZZ_ASSERT(strnlen((field), sizeof(field)) < sizeof(field))

/* A MAC field is "" or lowercase aa:bb:cc:dd:ee:ff, as every header promises. */
static inline int fuzz_mac_ok(const char *mac)
{
	if (!mac[0])
		return 1;
	for (size_t i = 0; i < 17; i++) {
		char c = mac[i];
		if (i % 3 == 2 ? c != ':' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return 0;
	}
	return mac[17] == '\0';
}
