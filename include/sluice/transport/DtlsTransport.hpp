// DtlsTransport: the DTLS 1.2 handshake of one WebRtcTransport (RFC 6347),
// used only to agree SRTP keys (DTLS-SRTP, RFC 5764) and, later, to carry
// SCTP.
//
// Trust: the peer's certificate is self-signed; it is trusted because its
// digest matches a fingerprint the remote gave through signalling (RFC 8122).
// OpenSSL's chain verification is overridden, and the leaf is checked
// against the fingerprints while the handshake runs (a mismatch aborts it
// with a bad_certificate alert) and once more after it.
//
// Versions: DTLS 1.2 only. OpenSSL 3.0 cannot do DTLS 1.3; a browser's
// 1.3-capable ClientHello (supported_versions, a big post-quantum key share,
// the message fragmented over two records) is reassembled by OpenSSL and
// answered with a DTLS 1.2 ServerHello.
//
// I/O: no buffer of our own. A custom BIO copies the datagram being
// processed straight into OpenSSL's record buffer and passes every datagram
// OpenSSL writes straight to Listener::OnDtlsSend. Flights are cut to kMtu bytes per datagram. A
// datagram over kMaxDatagram, or any datagram before Start or after
// Close/Failed, is dropped and counted; so is one holding an encrypted
// record too short for AES-GCM, which OpenSSL 3.0 would turn into a fatal
// error. Other bad records are discarded by OpenSSL (RFC 6347 §4.1.2.7);
// a well-framed but malformed handshake message fails the handshake.
//
// Cipher suites: ECDHE with AES-GCM (RFC 8827 §6.5); groups OpenSSL's
// default. SRTP profiles, preferred first: AEAD_AES_256_GCM,
// AEAD_AES_128_GCM, AES128_CM_HMAC_SHA1_80, AES128_CM_HMAC_SHA1_32.
//
// Timers: one uv_timer per transport drives handshake retransmission
// (initial kInitialRetransmitMs, doubling up to kMaxRetransmitMs) and the
// handshake deadline (kHandshakeTimeoutMs from Start, both roles). It runs
// only while Connecting.
//
// Connected: the SSL object is freed. Once the SRTP keys are exported and
// before Connected is reported, the epoch-1 record keys are derived
// (DtlsRecordCipher) and SSL_free returns OpenSSL's ~22 KB handshake
// buffer (kept for a DTLS session's whole life otherwise), the session,
// the peer certificate chain, cipher contexts and the retransmission queue.
// What the peer observes is unchanged without SCTP: Close sends the same
// epoch-1 close_notify SSL_shutdown would; the peer's close_notify (closes,
// answered with ours), fatal alerts (fail) and application data (dropped,
// counted) are authenticated before they count; a datagram that fails
// authentication is dropped and counted as malformed. When we are the
// server the peer may miss our final flight (ChangeCipherSpec, Finished)
// and resend its own: the bytes of that flight are kept
// (finalFlight_, < 200 bytes) and resent, at most kMaxFinalFlightReplays
// times. SCTP over DTLS will need the SSL object back (or its own record
// layer on DtlsRecordCipher).
//
// Memory (Debian's OpenSSL 3.0.19, mallinfo2 in TestDtlsTransport): about
// 8 KB per transport before Start (the SSL object), ~70 KB while the
// handshake runs (the handshake buffer and a ~17 KB read and write record
// buffer each), and kConnectedBytes once connected (this object, the keys,
// the final flight and the peer certificate PEM; was 36 KB with the SSL
// object kept). OpenSSL buffers at most 100 out-of-order records per queue
// while the handshake runs; that bound is OpenSSL's. Destruction returns
// everything.
//
// Callbacks: OnDtlsSend runs inside an OpenSSL call: from there Close()
// only marks the transport Closed (no alert) and ProcessDatagram drops.
// Any callback may call Close(); none may destroy the transport (close
// through the deferred queue). The destructor makes no callbacks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <openssl/types.h>
#include <uv.h>

#include "sluice/transport/DtlsCertificate.hpp"
#include "sluice/transport/DtlsRecordCipher.hpp"
#include "sluice/transport/SrtpSession.hpp"

