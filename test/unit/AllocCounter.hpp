// Counts calls to the global allocation functions in a test binary.
//
// Link AllocCounter.cpp into a test executable (and only into tests that
// want it): it replaces operator new/delete (all forms) with versions that
// bump a counter and forward to malloc/free. Use AllocScope to measure a
// region: allocations made by Catch2 itself outside the scope don't count.
#pragma once

#include <cstdint>

namespace sluice::test {

uint64_t AllocCalls();

class AllocScope {
public:
  AllocScope() : start_(AllocCalls()) {}
  uint64_t Count() const { return AllocCalls() - start_; }

private:
  uint64_t start_;
};

} // namespace sluice::test
