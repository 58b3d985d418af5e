#include <catch2/catch.hpp>

#include <cstdio>
#include <string>
#include <vector>

#include "sluice/util/WorkerSettings.hpp"

using namespace sluice;
using util::WorkerOptions;

namespace {
bool Parse(std::vector<const char*> args, WorkerOptions* out, std::string* error) {
  args.insert(args.begin(), "sluice-worker");
  return util::ParseWorkerOptions(static_cast<int>(args.size()), args.data(), out, error);
}
} // namespace

TEST_CASE("WorkerOptions: defaults with no arguments") {
  WorkerOptions o;
  std::string error;
  REQUIRE(Parse({}, &o, &error));
  CHECK(o.logLevel == channel::LogLevel::Error);
  CHECK(o.rtcMinPort == 10000);
  CHECK(o.rtcMaxPort == 59999);
  CHECK(o.logTags.empty());
  CHECK_FALSE(o.disableLiburing);
}

TEST_CASE("WorkerOptions: what the Node library sends, --logTag prefix form included") {
  WorkerOptions o;
  std::string error;
  REQUIRE(Parse({"--logLevel=debug", "--logTag=info", "--logTag=rtp", "--rtcMinPort=20000",
                 "--rtcMaxPort=20100", "--libwebrtcFieldTrials=WebRTC-Foo/Enabled/",
                 "--disableLiburing=true"},
                &o, &error));
  CHECK(o.logLevel == channel::LogLevel::Debug);
  CHECK(o.logTags == std::vector<std::string>{"info", "rtp"});
  CHECK(o.rtcMinPort == 20000);
  CHECK(o.rtcMaxPort == 20100);
  CHECK(o.libwebrtcFieldTrials == "WebRTC-Foo/Enabled/");
  CHECK(o.disableLiburing);
}

TEST_CASE("WorkerOptions: rtcMinPort 0 is accepted and means ports from 1") {
  WorkerOptions o;
  std::string error;
  REQUIRE(Parse({"--rtcMinPort=0", "--rtcMaxPort=9999"}, &o, &error));
  CHECK(o.rtcMinPort == 0);
  CHECK(o.FirstRtcPort() == 1);
  CHECK(o.rtcMaxPort == 9999);
  REQUIRE(Parse({"--rtcMinPort=0", "--rtcMaxPort=1"}, &o, &error));
  CHECK(o.FirstRtcPort() == 1);
}

TEST_CASE("WorkerOptions: every bad input is refused with a line naming it") {
  const std::vector<std::vector<const char*>> bad = {
      {"--logLevel=verbose"},
      {"--nope=1"},
      {"--rtc=10"}, // ambiguous prefix (rtcMinPort, rtcMaxPort)
      {"--rtcMaxPort=0"},
      {"--rtcMinPort=0", "--rtcMaxPort=0"},
      {"--rtcMinPort=65536"},
      {"--rtcMinPort=12a"},
      {"--rtcMinPort="},
      {"--rtcMinPort"},
      {"--rtcMinPort=3000", "--rtcMaxPort=2000"},
      {"--dtlsCertificateFile=/tmp/cert.pem"},
      {"--dtlsPrivateKeyFile=/tmp/key.pem"},
      {"--disableLiburing=maybe"},
      {"logLevel=debug"},
  };
  for (const auto& args : bad) {
    WorkerOptions o;
    std::string error;
    INFO(args[0]);
    CHECK_FALSE(Parse(args, &o, &error));
    CHECK_FALSE(error.empty());
  }
}

TEST_CASE("SluiceSettings: defaults, overrides, bad values and unknown names") {
  util::SluiceSettings s;
  std::string error;
  std::vector<std::string> warnings;
  SECTION("overrides") {
    const char* env[] = {"PATH=/bin", "SLUICE_POOL_BYTE_CAP=33554432", "SLUICE_RING_VIDEO_K=4",
                         "SLUICE_TYPO=1", nullptr};
    REQUIRE(util::ParseSluiceSettings(env, &s, &error, &warnings));
    CHECK(s.poolByteCap == 33554432u);
    CHECK(s.ringVideoK == 4u);
    REQUIRE(warnings.size() == 1);
    CHECK(warnings[0].find("SLUICE_TYPO") != std::string::npos);
  }
  SECTION("out of range") {
    const char* env[] = {"SLUICE_RING_VIDEO_K=0", nullptr};
    CHECK_FALSE(util::ParseSluiceSettings(env, &s, &error, &warnings));
    CHECK(error.find("SLUICE_RING_VIDEO_K") != std::string::npos);
  }
  SECTION("not a number") {
    const char* env[] = {"SLUICE_CHANNEL_OUT_LIMIT=lots", nullptr};
    CHECK_FALSE(util::ParseSluiceSettings(env, &s, &error, &warnings));
    CHECK(error.find("SLUICE_CHANNEL_OUT_LIMIT") != std::string::npos);
  }
  SECTION("floor above ceiling") {
    const char* env[] = {"SLUICE_RING_AUDIO_FLOOR_MS=900", "SLUICE_RING_AUDIO_CEILING_MS=800",
                         nullptr};
    CHECK_FALSE(util::ParseSluiceSettings(env, &s, &error, &warnings));
  }
}

TEST_CASE("SluiceSettings: README documents every SLUICE_* variable") {
  FILE* f = std::fopen(SLUICE_SOURCE_ROOT "/README.md", "r");
  REQUIRE(f);
  std::string readme;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0)
    readme.append(buf, n);
  std::fclose(f);
  for (const auto& d : util::SluiceSettingDescriptions()) {
    INFO(d.name);
    CHECK(readme.find(std::string("| `") + d.name + "` |") != std::string::npos);
  }
}
