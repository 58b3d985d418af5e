#include "AllocCounter.hpp"

#include <cstddef>
#include <cstdlib>
#include <new>

namespace {
uint64_t gAllocCalls = 0;

void* CountedAlloc(std::size_t n, std::size_t align) {
  ++gAllocCalls;
  if (n == 0)
    n = 1;
  void* p = nullptr;
  if (align > alignof(std::max_align_t)) {
    if (posix_memalign(&p, align, n) != 0)
      p = nullptr;
  } else {
    p = std::malloc(n);
  }
  return p;
}
} // namespace

namespace sluice::test {
uint64_t AllocCalls() { return gAllocCalls; }
} // namespace sluice::test

void* operator new(std::size_t n) {
  if (void* p = CountedAlloc(n, 0))
    return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return operator new(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return CountedAlloc(n, 0); }
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return CountedAlloc(n, 0); }
void* operator new(std::size_t n, std::align_val_t a) {
  if (void* p = CountedAlloc(n, static_cast<std::size_t>(a)))
    return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n, std::align_val_t a) { return operator new(n, a); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