namespace sluice::transport {

// Values as FBS.WebRtcTransport.DtlsRole / FBS.WebRtcTransport.DtlsState.
enum class DtlsRole : uint8_t { Auto = 0, Client = 1, Server = 2 };
enum class DtlsState : uint8_t { New = 0, Connecting = 1, Connected = 2, Failed = 3, Closed = 4 };

// Our role given the remote's role from WebRtcTransport.connect(): remote
// Client → we are Server; remote Server or Auto → we are Client (we are
// ICE-lite, the controlled side).
DtlsRole ResolveLocalDtlsRole(DtlsRole remote);

// RFC 7983 §7: first byte 20..63 and at least a 13-byte DTLS record header.
bool LooksLikeDtls(const uint8_t* data, size_t len);

// One per worker: the SSL_CTX (certificate, key, SRTP profiles, verify
// policy) and the BIO method every transport uses. Must outlive every
// DtlsTransport created from it.
class DtlsContext {
public:
  static std::unique_ptr<DtlsContext> Create(const DtlsCertificate& certificate,
                                             std::string* error);
  ~DtlsContext();
  DtlsContext(const DtlsContext&) = delete;
  DtlsContext& operator=(const DtlsContext&) = delete;

  SSL_CTX* Ctx() const { return ctx_; }
  const BIO_METHOD* BioMethod() const { return bioMethod_; }

private:
  DtlsContext(SSL_CTX* ctx, BIO_METHOD* bioMethod) : ctx_(ctx), bioMethod_(bioMethod) {}

  SSL_CTX* ctx_;
  BIO_METHOD* bioMethod_;
};

class DtlsTransport {
public:
  // DTLS payload bytes per datagram we send (fits any path with a 1280-byte
  // IPv6 minimum MTU once IP/UDP headers and TURN framing are added).
  static constexpr size_t kMtu = 1200;
  // Largest datagram we hand to OpenSSL: a full AES-GCM record (2^14
  // plaintext + 24 + 13 header bytes, RFC 6347 §4.1) with room to spare, and
  // below what OpenSSL's DTLS read buffer holds (16384 + 320 + 13).
  static constexpr size_t kMaxDatagram = 16384 + 256 + 13;
  static constexpr uint32_t kInitialRetransmitMs = 500;
  static constexpr uint32_t kMaxRetransmitMs = 4000;
  static constexpr uint64_t kHandshakeTimeoutMs = 30000;
  static constexpr uint32_t kMaxFinalFlightReplays = 4;
  // Heap held by one connected transport, as the worker dump reports it
  // (TestDtlsTransport measures it stays below this).
  static constexpr size_t kConnectedBytes = 2048;
  // Before Start (the SSL object), and while the handshake runs (the SSL
  // object, OpenSSL's handshake buffer, a read and a write record buffer).
  static constexpr size_t kCreatedBytes = 8 * 1024;
  static constexpr size_t kHandshakeBytes = 72 * 1024;

  class Listener {
  public:
    virtual ~Listener() = default;
    // One datagram to the remote; bytes valid during the call.
    virtual void OnDtlsSend(const uint8_t* data, size_t len) = 0;
    // Connecting, Connected, Failed, Closed.
    virtual void OnDtlsStateChange(DtlsState state) = 0;
    // Right before OnDtlsStateChange(Connected): the negotiated profile and
    // both master key||salt (RFC 5764 §4.2). `local` is what we encrypt
    // with, `remote` what the peer encrypts with; each
    // SrtpMasterLength(suite) bytes, valid during the call.
    virtual void OnDtlsSrtpKeys(SrtpSuite suite, const uint8_t* local, const uint8_t* remote,
                                size_t len) = 0;
  };

  struct Counters {
    uint64_t datagramsIn = 0;    // handed to OpenSSL
    uint64_t datagramsOut = 0;   // passed to OnDtlsSend
    uint64_t dropped = 0;        // before Start, after Close/Failed, empty, oversize
    uint64_t appDataDropped = 0; // application data reads (SCTP not supported yet)
    uint64_t handshakeRetransmissions = 0;
    uint64_t malformed = 0; // an encrypted record too short for AES-GCM (see .cpp), or,
                            // once connected, one that fails authentication
    uint64_t finalFlightReplays = 0;
  };

  static std::unique_ptr<DtlsTransport> Create(uv_loop_t* loop, DtlsContext& context,
                                               Listener& listener, std::string* error);
  ~DtlsTransport();
  DtlsTransport(const DtlsTransport&) = delete;
  DtlsTransport& operator=(const DtlsTransport&) = delete;

