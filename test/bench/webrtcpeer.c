// webrtcpeer: N WebRTC receivers in one process for scripts/bench --webrtc.
//
// Each peer is a full ICE + DTLS-SRTP client of one WebRtcTransport (the
// worker is ICE-lite and, connected with role 'client' from our side, the
// DTLS server): a UDP socket connected to the transport's candidate, a STUN
// Binding request (RFC 5389 §6, §15: USERNAME remoteUfrag:localUfrag,
// PRIORITY, ICE-CONTROLLING, USE-CANDIDATE, MESSAGE-INTEGRITY with the
// transport's ICE password, FINGERPRINT; RFC 8445 §7.1.2) resent every
// 200 ms until answered, then an OpenSSL DTLS 1.2 client handshake offering
// one SRTP profile (--suite gcm: SRTP_AEAD_AES_128_GCM, cm:
// SRTP_AES128_CM_SHA1_80) with an ECDSA P-256 certificate generated at
// start. Connected, it decrypts SRTP with libsrtp2 and counts media like
// rtpgen's receivers (media by --sink-pt, RTX by --sink-rtx-pt, gaps by
// extended sequence number), answers a --nack fraction of media packets with
// a generic NACK (RFC 4585 §6.2.1), sends a receiver report (RFC 3550
// §6.4.2, with LSR/DLSR from the worker's sender reports so it measures RTT)
// every second and a consent Binding request (RFC 7675) every 5 s, all over
// SRTCP.
//
//   webrtcpeer [--suite gcm|cm] [--nack FRAC] [--sink-pt PT] [--sink-rtx-pt PT]
//
// First stdout line: {"fingerprint":"sha-256 AB:..."}. stdin, one command a
// line, one JSON line answered per command:
//   "add IP PORT UFRAG PWD" -> {"added":i}   (a new peer towards IP:PORT)
//   "nack FRAC" -> {}
//   "stats" -> {"connected":c,"failed":f,"srtpErrors":e,"consentOk":k,"sinks":[[media, rtx,
//              rtcp, lost by gap, nacks sent, duplicates, reordered, other], ...]}
//   "quit"
// Bounds: at most kMaxPeers peers; a peer's handshake state is freed once
// its keys are exported.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <srtp2/srtp.h>

enum { kMaxPeers = 1024, kBatch = 32, kPktMax = 1500, kSeen = 4096 };
enum { kIce, kDtls, kConnected, kFailed };

struct Peer {
  int fd;
  int state;
  char username[160];
  char password[128];
  uint8_t txid[12];
  double nextStun, nextRr, nextConsent, nextTimer;
  SSL* ssl;
  BIO* rbio;
  srtp_t rx, tx;
  uint32_t ssrc; // ours, for RTCP
  // Sink counters (rtpgen's layout).
  int haveFirst;
  uint32_t mediaSsrc;
  int64_t firstExt, maxExt;
  uint64_t media, rtx, rtcp, nacks, dups, reordered, other;
  uint8_t seen[kSeen / 8];
  double nackDebt;
  uint32_t lsr; // middle 32 bits of the last SR's NTP time
  double lsrAt;
  uint64_t consentOk;
};

static struct Peer peers[kMaxPeers];
static int peerCount;
static SSL_CTX* ctx;
static int epfd;
static int suiteGcm = 1;
static double nackFraction;
static int sinkPt = -1, sinkRtxPt = -1;
static uint64_t srtpErrors;
static uint32_t crcTable[256];
static volatile sig_atomic_t stop;

static double Now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

