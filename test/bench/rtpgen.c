// rtpgen: load generator and receiver for scripts/bench.
//
// Sends one VP8-like RTP stream (RFC 3550 header, RFC 7741 payload descriptor
// with a 15-bit PictureID, a keyframe every --key-every frames and on PLI/FIR,
// marker on the last packet of a frame) at a set packet rate to one UDP
// address, in sendmmsg batches paced by a 1 ms timerfd. --streams K sends K
// such streams (simulcast encodings: SSRC --ssrc + i, each with its own
// sequence numbers, timestamps, PictureIDs and key frames; a PLI/FIR names the
// one that must send a key frame), one frame of each in turn, from the same
// socket; --rate is then the sum of the K. --temporal adds TL0PICIDX and TID
// (L and T, TIDs 0,2,1,2 as an L1T3 encoder sends them, Y set above TID 0). In the same epoll loop
// it receives on --recv M UDP sockets (one per consumer) with recvmmsg, counts
// media, RTX and RTCP per socket (media: the first SSRC seen, or with --sink-pt
// that payload type; RTX: any other SSRC, or --sink-rtx-pt), detects gaps by
// extended sequence number, and answers a --nack fraction of the media packets
// with a generic NACK (RFC 4585 section 6.2.1) sent from that socket back to
// where the media came from.
//
//   rtpgen [--recv M] [--dest IP:PORT] [--rate PPS] [--nack FRAC] [--size 1100]
//          [--ppf 5] [--key-every 30] [--ssrc N] [--pt 96] [--sink-pt PT --sink-rtx-pt PT]
//          [--seq 65000] [--ts 0xfff00000] [--ts-step 3000] [--streams 1] [--temporal 0]
//
// The stream starts at --seq / --ts (defaults: the seq wraps ~535 packets in,
// the timestamp ~350 frames in) and steps the timestamp by --ts-step per frame.
//
// First stdout line: {"ports":[...]} (the receive sockets, bound on 127.0.0.1).
// stdin takes one command per line: "dest IP PORT", "rate PPS", "nack FRAC",
// "stats" (prints one JSON line of cumulative counters; per receive socket
// [media, rtx, rtcp, lost by gap, nacks sent, duplicates, reordered, other]),
// "quit". Counters are printed as JSON on exit (stdin EOF, SIGINT, SIGTERM).
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
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

enum {
  kMaxRecv = 1024,
  kBatch = 64,
  kPktMax = 1500,
  kSendBatch = 256,
  kSeen = 4096,
  kMaxStreams = 8
};

struct Sink {
  int fd;
  uint16_t port;
  int haveFirst;
  uint32_t mediaSsrc;
  uint16_t lastSeq;
  int64_t firstExt, maxExt;
  uint64_t media, rtx, rtcp, nacks;
  uint64_t other;          // RTP of another payload type than --sink-pt / --sink-rtx-pt
  uint64_t dups;           // same media sequence number again (within the last kSeen)
  uint64_t reordered;      // older than the newest but not seen before
  uint64_t tooOld;         // older than the newest by kSeen or more: counted as a duplicate
  uint8_t seen[kSeen / 8]; // bit per extended sequence number mod kSeen
  double nackDebt;
  struct sockaddr_in peer;
};

static struct Sink sinks[kMaxRecv];
static int sinkCount;
static volatile sig_atomic_t stop;

// Generator state.
static struct sockaddr_in dest;
static int haveDest;
static double rate;
static double nackFraction;
static int pktSize = 1100, perFrame = 5, keyEvery = 30, payloadType = 96;
static uint32_t ssrc = 0x5eed0001;
static int sinkPt = -1, sinkRtxPt = -1; // what the sinks expect; -1: any
static uint16_t firstSeq = 65000;       // wraps early in every run
static uint32_t firstTs = 0xfff00000;
static uint32_t tsStep = 3000;
static int streamCount = 1, temporal;
static uint64_t sent, sendErrors, plis, rtcpIn;
// One encoding: SSRC ssrc + its index.
struct Stream {
  uint16_t seq;
  uint32_t ts;
  uint16_t pictureId;
  uint8_t tl0PicIdx;
  uint64_t frame, packetInFrame;
  int keyRequested; // 1: the next frame is a keyframe; 2: this frame is one
};
static struct Stream streams[kMaxStreams];
static int current; // the stream whose frame is being sent
static double due;  // packets owed to the schedule
static struct timespec lastTick;

