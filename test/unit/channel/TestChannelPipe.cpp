#include <catch2/catch.hpp>

#include <fcntl.h>
#include <string>
#include <sys/socket.h>
#include <unistd.h>

#include "sluice/channel/ChannelPipe.hpp"

using sluice::channel::ChannelPipe;

TEST_CASE("ChannelPipe::CheckFds: pipes and sockets pass, anything else says why") {
  int p[2];
  REQUIRE(pipe(p) == 0);
  int s[2];
  REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, s) == 0);
  const int devNull = open("/dev/null", O_RDWR);
  REQUIRE(devNull >= 0);
  int closedPipe[2];
  REQUIRE(pipe(closedPipe) == 0);
  close(closedPipe[0]);
  close(closedPipe[1]);
  std::string why;

  CHECK(ChannelPipe::CheckFds(p[0], p[1], &why));
  CHECK(why.empty());
  CHECK(ChannelPipe::CheckFds(s[0], s[1], &why)); // what the Node library's spawn gives

  CHECK_FALSE(ChannelPipe::CheckFds(closedPipe[0], p[1], &why));
  CHECK(why == "fd " + std::to_string(closedPipe[0]) + " is not open");
  CHECK_FALSE(ChannelPipe::CheckFds(p[0], closedPipe[1], &why));
  CHECK(why == "fd " + std::to_string(closedPipe[1]) + " is not open");
  CHECK_FALSE(ChannelPipe::CheckFds(devNull, p[1], &why));
  CHECK(why.find("not a pipe or socket") != std::string::npos);
  // The pipe's ends the wrong way round.
  CHECK_FALSE(ChannelPipe::CheckFds(p[1], p[0], &why));
  CHECK(why == "fd " + std::to_string(p[1]) + " is open for writing only");

  for (int fd : {p[0], p[1], s[0], s[1], devNull})
    close(fd);
}
