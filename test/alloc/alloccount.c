// LD_PRELOAD allocation counter for a whole process (the worker under test).
//
// Counts every call that can take heap memory (malloc, calloc, realloc,
// posix_memalign, aligned_alloc, memalign, valloc; C++ operator new lands in
// malloc) in a shared page: the file named by ALLOCCOUNT_FILE is
// created and mapped at load, so a test or benchmark reads the live count
// with a plain file read, before and after a steady-state window, without
// talking to the process. Frees are counted separately. Writing a non-zero
// `trace` word into the file makes every later allocation print a backtrace
// to stderr (to find where an unexpected one comes from).
#define _GNU_SOURCE
#include <dlfcn.h>
#include <execinfo.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

// Layout of the counter file (little-endian uint64 each).
struct Counters {
  uint64_t allocations;
  uint64_t frees;
  uint64_t bytes;
  uint64_t trace;
};

static struct Counters local;
static struct Counters* counters = &local;

static void* (*real_malloc)(size_t);
static void* (*real_calloc)(size_t, size_t);
static void* (*real_realloc)(void*, size_t);
static void (*real_free)(void*);
static int (*real_posix_memalign)(void**, size_t, size_t);
static void* (*real_aligned_alloc)(size_t, size_t);
static void* (*real_memalign)(size_t, size_t);

// dlsym may calloc before real_calloc is known: serve it from here.
static char bootstrap[4096];
static size_t bootstrapUsed;

static void* BootstrapAlloc(size_t n) {
  n = (n + 15) & ~(size_t)15;
  if (bootstrapUsed + n > sizeof(bootstrap))
    return NULL;
  void* p = bootstrap + bootstrapUsed;
  bootstrapUsed += n;
  return p;
}

static int FromBootstrap(void* p) {
  return (char*)p >= bootstrap && (char*)p < bootstrap + sizeof(bootstrap);
}

static void Resolve(void) {
  if (real_malloc)
    return;
  real_calloc = dlsym(RTLD_NEXT, "calloc");
  real_malloc = dlsym(RTLD_NEXT, "malloc");
  real_realloc = dlsym(RTLD_NEXT, "realloc");
  real_free = dlsym(RTLD_NEXT, "free");
  real_posix_memalign = dlsym(RTLD_NEXT, "posix_memalign");
  real_aligned_alloc = dlsym(RTLD_NEXT, "aligned_alloc");
  real_memalign = dlsym(RTLD_NEXT, "memalign");
}

__attribute__((constructor)) static void Init(void) {
  Resolve();
  const char* path = getenv("ALLOCCOUNT_FILE");
  if (path == NULL || *path == '\0')
    return;
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (fd < 0)
    return;
  if (ftruncate(fd, sizeof(struct Counters)) == 0) {
    void* page = mmap(NULL, sizeof(struct Counters), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (page != MAP_FAILED) {
      memcpy(page, &local, sizeof(local));
      counters = page;
    }
  }
  close(fd);
}

static __thread int inTrace;

static void Count(size_t n) {
  __atomic_add_fetch(&counters->allocations, 1, __ATOMIC_RELAXED);
  __atomic_add_fetch(&counters->bytes, n, __ATOMIC_RELAXED);
  if (counters->trace != 0 && !inTrace) {
    inTrace = 1;
    void* frames[24];
    const int depth = backtrace(frames, 24);
    static const char kLine[] = "alloccount: allocation at\n";
    (void)!write(2, kLine, sizeof(kLine) - 1);
    backtrace_symbols_fd(frames, depth, 2);
    inTrace = 0;
  }
}

void* malloc(size_t n) {
  if (!real_malloc) {
    Resolve();
    if (!real_malloc)
      return BootstrapAlloc(n);
  }
  Count(n);
  return real_malloc(n);
}

void* calloc(size_t a, size_t b) {
  if (!real_calloc) {
    void* p = BootstrapAlloc(a * b);
    if (p)
      memset(p, 0, a * b);
    return p;
  }
  Count(a * b);
  return real_calloc(a, b);
}

void* realloc(void* p, size_t n) {
  Resolve();
  Count(n);
  if (FromBootstrap(p)) {
    void* q = real_malloc(n);
    if (q)
      memcpy(q, p, n);
    return q;
  }
  return real_realloc(p, n);
}

void free(void* p) {
  if (p == NULL || FromBootstrap(p))
    return;
  Resolve();
  __atomic_add_fetch(&counters->frees, 1, __ATOMIC_RELAXED);
  real_free(p);
}

int posix_memalign(void** out, size_t align, size_t n) {
  Resolve();
  Count(n);
  return real_posix_memalign(out, align, n);
}

void* aligned_alloc(size_t align, size_t n) {
  Resolve();
  Count(n);
  return real_aligned_alloc(align, n);
}

void* memalign(size_t align, size_t n) {
  Resolve();
  Count(n);
  return real_memalign(align, n);
}
