#include "sluice/channel/HandlerRegistry.hpp"

#include <algorithm>

namespace sluice::channel {

namespace {
// Debian's abseil keeps its own string_view type; lookups need it.
absl::string_view Key(std::string_view id) { return absl::string_view(id.data(), id.size()); }

template <typename Map> std::vector<std::string> SortedKeys(const Map& map) {
  std::vector<std::string> keys;
  keys.reserve(map.size());
  for (const auto& [key, value] : map)
    keys.push_back(key);
  std::sort(keys.begin(), keys.end());
  return keys;
}
} // namespace

bool HandlerRegistry::AddRequestHandler(std::string_view id, ChannelEntity* entity) {
  if (id.empty())
    return false;
  return requestHandlers_.try_emplace(std::string(id), entity).second;
}

bool HandlerRegistry::AddNotificationHandler(std::string_view id, ChannelEntity* entity) {
  if (id.empty())
    return false;
  return notificationHandlers_.try_emplace(std::string(id), entity).second;
}

void HandlerRegistry::Remove(std::string_view id) {
  requestHandlers_.erase(Key(id));
  notificationHandlers_.erase(Key(id));
}

ChannelEntity* HandlerRegistry::FindRequestHandler(std::string_view id) const {
  const auto it = requestHandlers_.find(Key(id));
  return it == requestHandlers_.end() ? nullptr : it->second;
}

ChannelEntity* HandlerRegistry::FindNotificationHandler(std::string_view id) const {
  const auto it = notificationHandlers_.find(Key(id));
  return it == notificationHandlers_.end() ? nullptr : it->second;
}

bool HandlerRegistry::Contains(std::string_view id) const {
  return requestHandlers_.contains(Key(id)) || notificationHandlers_.contains(Key(id));
}

std::vector<std::string> HandlerRegistry::RequestHandlerIds() const {
  return SortedKeys(requestHandlers_);
}

std::vector<std::string> HandlerRegistry::NotificationHandlerIds() const {
  return SortedKeys(notificationHandlers_);
}

} // namespace sluice::channel