static void Put16(uint8_t* p, uint32_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}
static void Put32(uint8_t* p, uint32_t v) {
  Put16(p, v >> 16);
  Put16(p + 2, v);
}
static uint32_t Get32(const uint8_t* p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

// ---- STUN (RFC 5389) ------------------------------------------------------

static uint32_t Crc32(const uint8_t* p, size_t n) {
  uint32_t c = 0xffffffffu;
  for (size_t i = 0; i < n; i++)
    c = crcTable[(c ^ p[i]) & 0xff] ^ (c >> 8);
  return c ^ 0xffffffffu;
}

static size_t AddAttr(uint8_t* m, size_t at, uint16_t type, const void* v, size_t len) {
  Put16(m + at, type);
  Put16(m + at + 2, (uint32_t)len);
  memcpy(m + at + 4, v, len);
  size_t padded = (len + 3) & ~(size_t)3;
  memset(m + at + 4 + len, 0, padded - len);
  return at + 4 + padded;
}

// A Binding request with ICE attributes; returns its length.
static size_t BuildBinding(struct Peer* p, uint8_t* m, int nominate) {
  RAND_bytes(p->txid, sizeof(p->txid));
  Put16(m, 0x0001);
  Put32(m + 4, 0x2112A442);
  memcpy(m + 8, p->txid, 12);
  size_t at = 20;
  at = AddAttr(m, at, 0x0006, p->username, strlen(p->username)); // USERNAME
  uint8_t prio[4];
  Put32(prio, 0x6e7fffff); // host candidate type preference (RFC 8445 §5.1.2.1)
  at = AddAttr(m, at, 0x0024, prio, 4);
  uint8_t tie[8];
  RAND_bytes(tie, sizeof(tie));
  at = AddAttr(m, at, 0x802A, tie, 8); // ICE-CONTROLLING
  if (nominate)
    at = AddAttr(m, at, 0x0025, "", 0); // USE-CANDIDATE
  // MESSAGE-INTEGRITY: the length field counts up to and including it.
  Put16(m + 2, (uint32_t)(at - 20 + 24));
  unsigned int macLen = 0;
  uint8_t mac[20];
  HMAC(EVP_sha1(), p->password, (int)strlen(p->password), m, at, mac, &macLen);
  at = AddAttr(m, at, 0x0008, mac, 20);
  // FINGERPRINT: CRC-32 of everything before it, XOR 0x5354554e.
  Put16(m + 2, (uint32_t)(at - 20 + 8));
  uint8_t crc[4];
  Put32(crc, Crc32(m, at) ^ 0x5354554eu);
  return AddAttr(m, at, 0x8028, crc, 4);
}

static void SendBinding(struct Peer* p) {
  uint8_t m[512];
  size_t n = BuildBinding(p, m, 1);
  send(p->fd, m, n, 0);
}

// ---- DTLS ------------------------------------------------------------------

static void Fail(struct Peer* p, const char* why) {
  char buf[256];
  ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
  fprintf(stderr, "webrtcpeer: peer %d: %s: %s\n", (int)(p - peers), why, buf);
  ERR_clear_error();
  p->state = kFailed;
}

static int MakeSrtp(srtp_t* s, const uint8_t* key, int inbound) {
  srtp_policy_t pol;
  memset(&pol, 0, sizeof(pol));
  if (suiteGcm) {
    srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol.rtp);
    srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol.rtcp);
  } else {
    srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&pol.rtp);
    srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&pol.rtcp);
  }
  pol.ssrc.type = inbound ? ssrc_any_inbound : ssrc_any_outbound;
  pol.key = (unsigned char*)key;
  pol.window_size = 1024;
  return srtp_create(s, &pol) == srtp_err_status_ok;
}

static void OnConnected(struct Peer* p) {
  // RFC 5764 §4.2: client key, server key, client salt, server salt.
  const size_t k = 16, s = suiteGcm ? 12 : 14;
  uint8_t m[2 * (16 + 14)], client[30], server[30];
  if (SSL_export_keying_material(p->ssl, m, 2 * (k + s), "EXTRACTOR-dtls_srtp", 19, NULL, 0, 0) !=
      1) {
    Fail(p, "export");
    return;
  }
  memcpy(client, m, k);
  memcpy(client + k, m + 2 * k, s);
  memcpy(server, m + k, k);
  memcpy(server + k, m + 2 * k + s, s);
  if (!MakeSrtp(&p->tx, client, 0) || !MakeSrtp(&p->rx, server, 1)) {
    Fail(p, "srtp_create");
    return;
  }
  // Nothing but keys is needed from the handshake (no SCTP).
  SSL_free(p->ssl);
  p->ssl = NULL;
  p->state = kConnected;
  p->nextRr = Now() + 1;
  p->nextConsent = Now() + 5;
}

static void Handshake(struct Peer* p) {
  ERR_clear_error();
  int r = SSL_do_handshake(p->ssl);
  if (r == 1) {
    OnConnected(p);
    return;
  }
  int e = SSL_get_error(p->ssl, r);
  if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
    Fail(p, "DTLS handshake");
}

static void StartDtls(struct Peer* p) {
  p->ssl = SSL_new(ctx);
  p->rbio = BIO_new(BIO_s_mem());
  BIO_set_mem_eof_return(p->rbio, -1);
  BIO* w = BIO_new_dgram(p->fd, BIO_NOCLOSE);
  struct sockaddr_storage peer;
  socklen_t len = sizeof(peer);
  getpeername(p->fd, (struct sockaddr*)&peer, &len);
  BIO_ctrl(w, BIO_CTRL_DGRAM_SET_CONNECTED, 0, &peer);
  SSL_set_bio(p->ssl, p->rbio, w);
  SSL_set_mtu(p->ssl, 1200);
  SSL_set_connect_state(p->ssl);
  p->state = kDtls;
  Handshake(p);
}

