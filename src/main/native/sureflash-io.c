/*
 * sureflash-io: the few Linux system calls Node does not offer, as a Node-API module (dist/main/sureflash-io.node,
 * loaded by src/main/system/native-io.ts; everything works without it, only slower).
 *
 *  - writeMany: many O_DIRECT writes in flight from one thread (Linux native AIO: io_submit/io_getevents), so a
 *    bmap of many small ranges does not pay one device round trip per range. Used by the device thread.
 *  - listenUnix / acceptFd / sendFd / adoptFd / closeFd: hand an open descriptor from one process to another over a Unix socket
 *    (SCM_RIGHTS). The privileged helper opens the pinned drive and hands the descriptor to the engine, which
 *    checks what it got (device number, size, flags) and does the I/O itself.
 *
 * Node-API only (ABI-stable: the same build loads in Node and in Electron), context-aware (worker threads).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <math.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <node_api.h>

#define MAX_DEPTH 256
#define MAX_PAYLOAD 4096

static const char *errno_name(int err) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
  const char *name = strerrorname_np(err);
  if (name) return name;
#endif
  return "EIO";
}

/* Throws an Error whose code is the errno's name and whose message says what failed. */
static napi_value throw_errno(napi_env env, const char *what, int err) {
  char message[256];
  snprintf(message, sizeof message, "%s: %s", what, strerror(err));
  napi_throw_error(env, errno_name(err), message);
  return NULL;
}

static napi_value throw_type(napi_env env, const char *message) {
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
  return NULL;
}

static int get_int(napi_env env, napi_value value, int64_t *out) {
  napi_valuetype type;
  if (napi_typeof(env, value, &type) != napi_ok || type != napi_number) return 0;
  return napi_get_value_int64(env, value, out) == napi_ok;
}

/* The bytes of a Buffer or any typed array (also one over a SharedArrayBuffer). */
static int get_bytes(napi_env env, napi_value value, uint8_t **data, size_t *length) {
  bool is_typed = false;
  if (napi_is_typedarray(env, value, &is_typed) != napi_ok || !is_typed) return 0;
  napi_typedarray_type type;
  size_t count = 0, offset = 0;
  napi_value buffer;
  void *base = NULL;
  if (napi_get_typedarray_info(env, value, &type, &count, &base, &buffer, &offset) != napi_ok) return 0;
  size_t width = 1;
  switch (type) {
    case napi_int16_array: case napi_uint16_array: width = 2; break;
    case napi_int32_array: case napi_uint32_array: case napi_float32_array: width = 4; break;
    case napi_float64_array: case napi_bigint64_array: case napi_biguint64_array: width = 8; break;
    default: width = 1;
  }
  *data = base;
  *length = count * width;
  return base != NULL || count == 0;
}

static int get_f64(napi_env env, napi_value value, double **data, size_t *count) {
  bool is_typed = false;
  if (napi_is_typedarray(env, value, &is_typed) != napi_ok || !is_typed) return 0;
  napi_typedarray_type type;
  napi_value buffer;
  size_t offset = 0;
  void *base = NULL;
  if (napi_get_typedarray_info(env, value, &type, count, &base, &buffer, &offset) != napi_ok) return 0;
  if (type != napi_float64_array) return 0;
  *data = base;
  return 1;
}

/*
 * What the module keeps per Node environment (the main thread or a worker: each has its own), as the module's
 * instance data (napi_set_instance_data: one per module and environment, so everything lives in this struct):
 *  - the AIO context, set up at the first writeMany and kept until the environment ends. Not one per call:
 *    io_destroy waits for an RCU grace period, measured at about 35 ms here, which one call per device batch
 *    paid hundreds of times;
 *  - the descriptors the thread adopted (adoptFd), closed when the environment ends, however it ends: also a
 *    worker terminated while a call on a stalled card kept it, once that call returns (Node closes only what its
 *    own fs opened in a thread).
 */
#define MAX_ADOPTED 64
struct instance {
  aio_context_t ctx;
  int adopted[MAX_ADOPTED];
  int adopted_count;
};

static void instance_free(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  struct instance *instance = data;
  for (int i = 0; i < instance->adopted_count; i++) close(instance->adopted[i]);
  if (instance->ctx) syscall(SYS_io_destroy, instance->ctx);
  free(instance);
}

/* This environment's state (made now if it has none), or NULL. */
static struct instance *instance_of(napi_env env) {
  struct instance *instance = NULL;
  if (napi_get_instance_data(env, (void **)&instance) != napi_ok) return NULL;
  if (instance) return instance;
  instance = calloc(1, sizeof *instance);
  if (!instance) return NULL;
  if (napi_set_instance_data(env, instance, instance_free, NULL) != napi_ok) {
    free(instance);
    return NULL;
  }
  return instance;
}

