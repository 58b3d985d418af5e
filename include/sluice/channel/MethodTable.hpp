// Dispatch from a request's method to one handler function of an entity.
//
// Each entity declares a static table {method, expected body type, member
// function}. The table is the single place where a body type is tied to a
// method, so no handler ever reads a body of the wrong type. Methods of the
// entity's family (its name prefixes, e.g. "ROUTER_") that have no row yet
// answer "not implemented": never a silent success.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>

#include "sluice/channel/Request.hpp"

namespace sluice::channel {

template <typename T> struct MethodEntry {
  FBS::Request::Method method;
  FBS::Request::Body body; // NONE: the method takes no body.
  void (T::*handler)(Request&);
};

// Shared error path for a request no row answers.
void AnswerUnhandled(Request& request, std::initializer_list<std::string_view> families,
                     std::string_view kind);
// Shared check of the body type against the row; answers TypeError if wrong.
bool CheckBodyType(Request& request, FBS::Request::Body expected);

template <typename T, typename Table>
void DispatchMethod(T& self, const Table& table, std::initializer_list<std::string_view> families,
                    std::string_view kind, Request& request) {
  for (const auto& entry : table) {
    if (entry.method != request.Method())
      continue;
    if (CheckBodyType(request, entry.body))
      (self.*entry.handler)(request);
    return;
  }
  AnswerUnhandled(request, families, kind);
}

} // namespace sluice::channel