static void OnSignal(int s) {
  (void)s;
  stop = 1;
}

static double Now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

static void PrintStats(void) {
  uint64_t media = 0, rtx = 0, rtcp = 0, lost = 0, nacks = 0;
  printf("{\"t\":%.6f,\"rate\":%.1f,\"sent\":%llu,\"sendErrors\":%llu,\"pliIn\":%llu,\"rtcpIn\":%"
         "llu,\"sinks\":[",
         Now(), rate, (unsigned long long)sent, (unsigned long long)sendErrors,
         (unsigned long long)plis, (unsigned long long)rtcpIn);
  for (int i = 0; i < sinkCount; i++) {
    struct Sink* s = &sinks[i];
    int64_t expected = s->haveFirst ? s->maxExt - s->firstExt + 1 : 0;
    int64_t gap = expected - (int64_t)(s->media - s->dups - s->tooOld);
    if (gap < 0)
      gap = 0;
    printf("%s[%llu,%llu,%llu,%lld,%llu,%llu,%llu,%llu]", i ? "," : "",
           (unsigned long long)s->media, (unsigned long long)s->rtx, (unsigned long long)s->rtcp,
           (long long)gap, (unsigned long long)s->nacks, (unsigned long long)(s->dups + s->tooOld),
           (unsigned long long)s->reordered, (unsigned long long)s->other);
    media += s->media;
    rtx += s->rtx;
    rtcp += s->rtcp;
    lost += (uint64_t)gap;
    nacks += s->nacks;
  }
  printf("],\"media\":%llu,\"rtx\":%llu,\"rtcp\":%llu,\"lost\":%llu,\"nacksSent\":%llu}\n",
         (unsigned long long)media, (unsigned long long)rtx, (unsigned long long)rtcp,
         (unsigned long long)lost, (unsigned long long)nacks);
  fflush(stdout);
}

// One packet of the current stream into buf; returns its length. After the
// last packet of a frame the next stream takes its turn.
static int BuildPacket(uint8_t* buf) {
  struct Stream* st = &streams[current];
  const uint32_t streamSsrc = ssrc + (uint32_t)current;
  const int first = st->packetInFrame == 0;
  const int last = st->packetInFrame + 1 == (uint64_t)perFrame;
  static const uint8_t kTids[4] = {0, 2, 1, 2};
  if (first && (st->keyRequested || st->frame % (uint64_t)keyEvery == 0)) {
    st->keyRequested = 2; // this frame is a keyframe
  }
  const int key = st->keyRequested == 2;
  const uint8_t tid = temporal && !key ? kTids[st->frame % 4] : 0; // a key frame is in TID 0
  if (first && temporal && tid == 0)
    st->tl0PicIdx++;
  buf[0] = 0x80;
  buf[1] = (uint8_t)((last ? 0x80 : 0) | payloadType);
  buf[2] = (uint8_t)(st->seq >> 8);
  buf[3] = (uint8_t)st->seq;
  buf[4] = (uint8_t)(st->ts >> 24);
  buf[5] = (uint8_t)(st->ts >> 16);
  buf[6] = (uint8_t)(st->ts >> 8);
  buf[7] = (uint8_t)st->ts;
  buf[8] = (uint8_t)(streamSsrc >> 24);
  buf[9] = (uint8_t)(streamSsrc >> 16);
  buf[10] = (uint8_t)(streamSsrc >> 8);
  buf[11] = (uint8_t)streamSsrc;
  // RFC 7741 4.2:  |X|R|N|S|R| PID |  then  |I|L|T|K| RSV |  then |M| PictureID (15)|
  // and with --temporal  |TL0PICIDX|  |TID|Y|KEYIDX|
  uint8_t* d = buf + 12;
  d[0] = (uint8_t)(0x80 | (first ? 0x10 : 0));
  d[1] = (uint8_t)(temporal ? 0xe0 : 0x80);
  d[2] = (uint8_t)(0x80 | ((st->pictureId >> 8) & 0x7f));
  d[3] = (uint8_t)st->pictureId;
  uint8_t* p = d + 4;
  if (temporal) {
    d[4] = st->tl0PicIdx;
    d[5] = (uint8_t)(tid << 6 | (tid > 0 ? 0x20 : 0));
    p = d + 6;
  }
  int len = pktSize > 32 ? pktSize : 32;
  memset(p, 0x5a, (size_t)(len - (p - buf)));
  if (first) {
    // RFC 6386 9.1 frame tag: P bit (bit 0) clear on a keyframe, then the start code.
    p[0] = key ? 0x10 : 0x11;
    p[1] = 0x02;
    p[2] = 0x00;
    if (key) {
      p[3] = 0x9d;
      p[4] = 0x01;
      p[5] = 0x2a;
      p[6] = 0x80; // 640x480
      p[7] = 0x02;
      p[8] = 0xe0;
      p[9] = 0x01;
    }
  }
  st->seq++;
  if (last) {
    st->packetInFrame = 0;
    st->frame++;
    st->ts += tsStep;
    st->pictureId = (uint16_t)((st->pictureId + 1) & 0x7fff);
    if (key)
      st->keyRequested = 0;
    current = (current + 1) % streamCount;
  } else {
    st->packetInFrame++;
  }
  return len;
}

