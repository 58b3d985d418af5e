// What UdpSocket and TcpServer share when they open a socket: errno text,
// setsockopt with an error naming the option, and the port choice (an exact
// port, or every port of a range once, from a random start).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "sluice/net/Address.hpp"

namespace sluice::net {

std::string ErrnoText(int err);

// false with *error = "setsockopt(<label>) failed: <reason>".
bool SetSocketOption(int fd, int level, int name, int value, const char* label, std::string* error);

void SetEndpointPort(Endpoint& endpoint, uint16_t port);

enum class PortAttempt { Bound, InUse, Failed };

// With port != 0 tries exactly that port; else tries each port of
// [minPort, maxPort] once, starting at a random one, until `attempt` answers
// Bound (true) or Failed (false; attempt set *error). InUse moves on; a fixed
// port in use fails with attempt's own *error; a range with every port in use
// fails with "no more available ports [protocol:<protocol>, ip:'<ip>',
// numAttempt:<n>]"; an empty range with "invalid port range [min:<a>, max:<b>]".
bool ChoosePort(uint16_t port, uint16_t minPort, uint16_t maxPort, const char* protocol,
                const std::string& ip, const std::function<PortAttempt(uint16_t)>& attempt,
                std::string* error);

} // namespace sluice::net