/* This environment's context (set up now if it has none); 0, or the errno of the failure. */
static int aio_context(napi_env env, aio_context_t *out) {
  struct instance *instance = instance_of(env);
  if (!instance) return ENOMEM;
  if (!instance->ctx) {
    aio_context_t ctx = 0;
    if (syscall(SYS_io_setup, (unsigned)MAX_DEPTH, &ctx) != 0) return errno;
    instance->ctx = ctx;
  }
  *out = instance->ctx;
  return 0;
}

/* Drops this environment's context (after a failure that may have left it unusable); the next call sets one up. */
static void aio_context_drop(napi_env env) {
  struct instance *instance = NULL;
  if (napi_get_instance_data(env, (void **)&instance) != napi_ok || !instance || !instance->ctx) return;
  syscall(SYS_io_destroy, instance->ctx); /* waits for anything still in flight */
  instance->ctx = 0;
}

/*
 * writeMany(fd, memory, table, depth, results): table holds [offset, length, at] per write (device offset, bytes,
 * where the bytes are in memory); up to `depth` writes are in flight at once. results[i] becomes the bytes write
 * i wrote (fewer than asked: a short write the caller finishes), or -errno; after the first error nothing more is
 * submitted and the writes never submitted stay NaN (a write io_submit refused gets its -errno: EAGAIN when the
 * kernel queues nothing more, which the caller may do itself). Returns when every submitted write completed.
 * The caller gives only writes that may run in any order (no two overlap) and are aligned as O_DIRECT needs.
 * Throws (code: the errno's name) when no context can be set up (io_setup: EAGAIN when the system's aio-max-nr
 * is used up) or completions cannot be reaped; then writes may or may not have run.
 */
static napi_value write_many(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 5) return throw_type(env, "writeMany(fd, memory, table, depth, results)");
  int64_t fd = -1, depth = 0;
  uint8_t *memory = NULL;
  size_t memory_length = 0, table_count = 0, results_count = 0;
  double *table = NULL, *results = NULL;
  if (!get_int(env, argv[0], &fd) || fd < 0) return throw_type(env, "writeMany: fd must be a descriptor");
  if (!get_bytes(env, argv[1], &memory, &memory_length)) return throw_type(env, "writeMany: memory must be a typed array");
  if (!get_f64(env, argv[2], &table, &table_count) || table_count % 3 != 0) return throw_type(env, "writeMany: table must be a Float64Array of [offset, length, at] triples");
  if (!get_int(env, argv[3], &depth) || depth < 1) return throw_type(env, "writeMany: depth must be a positive number");
  if (!get_f64(env, argv[4], &results, &results_count)) return throw_type(env, "writeMany: results must be a Float64Array");
  size_t n = table_count / 3;
  if (results_count < n) return throw_type(env, "writeMany: results is shorter than the table");
  if (depth > MAX_DEPTH) depth = MAX_DEPTH;
  for (size_t i = 0; i < n; i++) {
    double offset = table[3 * i], length = table[3 * i + 1], at = table[3 * i + 2];
    if (!(offset >= 0 && length >= 0 && at >= 0) || at + length > (double)memory_length || offset > 9007199254740991.0) {
      return throw_type(env, "writeMany: a write lies outside its memory or has a negative offset");
    }
    results[i] = NAN;
  }
  if (n == 0) return NULL;

  aio_context_t ctx = 0;
  int setup = aio_context(env, &ctx);
  if (setup) return throw_errno(env, "io_setup", setup);
  struct iocb *cbs = calloc(n, sizeof(struct iocb));
  struct iocb *ready[MAX_DEPTH];
  struct io_event events[MAX_DEPTH];
  if (!cbs) return throw_errno(env, "writeMany", ENOMEM);
  size_t next = 0, in_flight = 0;
  int failed = 0, fatal = 0;
  while (!fatal && ((!failed && next < n) || in_flight > 0)) {
    int count = 0;
    while (!failed && next + count < n && in_flight + (size_t)count < (size_t)depth) {
      size_t i = next + count;
      struct iocb *cb = &cbs[i];
      cb->aio_data = i;
      cb->aio_fildes = (uint32_t)fd;
      cb->aio_lio_opcode = IOCB_CMD_PWRITE;
      cb->aio_buf = (uint64_t)(uintptr_t)(memory + (size_t)table[3 * i + 2]);
      cb->aio_nbytes = (uint64_t)table[3 * i + 1];
      cb->aio_offset = (int64_t)table[3 * i];
      ready[count++] = cb;
    }
    if (count > 0) {
      long submitted = syscall(SYS_io_submit, ctx, (long)count, ready);
      if (submitted < 0) {
        if (errno == EAGAIN && in_flight > 0) submitted = 0; /* the queue is full: reap, then submit again */
        else if (errno == EINTR) submitted = 0;
        else {
          results[next] = -(double)errno; /* the first unsubmitted write failed to start (EINVAL, EBADF...) */
          failed = 1;
          submitted = 0;
        }
      }
      next += (size_t)submitted;
      in_flight += (size_t)submitted;
    }
    if (in_flight == 0) continue;
    long got = syscall(SYS_io_getevents, ctx, 1L, (long)in_flight, events, NULL);
    if (got < 0) {
      if (errno == EINTR) continue;
      fatal = errno; /* cannot reap: nothing safe left to do but report it */
      break;
    }
    for (long k = 0; k < got; k++) {
      size_t i = (size_t)events[k].data;
      int64_t res = (int64_t)events[k].res;
      results[i] = (double)res;
      if (res < 0) failed = 1;
    }
    in_flight -= (size_t)got;
  }
  free(cbs);
  if (fatal) {
    aio_context_drop(env);
    return throw_errno(env, "io_getevents", fatal);
  }
  return NULL;
}