// ---- RTP / RTCP ---------------------------------------------------------------

static void SendRtcp(struct Peer* p, uint8_t* b, int len) {
  if (srtp_protect_rtcp(p->tx, b, &len) != srtp_err_status_ok) {
    srtpErrors++;
    return;
  }
  send(p->fd, b, (size_t)len, 0);
}

static void SendNack(struct Peer* p, uint16_t seq) {
  uint8_t b[12 + 4 + SRTP_MAX_TRAILER_LEN];
  b[0] = 0x81; // V=2, FMT=1
  b[1] = 205;
  Put16(b + 2, 3);
  Put32(b + 4, p->ssrc);
  Put32(b + 8, p->mediaSsrc);
  Put16(b + 12, seq);
  Put16(b + 14, 0);
  SendRtcp(p, b, 16);
  p->nacks++;
}

static void SendRr(struct Peer* p, double now) {
  uint8_t b[32 + SRTP_MAX_TRAILER_LEN];
  b[0] = 0x81; // V=2, RC=1
  b[1] = 201;
  Put16(b + 2, 7);
  Put32(b + 4, p->ssrc);
  Put32(b + 8, p->mediaSsrc);
  int64_t expected = p->haveFirst ? p->maxExt - p->firstExt + 1 : 0;
  int64_t lost = expected - (int64_t)(p->media - p->dups);
  if (lost < 0)
    lost = 0;
  Put32(b + 12, (uint32_t)(lost & 0xffffff)); // fraction 0: this is a bench, not a sender
  Put32(b + 16, (uint32_t)p->maxExt);
  Put32(b + 20, 0); // jitter
  Put32(b + 24, p->lsr);
  Put32(b + 28, p->lsr ? (uint32_t)((now - p->lsrAt) * 65536) : 0);
  SendRtcp(p, b, 32);
}

static void OnRtcp(struct Peer* p, uint8_t* b, int len) {
  if (srtp_unprotect_rtcp(p->rx, b, &len) != srtp_err_status_ok) {
    srtpErrors++;
    return;
  }
  p->rtcp++;
  for (int off = 0; off + 4 <= len;) {
    int words = (b[off + 2] << 8 | b[off + 3]) + 1;
    if (b[off + 1] == 200 && off + 20 <= len) { // SR: NTP seconds at 8, fraction at 12
      p->lsr = Get32(b + off + 8) << 16 | Get32(b + off + 12) >> 16;
      p->lsrAt = Now();
    }
    off += 4 * words;
  }
}

static void OnRtp(struct Peer* p, uint8_t* b, int len) {
  if (srtp_unprotect(p->rx, b, &len) != srtp_err_status_ok) {
    srtpErrors++;
    return;
  }
  int pt = b[1] & 0x7f;
  uint16_t seq = (uint16_t)(b[2] << 8 | b[3]);
  if (pt == sinkRtxPt) {
    p->rtx++;
    return;
  }
  if (sinkPt >= 0 && pt != sinkPt) {
    p->other++;
    return;
  }
  p->media++;
  int64_t ext;
  if (!p->haveFirst) {
    p->haveFirst = 1;
    p->mediaSsrc = Get32(b + 8);
    ext = p->firstExt = p->maxExt = 65536 + seq;
  } else {
    int16_t d = (int16_t)(seq - (uint16_t)p->maxExt);
    ext = p->maxExt + d;
  }
  uint8_t bit = (uint8_t)(1u << (ext % 8));
  uint8_t* slot = &p->seen[(ext % kSeen) / 8];
  if (ext > p->maxExt) {
    for (int64_t e = p->maxExt + 1; e < ext && e - p->maxExt < kSeen; e++)
      p->seen[(e % kSeen) / 8] &= (uint8_t) ~(1u << (e % 8));
    p->maxExt = ext;
  } else if (ext < p->maxExt) {
    if (p->maxExt - ext >= kSeen || (*slot & bit)) {
      p->dups++;
      return;
    }
    p->reordered++;
  } else if (p->media > 1) {
    p->dups++;
    return;
  }
  *slot |= bit;
  p->nackDebt += nackFraction;
  if (p->nackDebt >= 1) {
    p->nackDebt -= 1;
    SendNack(p, seq);
  }
}

