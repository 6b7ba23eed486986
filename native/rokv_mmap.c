// rokv_mmap: rokv's native addon for the --storage mmap tier. It owns read-only shared
// mappings of data files (made by map(), unmapped only by the finalizer once the GC
// has collected the last view), advice and page-cache residency queries on them, and
// evicting one file's pages from the page cache (benchmarks). Loaded by
// src/storage/native.ts; built by `make addon`. C and Node-API only (NAPI_VERSION 8):
// one binary works with every Node that has Node-API 8.

#define _DEFAULT_SOURCE
#define _FILE_OFFSET_BITS 64
#define NAPI_VERSION 8
#include <node_api.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_SAFE_INTEGER 9007199254740991.0
#define WINDOW_PAGES 16384 // mincore() looks at this many pages at a time (64 MiB of 4 KiB pages)

// Marks the ArrayBuffers map() made: advise() and residentBytes() take no other memory
// (MADV_DONTNEED on a heap ArrayBuffer would zero it).
static const napi_type_tag MAPPING = {0x726f6b765f6d6d61ULL, 0x705f6d617070696eULL};

// Makes a failed Node-API call a JavaScript exception (unless one is pending) and
// returns NULL, so a function can `return fail(env);`.
static napi_value fail(napi_env env) {
  const napi_extended_error_info *info = NULL;
  bool pending = false;
  napi_get_last_error_info(env, &info); // before napi_is_exception_pending() resets it
  napi_is_exception_pending(env, &pending);
  if (!pending) napi_throw_error(env, NULL, info && info->error_message ? info->error_message : "Node-API call failed");
  return NULL;
}

#define CHECK(call) do { if ((call) != napi_ok) return fail(env); } while (0)

// The name of an errno value the calls here document ("EBADF"), or NULL.
static const char *errno_name(int e) {
  switch (e) {
#define NAME(x) case x: return #x;
    NAME(EACCES) NAME(EAGAIN) NAME(EBADF) NAME(EFAULT) NAME(EINVAL) NAME(EIO) NAME(ENFILE)
    NAME(ENODEV) NAME(ENOMEM) NAME(ENOSYS) NAME(EOVERFLOW) NAME(EPERM) NAME(ESPIPE)
#undef NAME
    default: return NULL;
  }
}

// Throws an Error "<what>: <strerror(e)>" whose `code` is the errno's name; returns NULL.
static napi_value throw_errno(napi_env env, const char *what, int e) {
  char message[256];
  snprintf(message, sizeof message, "%s: %s", what, strerror(e));
  napi_throw_error(env, errno_name(e), message);
  return NULL;
}

static bool is_undefined(napi_env env, napi_value value) {
  napi_valuetype type;
  return napi_typeof(env, value, &type) == napi_ok && type == napi_undefined;
}

// Reads `value` as an integer in [0, max] into *out, or throws naming the argument
// (TypeError when not a number, RangeError when out of range) and returns false.
static bool get_uint(napi_env env, napi_value value, const char *name, double max, uint64_t *out) {
  napi_valuetype type;
  double d = -1;
  char message[128];
  if (napi_typeof(env, value, &type) != napi_ok || type != napi_number) {
    snprintf(message, sizeof message, "%s must be a number", name);
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
    return false;
  }
  napi_get_value_double(env, value, &d);
  if (!(d >= 0 && d <= max && d <= MAX_SAFE_INTEGER) || d != (double)(uint64_t)d) {
    snprintf(message, sizeof message, "%s must be an integer from 0 to %.0f (got %g)", name, max, d);
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", message);
    return false;
  }
  *out = (uint64_t)d;
  return true;
}

// Reads `value` as an ArrayBuffer made by map() and not detached, or throws and returns false.
static bool get_mapping(napi_env env, napi_value value, char **data, size_t *length) {
  bool is_buffer = false, tagged = false;
  napi_is_arraybuffer(env, value, &is_buffer);
  if (is_buffer) napi_check_object_type_tag(env, value, &MAPPING, &tagged);
  *data = NULL;
  if (tagged) napi_get_arraybuffer_info(env, value, (void **)data, length);
  if (*data == NULL) napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "expected an ArrayBuffer returned by map() (not detached)");
  return *data != NULL;
}

