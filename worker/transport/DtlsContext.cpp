// DtlsContext (declared in DtlsTransport.hpp) and the OpenSSL callbacks
// every DtlsTransport of a worker shares: the BIO method that hands
// datagrams between OpenSSL and the transport, and the verify callback that
// checks the peer's leaf against the signalled fingerprints.
#include "sluice/transport/DtlsTransport.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

namespace sluice::transport {

namespace {

// Preference order: AEAD first (RFC 7714), then the RFC 5764 mandatory ones.
constexpr char kSrtpProfiles[] = "SRTP_AEAD_AES_256_GCM:SRTP_AEAD_AES_128_GCM:"
                                 "SRTP_AES128_CM_SHA1_80:SRTP_AES128_CM_SHA1_32";
// ECDHE with AES-GCM only, for ECDSA (generated) and RSA (loaded) keys.
// RFC 8827 §6.5 makes TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 mandatory for
// every WebRTC endpoint. AES-GCM only also gives every encrypted record a
// known minimum size (see kMinEncryptedRecord).
constexpr char kCipherList[] = "ECDHE+AESGCM:!aNULL:!eNULL";
} // namespace

// ---- OpenSSL callbacks ---------------------------------------------------

struct DtlsGlue {
  static DtlsTransport* From(BIO* bio) { return static_cast<DtlsTransport*>(BIO_get_data(bio)); }

  static int Create(BIO* bio) {
    BIO_set_init(bio, 1);
    return 1;
  }
  static int Destroy(BIO* bio) {
    BIO_set_data(bio, nullptr);
    return 1;
  }
  static int Read(BIO* bio, char* out, int outLen) {
    BIO_clear_retry_flags(bio);
    DtlsTransport* t = From(bio);
    const int n = t ? t->BioRead(out, outLen) : -1;
    if (n < 0)
      BIO_set_retry_read(bio);
    return n;
  }
  static int Write(BIO* bio, const char* data, int len) {
    BIO_clear_retry_flags(bio);
    if (DtlsTransport* t = From(bio); t && len > 0)
      t->BioWrite(reinterpret_cast<const uint8_t*>(data), static_cast<size_t>(len));
    return len;
  }
  // Anything not handled answers 0: a 1 to e.g. BIO_CTRL_GET_KTLS_SEND
  // would make OpenSSL believe kernel TLS is on and skip its write buffer.
  static long Ctrl(BIO* /*bio*/, int cmd, long /*num*/, void* /*ptr*/) {
    switch (cmd) {
    case BIO_CTRL_FLUSH:
      return 1;
    case BIO_CTRL_DGRAM_QUERY_MTU:
    case BIO_CTRL_DGRAM_GET_MTU:
      return static_cast<long>(DtlsTransport::kMtu);
    default:
      return 0;
    }
  }

  // Chain trust is irrelevant (self-signed, RFC 5763 §5): accept every
  // chain error but check the leaf against the signalled fingerprints.
  static int Verify(int /*preverifyOk*/, X509_STORE_CTX* store) {
    if (X509_STORE_CTX_get_error_depth(store) != 0)
      return 1;
    SSL* ssl =
        static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
    auto* t = ssl ? static_cast<DtlsTransport*>(SSL_get_app_data(ssl)) : nullptr;
    X509* cert = X509_STORE_CTX_get_current_cert(store);
    if (t && cert && t->PeerCertificateMatches(cert))
      return 1;
    X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REJECTED);
    return 0;
  }
};

// ---- DtlsContext ---------------------------------------------------------

std::unique_ptr<DtlsContext> DtlsContext::Create(const DtlsCertificate& certificate,
                                                 std::string* error) {
  SSL_CTX* ctx = SSL_CTX_new(DTLS_method());
  if (!ctx) {
    *error = OpenSslError("SSL_CTX_new failed");
    return nullptr;
  }
  auto fail = [&](const char* what) -> std::unique_ptr<DtlsContext> {
    *error = OpenSslError(what);
    SSL_CTX_free(ctx);
    return nullptr;
  };
  if (SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION) != 1 ||
      SSL_CTX_set_max_proto_version(ctx, DTLS1_2_VERSION) != 1)
    return fail("restricting to DTLS 1.2 failed");
  if (SSL_CTX_use_certificate(ctx, certificate.Certificate()) != 1 ||
      SSL_CTX_use_PrivateKey(ctx, certificate.PrivateKey()) != 1 ||
      SSL_CTX_check_private_key(ctx) != 1)
    return fail("installing the DTLS certificate failed");
  if (SSL_CTX_set_cipher_list(ctx, kCipherList) != 1)
    return fail("setting the DTLS cipher list failed");
  // Returns 0 on success (unlike the rest of the API).
  if (SSL_CTX_set_tlsext_use_srtp(ctx, kSrtpProfiles) != 0)
    return fail("setting the DTLS-SRTP profiles failed");
  // We set the MTU ourselves; no resumption or renegotiation in WebRTC.
  SSL_CTX_set_options(ctx, SSL_OP_NO_QUERY_MTU | SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION |
                               SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, &DtlsGlue::Verify);

  BIO_METHOD* method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "sluice-dtls");
  if (!method || BIO_meth_set_create(method, &DtlsGlue::Create) != 1 ||
      BIO_meth_set_destroy(method, &DtlsGlue::Destroy) != 1 ||
      BIO_meth_set_read(method, &DtlsGlue::Read) != 1 ||
      BIO_meth_set_write(method, &DtlsGlue::Write) != 1 ||
      BIO_meth_set_ctrl(method, &DtlsGlue::Ctrl) != 1) {
    BIO_meth_free(method);
    return fail("creating the DTLS BIO method failed");
  }
  return std::unique_ptr<DtlsContext>(new DtlsContext(ctx, method));
}

DtlsContext::~DtlsContext() {
  SSL_CTX_free(ctx_);
  BIO_meth_free(bioMethod_);
}

} // namespace sluice::transport