static int get_path(napi_env env, napi_value value, struct sockaddr_un *addr) {
  memset(addr, 0, sizeof *addr);
  addr->sun_family = AF_UNIX;
  size_t length = 0;
  if (napi_get_value_string_utf8(env, value, addr->sun_path, sizeof addr->sun_path, &length) != napi_ok) return 0;
  return length > 0 && length < sizeof addr->sun_path - 1;
}

/* listenUnix(path): a listening Unix stream socket at path (close-on-exec), its descriptor. */
static napi_value listen_unix(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  struct sockaddr_un addr;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 || !get_path(env, argv[0], &addr)) {
    return throw_type(env, "listenUnix(path): path must be a string shorter than a socket address");
  }
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, "socket", errno);
  if (bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(fd, 1) != 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, "listen on a Unix socket", err);
  }
  napi_value result;
  napi_create_int32(env, fd, &result);
  return result;
}

static int wait_readable(int fd, int64_t timeout_ms) {
  struct pollfd p = {.fd = fd, .events = POLLIN};
  struct timespec start, now;
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (;;) {
    clock_gettime(CLOCK_MONOTONIC, &now);
    int64_t spent = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
    int64_t left = timeout_ms - spent;
    if (left < 0) left = 0;
    int r = poll(&p, 1, (int)left);
    if (r > 0) return 0;
    if (r == 0) return ETIMEDOUT;
    if (errno != EINTR) return errno;
  }
}

static void set_int(napi_env env, napi_value object, const char *name, int64_t value) {
  napi_value v;
  napi_create_int64(env, value, &v);
  napi_set_named_property(env, object, name, v);
}

/*
 * acceptFd(listenFd, timeoutMs): takes one connection on the listening socket (waiting at most timeoutMs), reads
 * one message carrying exactly one descriptor, closes the connection, and returns { fd, flags (fcntl F_GETFL),
 * uid, pid (the peer's credentials), payload (Buffer, at most 4 KiB) }. Anything else is refused (an Error;
 * any descriptors that came are closed).
 */
static napi_value accept_fd(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int64_t listen_fd = -1, timeout_ms = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 || !get_int(env, argv[0], &listen_fd) ||
      !get_int(env, argv[1], &timeout_ms)) {
    return throw_type(env, "acceptFd(listenFd, timeoutMs)");
  }
  int err = wait_readable((int)listen_fd, timeout_ms);
  if (err) return throw_errno(env, "waiting for the descriptor", err);
  int conn = accept4((int)listen_fd, NULL, NULL, SOCK_CLOEXEC);
  if (conn < 0) return throw_errno(env, "accept", errno);
  struct ucred cred;
  socklen_t cred_length = sizeof cred;
  if (getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cred, &cred_length) != 0) {
    err = errno;
    close(conn);
    return throw_errno(env, "SO_PEERCRED", err);
  }
  err = wait_readable(conn, timeout_ms);
  if (err) {
    close(conn);
    return throw_errno(env, "waiting for the descriptor's message", err);
  }
  char payload[MAX_PAYLOAD];
  union {
    char space[CMSG_SPACE(sizeof(int) * 4)];
    struct cmsghdr align;
  } control;
  struct iovec iov = {.iov_base = payload, .iov_len = sizeof payload};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.space, .msg_controllen = sizeof control.space};
  ssize_t got;
  do got = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);
  while (got < 0 && errno == EINTR);
  err = got < 0 ? errno : 0;
  close(conn);
  if (err) return throw_errno(env, "recvmsg", err);
  int fds[4];
  int nfds = 0;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t k = 0; k < count && nfds < 4; k++) memcpy(&fds[nfds++], CMSG_DATA(c) + k * sizeof(int), sizeof(int));
  }
  if (nfds != 1 || (msg.msg_flags & (MSG_CTRUNC | MSG_TRUNC))) {
    for (int k = 0; k < nfds; k++) close(fds[k]);
    napi_throw_error(env, "EPROTO", nfds == 0 ? "the message carried no descriptor" : "the message carried more than one descriptor, or was cut");
    return NULL;
  }
  int flags = fcntl(fds[0], F_GETFL);
  napi_value result, buffer;
  void *data = NULL;
  napi_create_object(env, &result);
  set_int(env, result, "fd", fds[0]);
  set_int(env, result, "flags", flags);
  set_int(env, result, "uid", cred.uid);
  set_int(env, result, "pid", cred.pid);
  napi_create_buffer_copy(env, (size_t)got, payload, &data, &buffer);
  napi_set_named_property(env, result, "payload", buffer);
  return result;
}

