// The worker's DTLS identity: one certificate and key for every transport.
//
// Either loaded from the PEM files given by --dtlsCertificateFile and
// --dtlsPrivateKeyFile (the key must match the certificate), or generated
// once at start-up: ECDSA on P-256, self-signed, random serial. The
// fingerprints (RFC 8122 hash names) are what WebRtcTransport advertises.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <openssl/evp.h>
#include <openssl/x509.h>

namespace sluice::transport {

// RFC 8122 §5 hash-func names ("sha-1" ... "sha-512", any case) → digest;
// nullptr for any other name. The five names are the ones we advertise.
const EVP_MD* FingerprintDigest(std::string_view algorithm);
// RFC 8122 §5 fingerprint "2UHEX *(":" 2UHEX)" (any case) into exactly
// `expected` bytes; false when malformed or of another length.
bool ParseFingerprintHex(std::string_view hex, uint8_t* out, size_t expected);
// "<what>: <OpenSSL's first queued error>" (or "unknown OpenSSL error"); clears
// the thread's OpenSSL error queue. For the DTLS units' error texts.
std::string OpenSslError(const char* what);

struct DtlsFingerprint {
  std::string algorithm; // "sha-1", "sha-224", "sha-256", "sha-384", "sha-512"
  std::string value;     // upper-case hex pairs separated by ':'
};

class DtlsCertificate {
public:
  static std::unique_ptr<DtlsCertificate> Generate(std::string* error);
  static std::unique_ptr<DtlsCertificate> Load(const std::string& certFile,
                                               const std::string& keyFile, std::string* error);
  ~DtlsCertificate();
  DtlsCertificate(const DtlsCertificate&) = delete;
  DtlsCertificate& operator=(const DtlsCertificate&) = delete;

  X509* Certificate() const { return cert_; }
  EVP_PKEY* PrivateKey() const { return key_; }
  const std::vector<DtlsFingerprint>& Fingerprints() const { return fingerprints_; }

private:
  DtlsCertificate(X509* cert, EVP_PKEY* key);
  // Takes ownership of both and computes the fingerprints.
  static std::unique_ptr<DtlsCertificate> Adopt(X509* cert, EVP_PKEY* key, std::string* error);
  bool ComputeFingerprints();

  X509* cert_;
  EVP_PKEY* key_;
  std::vector<DtlsFingerprint> fingerprints_;
};

} // namespace sluice::transport