static void OnDatagram(struct Peer* p, uint8_t* b, int len) {
  if (len < 1)
    return;
  if (b[0] < 4) { // STUN: a success response to our last request
    if (len >= 20 && b[0] == 0x01 && b[1] == 0x01 && !memcmp(b + 8, p->txid, 12)) {
      if (p->state == kIce)
        StartDtls(p);
      else
        p->consentOk++;
    }
  } else if (b[0] >= 20 && b[0] <= 63) {
    if (p->state == kDtls) {
      BIO_write(p->rbio, b, len);
      Handshake(p);
    }
  } else if (b[0] >= 128 && b[0] <= 191 && p->state == kConnected && len >= 12) {
    if (b[1] >= 192 && b[1] <= 223)
      OnRtcp(p, b, len);
    else
      OnRtp(p, b, len);
  }
}

static void Drain(struct Peer* p) {
  static uint8_t bufs[kBatch][kPktMax];
  struct mmsghdr msgs[kBatch];
  struct iovec iov[kBatch];
  for (;;) {
    for (int i = 0; i < kBatch; i++) {
      iov[i].iov_base = bufs[i];
      iov[i].iov_len = kPktMax;
      memset(&msgs[i].msg_hdr, 0, sizeof(msgs[i].msg_hdr));
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    int n = recvmmsg(p->fd, msgs, kBatch, MSG_DONTWAIT, NULL);
    if (n <= 0)
      return;
    for (int i = 0; i < n; i++)
      OnDatagram(p, bufs[i], (int)msgs[i].msg_len);
    if (n < kBatch)
      return;
  }
}

static void Tick(double now) {
  for (int i = 0; i < peerCount; i++) {
    struct Peer* p = &peers[i];
    if (p->state == kIce && now >= p->nextStun) {
      SendBinding(p);
      p->nextStun = now + 0.2;
    } else if (p->state == kDtls && now >= p->nextTimer) {
      p->nextTimer = now + 0.05;
      if (DTLSv1_handle_timeout(p->ssl) < 0)
        Fail(p, "DTLS retransmission");
    } else if (p->state == kConnected) {
      if (now >= p->nextRr) {
        p->nextRr = now + 1;
        if (p->haveFirst)
          SendRr(p, now);
      }
      if (now >= p->nextConsent) {
        p->nextConsent = now + 5;
        SendBinding(p);
      }
    }
  }
}

// ---- setup and commands ---------------------------------------------------------

static int VerifyAny(int ok, X509_STORE_CTX* store) {
  (void)ok;
  (void)store;
  return 1; // the bench trusts the worker it started
}

static void MakeContext(char* fingerprint, size_t cap) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), (long)(Now() * 1000) & 0x7fffffff);
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 86400);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char*)"webrtcpeer", -1, -1,
                             0);
  X509_set_issuer_name(cert, name);
  X509_set_pubkey(cert, key);
  X509_sign(cert, key, EVP_sha256());
  uint8_t md[32];
  unsigned int mdLen = 0;
  X509_digest(cert, EVP_sha256(), md, &mdLen);
  size_t at = (size_t)snprintf(fingerprint, cap, "sha-256 ");
  for (unsigned int i = 0; i < mdLen && at + 4 < cap; i++)
    at += (size_t)snprintf(fingerprint + at, cap - at, "%s%02X", i ? ":" : "", md[i]);

  ctx = SSL_CTX_new(DTLS_client_method());
  SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION);
  SSL_CTX_set_max_proto_version(ctx, DTLS1_2_VERSION);
  SSL_CTX_use_certificate(ctx, cert);
  SSL_CTX_use_PrivateKey(ctx, key);
  SSL_CTX_set_cipher_list(ctx, "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE+AESGCM");
  SSL_CTX_set_tlsext_use_srtp(ctx, suiteGcm ? "SRTP_AEAD_AES_128_GCM" : "SRTP_AES128_CM_SHA1_80");
  SSL_CTX_set_options(ctx, SSL_OP_NO_QUERY_MTU | SSL_OP_NO_TICKET);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, VerifyAny);
  X509_free(cert);
  EVP_PKEY_free(key);
}

static int AddPeer(const char* ip, int port, const char* ufrag, const char* pwd) {
  if (peerCount >= kMaxPeers)
    return -1;
  struct Peer* p = &peers[peerCount];
  memset(p, 0, sizeof(*p));
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  if (inet_pton(AF_INET, ip, &a.sin_addr) != 1)
    return -1;
  p->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  int rcvbuf = 1 << 20;
  setsockopt(p->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
  struct sockaddr_in local = {.sin_family = AF_INET};
  local.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(p->fd, (struct sockaddr*)&local, sizeof(local)) != 0 ||
      connect(p->fd, (struct sockaddr*)&a, sizeof(a)) != 0) {
    close(p->fd);
    return -1;
  }
  snprintf(p->username, sizeof(p->username), "%s:peer%d", ufrag, peerCount);
  snprintf(p->password, sizeof(p->password), "%s", pwd);
  RAND_bytes((uint8_t*)&p->ssrc, sizeof(p->ssrc));
  struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)peerCount};
  epoll_ctl(epfd, EPOLL_CTL_ADD, p->fd, &ev);
  p->state = kIce;
  p->nextStun = 0;
  return peerCount++;
}