static void Generate(int fd) {
  static uint8_t bufs[kSendBatch][kPktMax];
  static struct iovec iov[kSendBatch];
  static struct mmsghdr msgs[kSendBatch];
  struct timespec nowTs;
  clock_gettime(CLOCK_MONOTONIC, &nowTs);
  double dt = (nowTs.tv_sec - lastTick.tv_sec) + (nowTs.tv_nsec - lastTick.tv_nsec) / 1e9;
  lastTick = nowTs;
  if (!haveDest || rate <= 0)
    return;
  if (dt > 0.1)
    dt = 0.1; // after a stall, do not burst more than 100 ms of traffic
  due += rate * dt;
  while (due >= 1) {
    int n = due > kSendBatch ? kSendBatch : (int)due;
    for (int i = 0; i < n; i++) {
      iov[i].iov_base = bufs[i];
      iov[i].iov_len = (size_t)BuildPacket(bufs[i]);
      memset(&msgs[i].msg_hdr, 0, sizeof(msgs[i].msg_hdr));
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
      msgs[i].msg_hdr.msg_name = &dest;
      msgs[i].msg_hdr.msg_namelen = sizeof(dest);
    }
    int done = 0;
    while (done < n) {
      int r = sendmmsg(fd, msgs + done, (unsigned)(n - done), 0);
      if (r <= 0) {
        sendErrors += (uint64_t)(n - done);
        break;
      }
      done += r;
    }
    sent += (uint64_t)done;
    due -= n;
  }
}