static void unmap(napi_env env, void *data, void *length) {
  (void)env;
  munmap(data, (size_t)(uintptr_t)length);
}

// map(fd, length) -> ArrayBuffer: mmap(NULL, length, PROT_READ, MAP_SHARED, fd, 0), exactly
// `length` bytes, as an external ArrayBuffer. Its finalizer munmaps it once the GC has
// collected it and every view of it; nothing else ever unmaps it. Throws a RangeError for
// length 0, an Error with the errno's code (EBADF, EACCES, ENODEV...) when mmap fails, and an
// Error when this Node build refuses external ArrayBuffers (V8 sandbox). A regular file
// shorter than `length` is a RangeError: touching bytes past a file's end raises SIGBUS
// (so does touching a mapping of a file truncated since). V8 counts `length` as external
// memory, which may start one garbage collection.
static napi_value map(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], result;
  uint64_t fd, length;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (!get_uint(env, argv[0], "fd", INT32_MAX, &fd) || !get_uint(env, argv[1], "length", MAX_SAFE_INTEGER, &length)) return NULL;
  if (length == 0) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "map: length must be at least 1 byte (an empty file cannot be mapped)");
    return NULL;
  }
  struct stat st;
  if (fstat((int)fd, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size < length) {
    char message[128];
    snprintf(message, sizeof message, "map: length %llu is past the end of the file (%lld bytes)", (unsigned long long)length, (long long)st.st_size);
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", message);
    return NULL;
  }
  void *data = mmap(NULL, length, PROT_READ, MAP_SHARED, (int)fd, 0);
  if (data == MAP_FAILED) {
    char what[96];
    snprintf(what, sizeof what, "mmap(fd %d, %llu bytes)", (int)fd, (unsigned long long)length);
    return throw_errno(env, what, errno);
  }
  napi_status status = napi_create_external_arraybuffer(env, data, length, unmap, (void *)(uintptr_t)length, &result);
  if (status != napi_ok) {
    munmap(data, length);
    if (status != napi_no_external_buffers_allowed) return fail(env);
    napi_throw_error(env, "ERR_NO_EXTERNAL_BUFFERS", "this Node build does not allow external ArrayBuffers (V8 sandbox), so the mmap tier cannot run on it");
    return NULL;
  }
  CHECK(napi_type_tag_object(env, result, &MAPPING));
  return result;
}

// advise(mapping, advice, offset = 0, length = rest) -> undefined: madvise() with
// 'normal' | 'random' | 'sequential' | 'willneed' | 'dontneed' over the pages holding
// bytes [offset, offset + length) of a mapping from map(). 'dontneed' only drops this
// process's page-table entries (the file's pages stay in the page cache; the next read
// faults them back in). Throws for another advice, a range outside the mapping, or an errno.
static napi_value advise(napi_env env, napi_callback_info info) {
  static const struct { const char *name; int advice; } ADVICE[] = {
    {"normal", MADV_NORMAL}, {"random", MADV_RANDOM}, {"sequential", MADV_SEQUENTIAL},
    {"willneed", MADV_WILLNEED}, {"dontneed", MADV_DONTNEED},
  };
  size_t argc = 4, length, n = 0;
  napi_value argv[4];
  char *data, name[16] = "";
  uint64_t offset = 0, count;
  int advice = -1;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (!get_mapping(env, argv[0], &data, &length)) return NULL;
  if (napi_get_value_string_utf8(env, argv[1], name, sizeof name, &n) == napi_ok)
    for (size_t i = 0; i < sizeof ADVICE / sizeof ADVICE[0]; i++)
      if (strcmp(name, ADVICE[i].name) == 0) advice = ADVICE[i].advice;
  if (advice < 0) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE", "advice must be 'normal', 'random', 'sequential', 'willneed' or 'dontneed'");
    return NULL;
  }
  if (!is_undefined(env, argv[2]) && !get_uint(env, argv[2], "offset", (double)length, &offset)) return NULL;
  count = length - offset;
  if (!is_undefined(env, argv[3]) && !get_uint(env, argv[3], "length", (double)count, &count)) return NULL;
  uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
  uint64_t start = offset / page * page, end = (offset + count + page - 1) / page * page;
  if (end > start && madvise(data + start, end - start, advice) != 0) return throw_errno(env, "madvise", errno);
  return NULL;
}

