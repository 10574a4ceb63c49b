/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The functions of json-c we call, loading it on first use (see dl.h). Every parse starts with
 * json_tokener_new_ex. */
#include <errno.h>
#include <stddef.h>
#include <json-c/json.h>

#include "dl.h"

#define L VP_DL_JSON
#define NO VP_DL_UNREACHABLE

VP_DL_FN(L, VP_DL_FAIL(NULL), struct json_tokener *, json_tokener_new_ex, (int depth), (depth))
VP_DL_VOID(L, json_tokener_free, (struct json_tokener *tok), (tok))
VP_DL_FN(L, NO, struct json_object *, json_tokener_parse_ex, (struct json_tokener *tok,
         const char *str, int len), (tok, str, len))
VP_DL_FN(L, NO, enum json_tokener_error, json_tokener_get_error, (struct json_tokener *tok),
         (tok))
VP_DL_FN(L, NO, size_t, json_tokener_get_parse_end, (struct json_tokener *tok), (tok))
VP_DL_FN(L, NO, struct json_object *, json_object_get, (struct json_object *obj), (obj))
VP_DL_FN(L, NO, int, json_object_put, (struct json_object *obj), (obj))
VP_DL_FN(L, NO, int, json_object_is_type, (const struct json_object *obj, enum json_type type),
         (obj, type))
VP_DL_FN(L, NO, json_bool, json_object_object_get_ex, (const struct json_object *obj,
         const char *key, struct json_object **value), (obj, key, value))
VP_DL_FN(L, NO, size_t, json_object_array_length, (const struct json_object *obj), (obj))
VP_DL_FN(L, NO, struct json_object *, json_object_array_get_idx,
         (const struct json_object *obj, size_t idx), (obj, idx))
VP_DL_FN(L, NO, const char *, json_object_get_string, (struct json_object *obj), (obj))
VP_DL_FN(L, NO, int, json_object_get_string_len, (const struct json_object *obj), (obj))
VP_DL_FN(L, NO, int64_t, json_object_get_int64, (const struct json_object *obj), (obj))