/* sendFd(path, fd, payload): connects to the Unix socket at path and sends payload (≤ 4 KiB) with fd attached. */
static napi_value send_fd(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  struct sockaddr_un addr;
  int64_t fd = -1;
  uint8_t *payload = NULL;
  size_t length = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3 || !get_path(env, argv[0], &addr) ||
      !get_int(env, argv[1], &fd) || fd < 0 || !get_bytes(env, argv[2], &payload, &length) || length == 0 || length > MAX_PAYLOAD) {
    return throw_type(env, "sendFd(path, fd, payload of 1 to 4096 bytes)");
  }
  int conn = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (conn < 0) return throw_errno(env, "socket", errno);
  if (connect(conn, (struct sockaddr *)&addr, sizeof addr) != 0) {
    int err = errno;
    close(conn);
    return throw_errno(env, "connect", err);
  }
  union {
    char space[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } control;
  memset(&control, 0, sizeof control);
  struct iovec iov = {.iov_base = payload, .iov_len = length};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.space, .msg_controllen = sizeof control.space};
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  int sent_fd = (int)fd;
  memcpy(CMSG_DATA(c), &sent_fd, sizeof(int));
  ssize_t sent;
  do sent = sendmsg(conn, &msg, MSG_NOSIGNAL);
  while (sent < 0 && errno == EINTR);
  int err = sent < 0 ? errno : ((size_t)sent != length ? EMSGSIZE : 0);
  close(conn);
  if (err) return throw_errno(env, "sendmsg", err);
  return NULL;
}

/* The one descriptor argument of a call, or -1. */
static int64_t fd_argument(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int64_t fd = -1;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 || !get_int(env, argv[0], &fd)) return -1;
  return fd;
}

/* adoptFd(fd): this thread owns fd from now on; it is closed by closeFd or when the thread ends. */
static napi_value adopt_fd(napi_env env, napi_callback_info info) {
  int64_t fd = fd_argument(env, info);
  if (fd < 0) return throw_type(env, "adoptFd(fd)");
  struct instance *instance = instance_of(env);
  if (!instance || instance->adopted_count >= MAX_ADOPTED) return throw_errno(env, "adoptFd", EMFILE);
  instance->adopted[instance->adopted_count++] = (int)fd;
  return NULL;
}

/*
 * closeFd(fd): closes a descriptor this module gave out (a listening socket, a handed-over drive), and forgets
 * it if this thread adopted it. Node's fs in a worker thread warns about closing descriptors it did not open.
 */
static napi_value close_fd(napi_env env, napi_callback_info info) {
  int64_t fd = fd_argument(env, info);
  if (fd < 0) return throw_type(env, "closeFd(fd)");
  struct instance *instance = NULL;
  if (napi_get_instance_data(env, (void **)&instance) == napi_ok && instance) {
    for (int i = 0; i < instance->adopted_count; i++) {
      if (instance->adopted[i] != (int)fd) continue;
      instance->adopted[i] = instance->adopted[--instance->adopted_count];
      break;
    }
  }
  if (close((int)fd) != 0 && errno != EINTR) return throw_errno(env, "close", errno);
  return NULL;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor properties[] = {
      {"writeMany", NULL, write_many, NULL, NULL, NULL, napi_enumerable, NULL},
      {"listenUnix", NULL, listen_unix, NULL, NULL, NULL, napi_enumerable, NULL},
      {"acceptFd", NULL, accept_fd, NULL, NULL, NULL, napi_enumerable, NULL},
      {"sendFd", NULL, send_fd, NULL, NULL, NULL, napi_enumerable, NULL},
      {"closeFd", NULL, close_fd, NULL, NULL, NULL, napi_enumerable, NULL},
      {"adoptFd", NULL, adopt_fd, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof properties / sizeof properties[0], properties);
  return exports;
}
