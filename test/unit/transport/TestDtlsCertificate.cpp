#include <catch2/catch.hpp>

#include <cstdio>
#include <string>

#include <openssl/pem.h>
#include <unistd.h>

#include "sluice/transport/DtlsCertificate.hpp"

using sluice::transport::DtlsCertificate;

namespace {
std::string WritePem(const char* name, bool cert, const DtlsCertificate& c) {
  const std::string path =
      std::string("/tmp/sluice-test-") + name + "-" + std::to_string(::getpid()) + ".pem";
  FILE* f = std::fopen(path.c_str(), "w");
  REQUIRE(f);
  if (cert)
    PEM_write_X509(f, c.Certificate());
  else
    PEM_write_PrivateKey(f, c.PrivateKey(), nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
  return path;
}
} // namespace

TEST_CASE("DtlsCertificate: generated P-256 certificate with five fingerprints") {
  std::string error;
  auto c = DtlsCertificate::Generate(&error);
  REQUIRE(c);
  CHECK(EVP_PKEY_get_base_id(c->PrivateKey()) == EVP_PKEY_EC);
  CHECK(X509_check_private_key(c->Certificate(), c->PrivateKey()) == 1);
  REQUIRE(c->Fingerprints().size() == 5);
  CHECK(c->Fingerprints()[0].algorithm == "sha-1");
  CHECK(c->Fingerprints()[0].value.size() == 20 * 3 - 1);
  CHECK(c->Fingerprints()[2].algorithm == "sha-256");
  CHECK(c->Fingerprints()[2].value.size() == 32 * 3 - 1);
  // Two generations differ (fresh key, fresh serial).
  auto d = DtlsCertificate::Generate(&error);
  REQUIRE(d);
  CHECK(c->Fingerprints()[2].value != d->Fingerprints()[2].value);
}

TEST_CASE("DtlsCertificate: loading files, matching and mismatched keys, missing files") {
  std::string error;
  auto a = DtlsCertificate::Generate(&error);
  auto b = DtlsCertificate::Generate(&error);
  REQUIRE(a);
  REQUIRE(b);
  const auto certA = WritePem("certA", true, *a);
  const auto keyA = WritePem("keyA", false, *a);
  const auto keyB = WritePem("keyB", false, *b);

  auto loaded = DtlsCertificate::Load(certA, keyA, &error);
  REQUIRE(loaded);
  CHECK(loaded->Fingerprints()[2].value == a->Fingerprints()[2].value);

  CHECK_FALSE(DtlsCertificate::Load(certA, keyB, &error));
  CHECK(error.find("does not match") != std::string::npos);
  CHECK_FALSE(DtlsCertificate::Load("/nonexistent/cert.pem", keyA, &error));
  CHECK(error.find("cannot open") != std::string::npos);
  CHECK_FALSE(DtlsCertificate::Load(keyA, keyA, &error)); // a key is not a certificate
  for (const auto& p : {certA, keyA, keyB})
    std::remove(p.c_str());
}