// residentBytes(mapping, offset?, length?) -> number: how many bytes of a mapping from
// map() (or of its range [offset, offset + length)) are in the page cache now, by page
// (mincore, 64 MiB at a time; the last page counts only the bytes asked for). The disk
// tier asks it per record: resident records are copied at once, the others read.
static napi_value resident_bytes(napi_env env, napi_callback_info info) {
  size_t argc = 3, length;
  napi_value argv[3], result;
  char *data;
  unsigned char pages[WINDOW_PAGES];
  uint64_t offset = 0, count;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (!get_mapping(env, argv[0], &data, &length)) return NULL;
  if (argc > 1 && !is_undefined(env, argv[1]) && !get_uint(env, argv[1], "offset", (double)length, &offset)) return NULL;
  count = length - offset;
  if (argc > 2 && !is_undefined(env, argv[2]) && !get_uint(env, argv[2], "length", (double)count, &count)) return NULL;
  size_t page = (size_t)sysconf(_SC_PAGESIZE), window = WINDOW_PAGES * page;
  size_t first = (size_t)offset / page * page, end = (size_t)(offset + count);
  double resident = 0;
  for (size_t at = first; at < end; at += window) {
    size_t size = end - at < window ? end - at : window;
    if (mincore(data + at, size, pages) != 0) return throw_errno(env, "mincore", errno);
    for (size_t i = 0; i * page < size; i++) {
      size_t from = at + i * page < offset ? (size_t)offset : at + i * page;
      size_t to = at + (i + 1) * page < end ? at + (i + 1) * page : end;
      if (pages[i] & 1) resident += (double)(to - from);
    }
  }
  CHECK(napi_create_double(env, resident, &result));
  return result;
}

// fadviseDontNeed(fd, offset, length) -> undefined: posix_fadvise(POSIX_FADV_DONTNEED),
// which evicts this one file's clean pages in the range (length 0: to the end) from the
// page cache, except pages some process has mapped and touched (benchmarks use it for
// cold reads). Throws an Error with the errno's code on failure.
static napi_value fadvise_dont_need(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  uint64_t fd, offset, length;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (!get_uint(env, argv[0], "fd", INT32_MAX, &fd) || !get_uint(env, argv[1], "offset", MAX_SAFE_INTEGER, &offset) ||
      !get_uint(env, argv[2], "length", MAX_SAFE_INTEGER, &length)) return NULL;
  int err = posix_fadvise((int)fd, (off_t)offset, (off_t)length, POSIX_FADV_DONTNEED);
  return err ? throw_errno(env, "posix_fadvise", err) : NULL;
}

// pageSize() -> number: the system's page size in bytes (sysconf(_SC_PAGESIZE)).
static napi_value page_size(napi_env env, napi_callback_info info) {
  napi_value result;
  (void)info;
  CHECK(napi_create_uint32(env, (uint32_t)sysconf(_SC_PAGESIZE), &result));
  return result;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor functions[] = {
    {"map", NULL, map, NULL, NULL, NULL, napi_enumerable, NULL},
    {"advise", NULL, advise, NULL, NULL, NULL, napi_enumerable, NULL},
    {"residentBytes", NULL, resident_bytes, NULL, NULL, NULL, napi_enumerable, NULL},
    {"fadviseDontNeed", NULL, fadvise_dont_need, NULL, NULL, NULL, napi_enumerable, NULL},
    {"pageSize", NULL, page_size, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  CHECK(napi_define_properties(env, exports, sizeof functions / sizeof functions[0], functions));
  return exports;
}
