// The one place entity ids live: every Router, Transport, Producer, ... that
// the controller can address registers its id here, so requests and
// notifications find their target, duplicates are refused in one place, and
// the Worker dump lists exactly what is registered.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <absl/container/flat_hash_map.h>

#include "message_generated.h"

namespace sluice::channel {

class Request;

// Something the controller addresses by id.
class ChannelEntity {
public:
  virtual ~ChannelEntity() = default;
  virtual void HandleRequest(Request& request) = 0;
  // Notifications to the worker (DirectTransport RTP/RTCP/data) get no reply.
  virtual void HandleNotification(const FBS::Notification::Notification& notification) {
    (void)notification;
  }
};

class HandlerRegistry {
public:
  // false if the id is empty or taken.
  bool AddRequestHandler(std::string_view id, ChannelEntity* entity);
  bool AddNotificationHandler(std::string_view id, ChannelEntity* entity);
  void Remove(std::string_view id);

  ChannelEntity* FindRequestHandler(std::string_view id) const;
  ChannelEntity* FindNotificationHandler(std::string_view id) const;
  bool Contains(std::string_view id) const;
  size_t Size() const { return requestHandlers_.size(); }

  std::vector<std::string> RequestHandlerIds() const;
  std::vector<std::string> NotificationHandlerIds() const;

private:
  absl::flat_hash_map<std::string, ChannelEntity*> requestHandlers_;
  absl::flat_hash_map<std::string, ChannelEntity*> notificationHandlers_;
};

} // namespace sluice::channel