static uint32_t Be32(const uint8_t* b) {
  return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static void RequestKey(uint32_t mediaSsrc) {
  const uint32_t i = mediaSsrc - ssrc;
  if (i < (uint32_t)streamCount && !streams[i].keyRequested)
    streams[i].keyRequested = 1;
}

// RTCP arriving at the generator's socket: look for PLI (PSFB FMT 1, RFC 4585
// 6.3.1: media source SSRC at offset 8) or FIR (FMT 4, RFC 5104 4.3.1: one
// FCI entry per SSRC from offset 12).
static void OnGeneratorRtcp(const uint8_t* b, int len) {
  rtcpIn++;
  while (len >= 4) {
    int words = (b[2] << 8 | b[3]) + 1;
    if (words * 4 > len)
      break;
    if (b[1] == 206 && (b[0] & 0x1f) == 1 && words >= 3) {
      plis++;
      RequestKey(Be32(b + 8));
    } else if (b[1] == 206 && (b[0] & 0x1f) == 4) {
      plis++;
      for (int off = 12; off + 8 <= words * 4; off += 8)
        RequestKey(Be32(b + off));
    }
    b += words * 4;
    len -= words * 4;
  }
}

static void DrainGenerator(int fd) {
  static uint8_t buf[kPktMax];
  for (;;) {
    ssize_t r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (r <= 0)
      return;
    if (r >= 8 && buf[1] >= 192 && buf[1] <= 223)
      OnGeneratorRtcp(buf, (int)r);
  }
}

// Generic NACK (RFC 4585 6.2.1) for one sequence number, preceded by an empty RR
// so the compound is valid (RFC 3550 6.1).
static int BuildNack(uint8_t* b, uint32_t sender, uint32_t media, uint16_t pid) {
  const uint8_t rr[8] = {0x80,
                         201,
                         0,
                         1,
                         (uint8_t)(sender >> 24),
                         (uint8_t)(sender >> 16),
                         (uint8_t)(sender >> 8),
                         (uint8_t)sender};
  memcpy(b, rr, 8);
  uint8_t* n = b + 8;
  n[0] = 0x81;
  n[1] = 205;
  n[2] = 0;
  n[3] = 3;
  memcpy(n + 4, rr + 4, 4);
  n[8] = (uint8_t)(media >> 24);
  n[9] = (uint8_t)(media >> 16);
  n[10] = (uint8_t)(media >> 8);
  n[11] = (uint8_t)media;
  n[12] = (uint8_t)(pid >> 8);
  n[13] = (uint8_t)pid;
  n[14] = 0;
  n[15] = 0;
  return 24;
}

static void SetSeen(struct Sink* s, int64_t ext) {
  s->seen[(ext % kSeen) / 8] |= (uint8_t)(1u << (ext % 8));
}
static void ClearSeen(struct Sink* s, int64_t ext) {
  s->seen[(ext % kSeen) / 8] &= (uint8_t) ~(1u << (ext % 8));
}
static int IsSeen(const struct Sink* s, int64_t ext) {
  return (s->seen[(ext % kSeen) / 8] >> (ext % 8)) & 1;
}

static void OnSinkPacket(struct Sink* s, int idx, const uint8_t* b, int len,
                         const struct sockaddr_in* from) {
  if (len < 12)
    return;
  if (b[1] >= 192 && b[1] <= 223) {
    s->rtcp++;
    return;
  }
  // With --sink-pt, RTP of any other payload type (e.g. mediasoup-worker's
  // bandwidth probation packets) is neither media nor RTX.
  if (sinkPt >= 0 && (b[1] & 0x7f) != sinkPt) {
    if ((b[1] & 0x7f) == sinkRtxPt)
      s->rtx++;
    else
      s->other++;
    return;
  }
  const uint32_t pktSsrc =
      (uint32_t)b[8] << 24 | (uint32_t)b[9] << 16 | (uint32_t)b[10] << 8 | b[11];
  const uint16_t pktSeq = (uint16_t)(b[2] << 8 | b[3]);
  if (!s->haveFirst) {
    s->haveFirst = 1;
    s->mediaSsrc = pktSsrc;
    s->firstExt = s->maxExt = 0x10000 + pktSeq;
    s->lastSeq = pktSeq;
    s->peer = *from;
    s->media++;
    SetSeen(s, s->maxExt);
    return;
  }
  if (pktSsrc != s->mediaSsrc) {
    s->rtx++;
    return;
  }
  s->media++;
  // Unwrap against the newest: a forward step below half the space is newer.
  const uint16_t fwd = (uint16_t)(pktSeq - s->lastSeq);
  if (fwd != 0 && fwd < 0x8000) {
    for (int64_t e = s->maxExt + 1; e < s->maxExt + fwd && e <= s->maxExt + kSeen; e++)
      ClearSeen(s, e); // the skipped numbers are not seen (yet)
    s->maxExt += fwd;
    s->lastSeq = pktSeq;
    SetSeen(s, s->maxExt);
  } else {
    const int64_t ext = s->maxExt - (uint16_t)(s->lastSeq - pktSeq);
    if (s->maxExt - ext >= kSeen || ext < s->firstExt) {
      s->tooOld++;
    } else if (IsSeen(s, ext)) {
      s->dups++;
    } else {
      s->reordered++; // fills a gap inside the counted range
      SetSeen(s, ext);
    }
  }
  s->nackDebt += nackFraction;
  if (s->nackDebt >= 1) {
    s->nackDebt -= 1;
    uint8_t nack[24];
    int n = BuildNack(nack, 0x0ac00000u + (uint32_t)idx, s->mediaSsrc, pktSeq);
    if (sendto(s->fd, nack, (size_t)n, MSG_DONTWAIT, (const struct sockaddr*)&s->peer,
               sizeof(s->peer)) == n)
      s->nacks++;
  }
}

static void DrainSink(int idx) {
  static uint8_t bufs[kBatch][kPktMax];
  static struct iovec iov[kBatch];
  static struct sockaddr_in from[kBatch];
  static struct mmsghdr msgs[kBatch];
  struct Sink* s = &sinks[idx];
  for (;;) {
    for (int i = 0; i < kBatch; i++) {
      iov[i].iov_base = bufs[i];
      iov[i].iov_len = kPktMax;
      memset(&msgs[i].msg_hdr, 0, sizeof(msgs[i].msg_hdr));
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
      msgs[i].msg_hdr.msg_name = &from[i];
      msgs[i].msg_hdr.msg_namelen = sizeof(from[i]);
    }
    int r = recvmmsg(s->fd, msgs, kBatch, MSG_DONTWAIT, NULL);
    if (r <= 0)
      return;
    for (int i = 0; i < r; i++)
      OnSinkPacket(s, idx, bufs[i], (int)msgs[i].msg_len, &from[i]);
    if (r < kBatch)
      return;
  }
}

static int ParseAddr(const char* s, struct sockaddr_in* a) {
  char host[64];
  const char* colon = strrchr(s, ':');
  if (!colon || colon - s >= (int)sizeof(host))
    return -1;
  memcpy(host, s, (size_t)(colon - s));
  host[colon - s] = 0;
  memset(a, 0, sizeof(*a));
  a->sin_family = AF_INET;
  a->sin_port = htons((uint16_t)atoi(colon + 1));
  return inet_pton(AF_INET, host, &a->sin_addr) == 1 ? 0 : -1;
}

static int BindUdp(uint16_t port, int rcvbuf) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return -1;
  if (rcvbuf > 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) != 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, (struct sockaddr*)&a, sizeof(a)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Returns 1 when the process should stop.
static int OnCommand(char* line, int genFd) {
  char ip[64];
  unsigned port;
  double v;
  (void)genFd;
  if (sscanf(line, "dest %63s %u", ip, &port) == 2) {
    char buf[96];
    snprintf(buf, sizeof(buf), "%s:%u", ip, port);
    haveDest = ParseAddr(buf, &dest) == 0;
  } else if (sscanf(line, "rate %lf", &v) == 1) {
    rate = v;
  } else if (sscanf(line, "nack %lf", &v) == 1) {
    nackFraction = v;
  } else if (strncmp(line, "stats", 5) == 0) {
    PrintStats();
  } else if (strncmp(line, "quit", 4) == 0) {
    return 1;
  }
  return 0;
}

int main(int argc, char** argv) {
  int recvCount = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const char* k = argv[i];
    const char* v = argv[i + 1];
    if (!strcmp(k, "--recv"))
      recvCount = atoi(v);
    else if (!strcmp(k, "--dest"))
      haveDest = ParseAddr(v, &dest) == 0;
    else if (!strcmp(k, "--rate"))
      rate = atof(v);
    else if (!strcmp(k, "--nack"))
      nackFraction = atof(v);
    else if (!strcmp(k, "--size"))
      pktSize = atoi(v);
    else if (!strcmp(k, "--ppf"))
      perFrame = atoi(v);
    else if (!strcmp(k, "--key-every"))
      keyEvery = atoi(v);
    else if (!strcmp(k, "--ssrc"))
      ssrc = (uint32_t)strtoul(v, NULL, 0);
    else if (!strcmp(k, "--pt"))
      payloadType = atoi(v);
    else if (!strcmp(k, "--sink-pt"))
      sinkPt = atoi(v);
    else if (!strcmp(k, "--sink-rtx-pt"))
      sinkRtxPt = atoi(v);
    else if (!strcmp(k, "--seq"))
      firstSeq = (uint16_t)strtoul(v, NULL, 0);
    else if (!strcmp(k, "--ts"))
      firstTs = (uint32_t)strtoul(v, NULL, 0);
    else if (!strcmp(k, "--streams"))
      streamCount = atoi(v);
    else if (!strcmp(k, "--temporal"))
      temporal = atoi(v) != 0;
    else if (!strcmp(k, "--ts-step"))
      tsStep = (uint32_t)strtoul(v, NULL, 0);
    else {
      fprintf(stderr, "rtpgen: unknown option %s\n", k);
      return 2;
    }
  }
  if (recvCount < 0 || recvCount > kMaxRecv || pktSize > kPktMax || perFrame < 1 || keyEvery < 1 ||
      streamCount < 1 || streamCount > kMaxStreams) {
    fprintf(stderr, "rtpgen: bad arguments\n");
    return 2;
  }
  for (int i = 0; i < streamCount; i++) {
    // Each encoding starts elsewhere in its number spaces, as separate encoders do.
    streams[i].seq = (uint16_t)(firstSeq + 7919u * (unsigned)i);
    streams[i].ts = firstTs + 104729u * (unsigned)i;
    streams[i].pictureId = (uint16_t)((1000u * (unsigned)i) & 0x7fff);
    streams[i].keyRequested = 1;
  }
  signal(SIGINT, OnSignal);
  signal(SIGTERM, OnSignal);
  signal(SIGPIPE, SIG_IGN);

  int ep = epoll_create1(0);
  int genFd = BindUdp(0, 0);
  int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
  struct itimerspec its = {.it_interval = {0, 1000000}, .it_value = {0, 1000000}};
  timerfd_settime(tfd, 0, &its, NULL);
  clock_gettime(CLOCK_MONOTONIC, &lastTick);
  struct epoll_event ev = {.events = EPOLLIN};
  ev.data.u32 = 0xffffff00u;
  epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev);
  ev.data.u32 = 0xffffff01u;
  epoll_ctl(ep, EPOLL_CTL_ADD, genFd, &ev);
  ev.data.u32 = 0xffffff02u;
  epoll_ctl(ep, EPOLL_CTL_ADD, 0, &ev);

  printf("{\"ports\":[");
  for (int i = 0; i < recvCount; i++) {
    struct Sink* s = &sinks[i];
    s->fd = BindUdp(0, 4 << 20);
    if (s->fd < 0) {
      perror("rtpgen: bind");
      return 1;
    }
    struct sockaddr_in a;
    socklen_t al = sizeof(a);
    getsockname(s->fd, (struct sockaddr*)&a, &al);
    s->port = ntohs(a.sin_port);
    ev.data.u32 = (uint32_t)i;
    epoll_ctl(ep, EPOLL_CTL_ADD, s->fd, &ev);
    printf("%s%u", i ? "," : "", s->port);
  }
  sinkCount = recvCount;
  printf("]}\n");
  fflush(stdout);

  char line[256];
  size_t lineLen = 0;
  struct epoll_event events[64];
  while (!stop) {
    int n = epoll_wait(ep, events, 64, 100);
    if (n < 0 && errno != EINTR)
      break;
    for (int i = 0; i < n && !stop; i++) {
      uint32_t id = events[i].data.u32;
      if (id == 0xffffff00u) {
        uint64_t expirations;
        (void)!read(tfd, &expirations, sizeof(expirations));
        Generate(genFd);
      } else if (id == 0xffffff01u) {
        DrainGenerator(genFd);
      } else if (id == 0xffffff02u) {
        char c[256];
        ssize_t r = read(0, c, sizeof(c));
        if (r <= 0) {
          epoll_ctl(ep, EPOLL_CTL_DEL, 0, NULL);
          struct stat st;
          if (fstat(0, &st) == 0 && S_ISFIFO(st.st_mode))
            stop = 1; // the controlling pipe closed: the controller is gone
          continue;
        }
        for (ssize_t j = 0; j < r; j++) {
          if (c[j] == '\n' || lineLen + 1 >= sizeof(line)) {
            line[lineLen] = 0;
            lineLen = 0;
            if (OnCommand(line, genFd))
              stop = 1;
          } else {
            line[lineLen++] = c[j];
          }
        }
      } else {
        DrainSink((int)id);
      }
    }
  }
  PrintStats();
  return 0;
}