  // role: Client or Server (Auto is an error). remoteFingerprints: RFC 8122
  // names "sha-1", "sha-224", "sha-256", "sha-384", "sha-512" and hex pairs
  // (any case) separated by ':'; the peer must match one of them. The client
  // sends its ClientHello at once. Only from New; false with *error set
  // otherwise (state unchanged).
  bool Start(DtlsRole role, std::vector<DtlsFingerprint> remoteFingerprints, std::string* error);
  // One received datagram (may hold several records).
  void ProcessDatagram(const uint8_t* data, size_t len);
  // close_notify if Connecting/Connected, then state Closed (reported to
  // the listener); later input is dropped. Idempotent.
  void Close();

  DtlsState State() const { return state_; }
  DtlsRole Role() const { return role_; }
  // True once Connected and OpenSSL's session is freed.
  bool SessionReleased() const { return ssl_ == nullptr && cipher_.has_value(); }
  // Heap this transport holds, from the figures above by state (no
  // allocator reading): what the worker dump sums.
  size_t HeldBytes() const {
    if (!ssl_)
      return kConnectedBytes;
    return state_ == DtlsState::New ? kCreatedBytes : kHandshakeBytes;
  }
  // PEM of the peer's certificate, set once Connected.
  const std::string& RemoteCertificatePem() const { return remoteCertPem_; }
  // Why the state became Failed (empty otherwise).
  const std::string& FailureReason() const { return failureReason_; }
  // SSL_version() of the session: DTLS1_2_VERSION (0xfefd) once the
  // ServerHello is sent or received.
  int NegotiatedVersion() const;
  const Counters& GetCounters() const { return counters_; }

  // Tests: shorter handshake deadline (call before Start).
  void SetHandshakeTimeoutMs(uint64_t ms) { handshakeTimeoutMs_ = ms; }

private:
  struct Fingerprint {
    const EVP_MD* md;
    uint8_t digest[EVP_MAX_MD_SIZE];
    size_t len;
  };

  DtlsTransport(uv_loop_t* loop, Listener& listener);

  // BIO glue (static trampolines in the .cpp call these).
  int BioRead(char* out, int outLen);
  void BioWrite(const uint8_t* data, size_t len);
  // The peer's leaf certificate against remoteFingerprints_ (verify
  // callback and after the handshake); a mismatch is remembered.
  bool PeerCertificateMatches(X509* cert);

  void RunHandshake();
  void OnHandshakeDone();
  void ProcessConnected(const uint8_t* data, size_t len);
  bool ReleaseSession();
  void ReplayFinalFlight();
  bool ExportSrtpKeys(SrtpSuite suite, size_t keyLen, size_t saltLen);
  void ArmTimer();
  void OnTimer();
  void Fail(std::string reason);
  void SetState(DtlsState state);
  void SendCloseNotify();      // sealed by cipher_, or through OpenSSL before that
  void SendPlainCloseNotify(); // ours, while it runs

  uv_loop_t* loop_;
  Listener& listener_;
  SSL* ssl_ = nullptr;
  uv_timer_t* timer_ = nullptr; // freed in its close callback
  DtlsRole role_ = DtlsRole::Auto;
  DtlsState state_ = DtlsState::New;
  bool inSsl_ = false; // inside an OpenSSL call (OnDtlsSend must not re-enter)
  bool muted_ = false; // destructor: BIO writes go nowhere
  // The datagram being processed, read once by the BIO.
  const uint8_t* pending_ = nullptr;
  size_t pendingLen_ = 0;
  // Last plaintext-epoch record we wrote, to send close_notify mid-handshake
  // (OpenSSL's SSL_shutdown refuses while in init).
  uint64_t lastEpoch0Seq_ = 0;
  bool wroteEpoch0_ = false;
  uint64_t lastEpoch1Seq_ = 0; // for the close_notify cipher_ seals
  bool capturing_ = false;     // inside RunHandshake: BioWrite keeps a copy
  int version_ = 0;            // SSL_version() when the session was released
  uint32_t finalFlightReplays_ = 0;
  // What the last SSL_do_handshake call wrote: (2-byte length, datagram)*.
  std::vector<uint8_t> finalFlight_;
  std::optional<DtlsRecordCipher> cipher_; // once connected
  uint8_t epoch0Version_[2] = {0xfe, 0xff};
  bool fingerprintMismatch_ = false;
  uint64_t deadline_ = 0; // uv_now() + handshakeTimeoutMs_ at Start
  uint64_t handshakeTimeoutMs_ = kHandshakeTimeoutMs;
  std::vector<Fingerprint> remoteFingerprints_;
  std::string remoteCertPem_;
  std::string failureReason_;
  Counters counters_;

  friend struct DtlsGlue;
};

} // namespace sluice::transport
