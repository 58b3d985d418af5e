#include "sluice/transport/DtlsTransport.hpp"

#include <algorithm>
#include <cstring>
#include <string_view>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

namespace sluice::transport {

namespace {

// RFC 5764 §4.2.
constexpr char kExporterLabel[] = "EXTRACTOR-dtls_srtp";

// RFC 6347 §4.1: type(1) version(2) epoch(2) sequence_number(6) length(2).
constexpr size_t kRecordHeaderLen = 13;
constexpr uint8_t kContentAlert = 21;
// An AES-GCM record (RFC 5288 §3) carries an 8-byte explicit nonce and a
// 16-byte tag. OpenSSL 3.0 treats a shorter record in an encrypted epoch as
// an internal error and kills the session instead of discarding it (RFC
// 6347 §4.1.2.7), so one spoofed datagram could end a call: we drop those.
constexpr size_t kMinEncryptedRecord = 8 + 16;

// True if some record in an epoch other than 0 is too short to be AES-GCM.
bool HasShortEncryptedRecord(const uint8_t* data, size_t len) {
  for (size_t off = 0; off + kRecordHeaderLen <= len;) {
    const uint8_t* r = data + off;
    const size_t recordLen = size_t(r[11]) << 8 | r[12];
    if ((r[3] | r[4]) != 0 && recordLen < kMinEncryptedRecord)
      return true;
    off += kRecordHeaderLen + recordLen;
  }
  return false;
}

struct ProfileInfo {
  unsigned long id; // SRTP_PROTECTION_PROFILE::id (RFC 5764 §4.1.2, RFC 7714 §14.2)
  SrtpSuite suite;
  size_t keyLen;
  size_t saltLen;
};

constexpr ProfileInfo kProfiles[] = {
    {SRTP_AEAD_AES_256_GCM, SrtpSuite::AeadAes256Gcm, 32, 12},
    {SRTP_AEAD_AES_128_GCM, SrtpSuite::AeadAes128Gcm, 16, 12},
    {SRTP_AES128_CM_SHA1_80, SrtpSuite::AesCm128HmacSha1_80, 16, 14},
    {SRTP_AES128_CM_SHA1_32, SrtpSuite::AesCm128HmacSha1_32, 16, 14},
};
constexpr size_t kMaxKeySalt = 32 + 12;

// Retransmission back-off (RFC 6347 §4.2.4.1, with a shorter start than
// its 1 s because WebRTC peers are usually close).
unsigned int NextTimeoutUs(SSL* /*ssl*/, unsigned int previousUs) {
  if (previousUs == 0)
    return DtlsTransport::kInitialRetransmitMs * 1000;
  return std::min(previousUs * 2, DtlsTransport::kMaxRetransmitMs * 1000);
}

} // namespace

// ---- free functions ------------------------------------------------------

DtlsRole ResolveLocalDtlsRole(DtlsRole remote) {
  return remote == DtlsRole::Client ? DtlsRole::Server : DtlsRole::Client;
}

bool LooksLikeDtls(const uint8_t* data, size_t len) {
  return len >= kRecordHeaderLen && data[0] >= 20 && data[0] <= 63;
}

// ---- DtlsTransport: life cycle -------------------------------------------

DtlsTransport::DtlsTransport(uv_loop_t* loop, Listener& listener)
    : loop_(loop), listener_(listener) {}

std::unique_ptr<DtlsTransport> DtlsTransport::Create(uv_loop_t* loop, DtlsContext& context,
                                                     Listener& listener, std::string* error) {
  std::unique_ptr<DtlsTransport> t(new DtlsTransport(loop, listener));
  t->timer_ = new uv_timer_t;
  uv_timer_init(loop, t->timer_);
  t->timer_->data = t.get();

  t->ssl_ = SSL_new(context.Ctx());
  BIO* bio = t->ssl_ ? BIO_new(context.BioMethod()) : nullptr;
  if (!bio) {
    *error = OpenSslError("creating the DTLS session failed");
    return nullptr;
  }
  BIO_set_data(bio, t.get());
  SSL_set_bio(t->ssl_, bio, bio); // one reference for both directions
  SSL_set_app_data(t->ssl_, t.get());
  DTLS_set_timer_cb(t->ssl_, &NextTimeoutUs);
  // Returns the MTU set, 0 if below OpenSSL's minimum.
  if (SSL_set_mtu(t->ssl_, kMtu) <= 0) {
    *error = OpenSslError("setting the DTLS MTU failed");
    return nullptr;
  }
  return t;
}

DtlsTransport::~DtlsTransport() {
  muted_ = true;
  SSL_free(ssl_); // frees the BIO
  if (timer_) {
    uv_timer_stop(timer_);
    timer_->data = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(timer_),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
  }
}

bool DtlsTransport::Start(DtlsRole role, std::vector<DtlsFingerprint> remoteFingerprints,
                          std::string* error) {
  if (state_ != DtlsState::New) {
    *error = "DTLS already started";
    return false;
  }
  if (role != DtlsRole::Client && role != DtlsRole::Server) {
    *error = "DTLS role must be client or server";
    return false;
  }
  if (remoteFingerprints.empty()) {
    *error = "no remote DTLS fingerprint";
    return false;
  }
  std::vector<Fingerprint> parsed;
  parsed.reserve(remoteFingerprints.size());
  for (const auto& f : remoteFingerprints) {
    Fingerprint fp{};
    fp.md = FingerprintDigest(f.algorithm);
    if (!fp.md) {
      *error = "unsupported fingerprint algorithm \"" + f.algorithm + "\"";
      return false;
    }
    fp.len = static_cast<size_t>(EVP_MD_get_size(fp.md));
    if (!ParseFingerprintHex(f.value, fp.digest, fp.len)) {
      *error = "malformed " + f.algorithm + " fingerprint";
      return false;
    }
    parsed.push_back(fp);
  }
  remoteFingerprints_ = std::move(parsed);
  role_ = role;
  deadline_ = uv_now(loop_) + handshakeTimeoutMs_;
  if (role == DtlsRole::Client)
    SSL_set_connect_state(ssl_);
  else
    SSL_set_accept_state(ssl_);
  SetState(DtlsState::Connecting);
  if (state_ != DtlsState::Connecting) // closed from the callback
    return true;
  if (role == DtlsRole::Client)
    RunHandshake(); // sends the ClientHello
  else
    ArmTimer(); // the deadline only
  return true;
}

void DtlsTransport::Close() {
  if (state_ == DtlsState::Closed)
    return;
  // From inside OnDtlsSend (an OpenSSL call runs): no alert, just Closed;
  // the code after that call sees the state and stops.
  if (!inSsl_ && (state_ == DtlsState::Connecting || state_ == DtlsState::Connected)) {
    if (cipher_ || SSL_is_init_finished(ssl_))
      SendCloseNotify();
    else
      SendPlainCloseNotify();
  }
  SetState(DtlsState::Closed);
}

int DtlsTransport::NegotiatedVersion() const {
  return ssl_ ? SSL_version(ssl_) : version_;
}

// ---- input ---------------------------------------------------------------

void DtlsTransport::ProcessDatagram(const uint8_t* data, size_t len) {
  if ((state_ != DtlsState::Connecting && state_ != DtlsState::Connected) || len == 0 ||
      len > kMaxDatagram || inSsl_) {
    ++counters_.dropped;
    return;
  }
  if (HasShortEncryptedRecord(data, len)) {
    ++counters_.malformed;
    return;
  }
  ++counters_.datagramsIn;
  pending_ = data;
  pendingLen_ = len;
  if (state_ == DtlsState::Connecting)
    RunHandshake();
  else if (state_ == DtlsState::Connected)
    ProcessConnected(data, len);
  pending_ = nullptr;
  pendingLen_ = 0;
}

void DtlsTransport::ProcessConnected(const uint8_t* data, size_t len) {
  // RFC 5246 §7.2: close_notify is alert(21) warning(1) 0.
  constexpr uint8_t kContentHandshake = 22, kContentAppData = 23;
  bool replayed = false;
  for (size_t off = 0; off + kRecordHeaderLen <= len && state_ == DtlsState::Connected;) {
    const uint8_t* r = data + off;
    const size_t recordLen = std::min(kRecordHeaderLen + (size_t(r[11]) << 8 | r[12]), len - off);
    off += recordLen;
    if ((r[3] | r[4]) == 0)
      continue; // epoch 0: what is left of the handshake, or stale
    uint8_t type = 0;
    uint8_t plain[2];
    size_t plainLen = 0;
    if (!cipher_->Open(r, recordLen, &type, plain, sizeof(plain), &plainLen)) {
      ++counters_.malformed;
      continue;
    }
    if (type == kContentAppData) {
      ++counters_.appDataDropped; // SCTP is not implemented yet
    } else if (type == kContentAlert && plainLen == 2 && plain[0] == 2) {
      Fail("DTLS fatal alert " + std::to_string(plain[1]) + " from the peer");
    } else if (type == kContentAlert && plainLen == 2 && plain[1] == 0) {
      SendCloseNotify(); // answer with ours (RFC 5246 §7.2.1)
      SetState(DtlsState::Closed);
    } else if (type == kContentHandshake && !replayed) {
      // The client's Finished again: it resends its last flight because
      // ours was lost (RFC 6347 §4.2.4). Authenticated, so not spoofable.
      replayed = true;
      ReplayFinalFlight();
    }
  }
}

void DtlsTransport::ReplayFinalFlight() {
  if (finalFlight_.empty() || finalFlightReplays_ >= kMaxFinalFlightReplays)
    return;
  ++finalFlightReplays_;
  ++counters_.finalFlightReplays;
  inSsl_ = true; // Close() from OnDtlsSend must not send in between
  for (size_t off = 0; off + 2 <= finalFlight_.size() && state_ == DtlsState::Connected;) {
    const size_t n = size_t(finalFlight_[off]) << 8 | finalFlight_[off + 1];
    BioWrite(finalFlight_.data() + off + 2, n);
    off += 2 + n;
  }
  inSsl_ = false;
}

bool DtlsTransport::ReleaseSession() {
  version_ = SSL_version(ssl_);
  cipher_ = DtlsRecordCipher::FromSession(ssl_, role_ == DtlsRole::Client, lastEpoch1Seq_ + 1);
  if (!cipher_) {
    Fail("deriving the DTLS record keys failed");
    return false;
  }
  muted_ = true; // SSL_free writes nothing, but be sure
  SSL_free(ssl_);
  ssl_ = nullptr;
  muted_ = false;
  if (role_ == DtlsRole::Client) // a server never resends its final flight
    std::vector<uint8_t>().swap(finalFlight_);
  return true;
}

int DtlsTransport::BioRead(char* out, int outLen) {
  if (!pending_)
    return -1; // retry: wait for the next datagram
  const uint8_t* data = pending_;
  const size_t len = pendingLen_;
  pending_ = nullptr;
  pendingLen_ = 0;
  if (outLen < 0 || len > static_cast<size_t>(outLen)) {
    ++counters_.dropped; // does not fit OpenSSL's record buffer: datagram semantics drop it
    return -1;
  }
  std::memcpy(out, data, len);
  return static_cast<int>(len);
}

void DtlsTransport::RunHandshake() {
  ERR_clear_error();
  finalFlight_.clear();
  capturing_ = true;
  inSsl_ = true;
  const int ret = SSL_do_handshake(ssl_);
  const int err = ret == 1 ? SSL_ERROR_NONE : SSL_get_error(ssl_, ret);
  inSsl_ = false;
  capturing_ = false;
  if (state_ != DtlsState::Connecting) { // closed from OnDtlsSend
    ERR_clear_error();
    return;
  }
  switch (err) {
  case SSL_ERROR_NONE:
    OnHandshakeDone();
    return;
  case SSL_ERROR_WANT_READ:
  case SSL_ERROR_WANT_WRITE:
    ERR_clear_error();
    ArmTimer();
    return;
  case SSL_ERROR_ZERO_RETURN: // the peer's close_notify mid-handshake
    ERR_clear_error();
    SetState(DtlsState::Closed);
    return;
  default:
    Fail(fingerprintMismatch_ ? std::string("remote certificate fingerprint mismatch")
                              : OpenSslError("DTLS handshake failed"));
  }
}

void DtlsTransport::OnHandshakeDone() {
  X509* peer = SSL_get0_peer_certificate(ssl_);
  if (!peer || !PeerCertificateMatches(peer)) {
    // Already checked in the verify callback; this is the last line. All
    // the API lets us send now is close_notify.
    SendCloseNotify();
    Fail(peer ? "remote certificate fingerprint mismatch" : "no remote certificate");
    return;
  }
  const SRTP_PROTECTION_PROFILE* profile = SSL_get_selected_srtp_profile(ssl_);
  const ProfileInfo* info = nullptr;
  for (const auto& p : kProfiles) {
    if (profile && profile->id == p.id)
      info = &p;
  }
  if (!info) { // the peer did not offer use_srtp (RFC 5764 §4.1.1)
    SendCloseNotify();
    Fail("no SRTP profile negotiated");
    return;
  }
  if (BIO* mem = BIO_new(BIO_s_mem())) {
    if (PEM_write_bio_X509(mem, peer) == 1) {
      char* pem = nullptr;
      const long n = BIO_get_mem_data(mem, &pem);
      if (n > 0)
        remoteCertPem_.assign(pem, static_cast<size_t>(n));
    }
    BIO_free(mem);
  }
  if (!ExportSrtpKeys(info->suite, info->keyLen, info->saltLen) || state_ != DtlsState::Connecting)
    return;
  if (!ReleaseSession())
    return;
  SetState(DtlsState::Connected);
}

bool DtlsTransport::ExportSrtpKeys(SrtpSuite suite, size_t k, size_t s) {
  // RFC 5764 §4.2: client_write_SRTP_master_key, server_write_SRTP_master_key,
  // client_write_SRTP_master_salt, server_write_SRTP_master_salt.
  uint8_t material[2 * kMaxKeySalt];
  if (SSL_export_keying_material(ssl_, material, 2 * (k + s), kExporterLabel,
                                 sizeof(kExporterLabel) - 1, nullptr, 0, 0) != 1) {
    Fail(OpenSslError("exporting the DTLS-SRTP keys failed"));
    return false;
  }
  uint8_t client[kMaxKeySalt];
  uint8_t server[kMaxKeySalt];
  std::memcpy(client, material, k);
  std::memcpy(client + k, material + 2 * k, s);
  std::memcpy(server, material + k, k);
  std::memcpy(server + k, material + 2 * k + s, s);
  const bool weAreClient = role_ == DtlsRole::Client;
  listener_.OnDtlsSrtpKeys(suite, weAreClient ? client : server, weAreClient ? server : client,
                           k + s);
  OPENSSL_cleanse(material, sizeof(material));
  OPENSSL_cleanse(client, sizeof(client));
  OPENSSL_cleanse(server, sizeof(server));
  return true;
}

// ---- output --------------------------------------------------------------

void DtlsTransport::BioWrite(const uint8_t* data, size_t len) {
  // Remember the last plaintext record's sequence number and version so a
  // close_notify can follow it while the handshake runs.
  for (size_t off = 0; off + kRecordHeaderLen <= len;) {
    const uint8_t* r = data + off;
    uint64_t seq = 0;
    for (int i = 5; i < 11; ++i)
      seq = seq << 8 | r[i];
    if (r[3] == 0 && r[4] == 1)
      lastEpoch1Seq_ = seq;
    if (r[3] == 0 && r[4] == 0) {
      lastEpoch0Seq_ = seq;
      epoch0Version_[0] = r[1];
      epoch0Version_[1] = r[2];
      wroteEpoch0_ = true;
    }
    off += kRecordHeaderLen + (size_t(r[11]) << 8 | r[12]);
  }
  // Nothing after Close/Failed (e.g. the rest of a flight when the listener
  // closed us from OnDtlsSend), and nothing from the destructor.
  if (muted_ || state_ == DtlsState::Closed || state_ == DtlsState::Failed)
    return;
  if (capturing_ && len <= 0xffff) {
    finalFlight_.push_back(static_cast<uint8_t>(len >> 8));
    finalFlight_.push_back(static_cast<uint8_t>(len));
    finalFlight_.insert(finalFlight_.end(), data, data + len);
  }
  ++counters_.datagramsOut;
  listener_.OnDtlsSend(data, len);
}

void DtlsTransport::SendCloseNotify() {
  if (cipher_) {
    uint8_t record[DtlsRecordCipher::kAlertRecordLen];
    if (cipher_->SealAlert(1, 0, record)) {
      inSsl_ = true;
      BioWrite(record, sizeof(record));
      inSsl_ = false;
    }
    return;
  }
  ERR_clear_error();
  inSsl_ = true;
  SSL_shutdown(ssl_);
  inSsl_ = false;
  ERR_clear_error();
}

void DtlsTransport::SendPlainCloseNotify() {
  if (!wroteEpoch0_)
    return; // the peer has heard nothing from us
  // An epoch-0 record (RFC 6347 §4.1) right after our last one, holding a
  // warning close_notify (RFC 5246 §7.2: level 1, description 0). A peer
  // already reading epoch 1 ignores it.
  uint8_t record[kRecordHeaderLen + 2] = {kContentAlert, epoch0Version_[0], epoch0Version_[1]};
  const uint64_t seq = lastEpoch0Seq_ + 1;
  for (int i = 0; i < 6; ++i)
    record[5 + i] = static_cast<uint8_t>(seq >> (40 - 8 * i));
  record[12] = 2; // length
  record[13] = 1; // warning
  record[14] = 0; // close_notify
  BioWrite(record, sizeof(record));
}

// ---- fingerprints, timer, state ------------------------------------------

bool DtlsTransport::PeerCertificateMatches(X509* cert) {
  for (const auto& fp : remoteFingerprints_) {
    uint8_t digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (X509_digest(cert, fp.md, digest, &len) == 1 && len == fp.len &&
        std::memcmp(digest, fp.digest, len) == 0)
      return true;
  }
  fingerprintMismatch_ = true;
  return false;
}

void DtlsTransport::ArmTimer() {
  if (state_ != DtlsState::Connecting) {
    uv_timer_stop(timer_);
    return;
  }
  const uint64_t now = uv_now(loop_);
  uint64_t waitMs = deadline_ > now ? deadline_ - now : 0;
  timeval tv{};
  if (DTLSv1_get_timeout(ssl_, &tv) == 1) {
    const uint64_t retransmitMs =
        static_cast<uint64_t>(tv.tv_sec) * 1000 + (static_cast<uint64_t>(tv.tv_usec) + 999) / 1000;
    waitMs = std::min(waitMs, retransmitMs);
  }
  uv_timer_start(
      timer_, [](uv_timer_t* h) { static_cast<DtlsTransport*>(h->data)->OnTimer(); }, waitMs, 0);
}

void DtlsTransport::OnTimer() {
  if (state_ != DtlsState::Connecting)
    return;
  if (uv_now(loop_) >= deadline_) {
    Fail("DTLS handshake timed out");
    return;
  }
  ERR_clear_error();
  inSsl_ = true;
  const int ret = DTLSv1_handle_timeout(ssl_);
  inSsl_ = false;
  if (state_ != DtlsState::Connecting) { // closed from OnDtlsSend
    ERR_clear_error();
    return;
  }
  if (ret > 0) {
    ++counters_.handshakeRetransmissions;
  } else if (ret < 0) {
    Fail(OpenSslError("DTLS retransmission gave up"));
    return;
  }
  ArmTimer();
}

void DtlsTransport::Fail(std::string reason) {
  ERR_clear_error();
  if (state_ == DtlsState::Failed || state_ == DtlsState::Closed)
    return;
  failureReason_ = std::move(reason);
  SetState(DtlsState::Failed);
}

void DtlsTransport::SetState(DtlsState state) {
  state_ = state;
  if (state != DtlsState::Connecting)
    uv_timer_stop(timer_);
  listener_.OnDtlsStateChange(state);
}

} // namespace sluice::transport
