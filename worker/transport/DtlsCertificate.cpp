#include "sluice/transport/DtlsCertificate.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <iterator>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

namespace sluice::transport {

namespace {

constexpr long kValiditySeconds = 365L * 24 * 3600;

bool SignSelf(X509* cert, EVP_PKEY* key) {
  // A random 63-bit serial: browsers reject certificates that reuse
  // issuer+serial with different keys.
  uint64_t serial = 0;
  if (RAND_bytes(reinterpret_cast<unsigned char*>(&serial), sizeof(serial)) != 1)
    return false;
  serial &= 0x7fffffffffffffffull;
  if (X509_set_version(cert, 2) != 1 ||
      ASN1_INTEGER_set_uint64(X509_get_serialNumber(cert), serial) != 1)
    return false;
  // Start a day in the past so peers with a slightly wrong clock accept it.
  if (!X509_gmtime_adj(X509_getm_notBefore(cert), -24 * 3600) ||
      !X509_gmtime_adj(X509_getm_notAfter(cert), kValiditySeconds))
    return false;
  X509_NAME* name = X509_get_subject_name(cert);
  if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                 reinterpret_cast<const unsigned char*>("sluice"), -1, -1,
                                 0) != 1 ||
      X509_set_issuer_name(cert, name) != 1 || X509_set_pubkey(cert, key) != 1)
    return false;
  return X509_sign(cert, key, EVP_sha256()) > 0;
}

} // namespace

std::string OpenSslError(const char* what) {
  char buf[256];
  const unsigned long code = ERR_get_error();
  ERR_error_string_n(code, buf, sizeof(buf));
  ERR_clear_error();
  return std::string(what) + ": " + (code ? buf : "unknown OpenSSL error");
}

DtlsCertificate::DtlsCertificate(X509* cert, EVP_PKEY* key) : cert_(cert), key_(key) {}

std::unique_ptr<DtlsCertificate> DtlsCertificate::Adopt(X509* cert, EVP_PKEY* key,
                                                        std::string* error) {
  std::unique_ptr<DtlsCertificate> out(new DtlsCertificate(cert, key));
  if (!out->ComputeFingerprints()) {
    *error = OpenSslError("computing certificate fingerprints failed");
    return nullptr;
  }
  return out;
}

DtlsCertificate::~DtlsCertificate() {
  X509_free(cert_);
  EVP_PKEY_free(key_);
}

std::unique_ptr<DtlsCertificate> DtlsCertificate::Generate(std::string* error) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  if (!key) {
    *error = OpenSslError("generating the P-256 key failed");
    return nullptr;
  }
  X509* cert = X509_new();
  if (!cert || !SignSelf(cert, key)) {
    *error = OpenSslError("self-signing the DTLS certificate failed");
    X509_free(cert);
    EVP_PKEY_free(key);
    return nullptr;
  }
  return Adopt(cert, key, error);
}

std::unique_ptr<DtlsCertificate>
DtlsCertificate::Load(const std::string& certFile, const std::string& keyFile, std::string* error) {
  FILE* f = std::fopen(certFile.c_str(), "r");
  if (!f) {
    *error = "cannot open dtlsCertificateFile " + certFile;
    return nullptr;
  }
  X509* cert = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  if (!cert) {
    *error = OpenSslError(("no PEM certificate in " + certFile).c_str());
    return nullptr;
  }
  f = std::fopen(keyFile.c_str(), "r");
  if (!f) {
    X509_free(cert);
    *error = "cannot open dtlsPrivateKeyFile " + keyFile;
    return nullptr;
  }
  EVP_PKEY* key = PEM_read_PrivateKey(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  if (!key || X509_check_private_key(cert, key) != 1) {
    *error = OpenSslError(key ? "dtlsPrivateKeyFile does not match dtlsCertificateFile"
                              : ("no PEM private key in " + keyFile).c_str());
    X509_free(cert);
    EVP_PKEY_free(key);
    return nullptr;
  }
  return Adopt(cert, key, error);
}

namespace {

constexpr const char* kFingerprintAlgorithms[] = {"sha-1", "sha-224", "sha-256", "sha-384",
                                                  "sha-512"};

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

} // namespace

const EVP_MD* FingerprintDigest(std::string_view algorithm) {
  const EVP_MD* digests[] = {EVP_sha1(), EVP_sha224(), EVP_sha256(), EVP_sha384(), EVP_sha512()};
  for (size_t i = 0; i < std::size(digests); ++i)
    if (EqualsIgnoreCase(algorithm, kFingerprintAlgorithms[i]))
      return digests[i];
  return nullptr;
}

bool ParseFingerprintHex(std::string_view hex, uint8_t* out, size_t expected) {
  if (expected == 0 || hex.size() != expected * 3 - 1)
    return false;
  for (size_t i = 0; i < expected; ++i) {
    const int hi = HexDigit(hex[i * 3]);
    const int lo = HexDigit(hex[i * 3 + 1]);
    if (hi < 0 || lo < 0 || (i + 1 < expected && hex[i * 3 + 2] != ':'))
      return false;
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return true;
}

bool DtlsCertificate::ComputeFingerprints() {
  for (const char* name : kFingerprintAlgorithms) {
    const EVP_MD* md = FingerprintDigest(name);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (X509_digest(cert_, md, digest, &len) != 1)
      return false;
    std::string hex;
    hex.reserve(len * 3);
    static const char kHex[] = "0123456789ABCDEF";
    for (unsigned int i = 0; i < len; ++i) {
      if (i)
        hex.push_back(':');
      hex.push_back(kHex[digest[i] >> 4]);
      hex.push_back(kHex[digest[i] & 0xf]);
    }
    fingerprints_.push_back({name, hex});
  }
  return true;
}

} // namespace sluice::transport