static void PrintStats(void) {
  int connected = 0, failed = 0;
  uint64_t consent = 0;
  for (int i = 0; i < peerCount; i++) {
    connected += peers[i].state == kConnected;
    failed += peers[i].state == kFailed;
    consent += peers[i].consentOk;
  }
  printf("{\"t\":%.6f,\"connected\":%d,\"failed\":%d,\"srtpErrors\":%llu,\"consentOk\":%llu,"
         "\"sinks\":[",
         Now(), connected, failed, (unsigned long long)srtpErrors, (unsigned long long)consent);
  for (int i = 0; i < peerCount; i++) {
    struct Peer* p = &peers[i];
    int64_t expected = p->haveFirst ? p->maxExt - p->firstExt + 1 : 0;
    int64_t gap = expected - (int64_t)(p->media - p->dups);
    printf("%s[%llu,%llu,%llu,%lld,%llu,%llu,%llu,%llu]", i ? "," : "",
           (unsigned long long)p->media, (unsigned long long)p->rtx, (unsigned long long)p->rtcp,
           (long long)(gap > 0 ? gap : 0), (unsigned long long)p->nacks,
           (unsigned long long)p->dups, (unsigned long long)p->reordered,
           (unsigned long long)p->other);
  }
  printf("]}\n");
  fflush(stdout);
}

// One stdin line; returns 0 on quit.
static int OnCommand(char* line) {
  char ip[64], ufrag[128], pwd[128];
  int port;
  if (sscanf(line, "add %63s %d %127s %127s", ip, &port, ufrag, pwd) == 4) {
    printf("{\"added\":%d}\n", AddPeer(ip, port, ufrag, pwd));
    fflush(stdout);
  } else if (!strncmp(line, "nack ", 5)) {
    nackFraction = atof(line + 5);
    printf("{}\n");
    fflush(stdout);
  } else if (!strncmp(line, "stats", 5)) {
    PrintStats();
  } else if (!strncmp(line, "quit", 4)) {
    return 0;
  }
  return 1;
}

static void OnSignal(int s) {
  (void)s;
  stop = 1;
}

int main(int argc, char** argv) {
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--suite"))
      suiteGcm = strcmp(argv[i + 1], "cm") != 0;
    else if (!strcmp(argv[i], "--nack"))
      nackFraction = atof(argv[i + 1]);
    else if (!strcmp(argv[i], "--sink-pt"))
      sinkPt = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--sink-rtx-pt"))
      sinkRtxPt = atoi(argv[i + 1]);
  }
  signal(SIGINT, OnSignal);
  signal(SIGTERM, OnSignal);
  signal(SIGPIPE, SIG_IGN);
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++)
      c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
    crcTable[i] = c;
  }
  if (srtp_init() != srtp_err_status_ok)
    return 1;
  char fingerprint[160];
  MakeContext(fingerprint, sizeof(fingerprint));
  printf("{\"fingerprint\":\"%s\"}\n", fingerprint);
  fflush(stdout);

  epfd = epoll_create1(0);
  struct epoll_event in = {.events = EPOLLIN, .data.u32 = UINT32_MAX};
  epoll_ctl(epfd, EPOLL_CTL_ADD, STDIN_FILENO, &in);
  char line[1024];
  size_t lineLen = 0;
  while (!stop) {
    struct epoll_event evs[64];
    int n = epoll_wait(epfd, evs, 64, 10);
    for (int i = 0; i < n; i++) {
      if (evs[i].data.u32 != UINT32_MAX) {
        Drain(&peers[evs[i].data.u32]);
        continue;
      }
      ssize_t r = read(STDIN_FILENO, line + lineLen, sizeof(line) - 1 - lineLen);
      if (r <= 0) {
        stop = 1;
        break;
      }
      lineLen += (size_t)r;
      char* nl;
      while ((nl = memchr(line, '\n', lineLen))) {
        *nl = 0;
        if (!OnCommand(line))
          stop = 1;
        size_t used = (size_t)(nl - line) + 1;
        memmove(line, nl + 1, lineLen - used);
        lineLen -= used;
      }
      if (lineLen == sizeof(line) - 1)
        lineLen = 0; // an overlong line: dropped
    }
    Tick(Now());
  }
  return 0;
}
