// bareforward: the reference forwarder scripts/bench measures the worker against.
// recvmmsg on one socket; per input RTP packet, each consumer's 12-byte header
// is rewritten (SSRC, sequence offset, payload type) into its own scratch slot
// and the payload is shared, then ONE sendmmsg sends to every consumer. Nothing
// is stored, nothing is retransmitted; RTCP input is dropped.
//
//   bareforward [--port P] [--pt 100] DEST_IP:PORT ...      (prints {"port":P})
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

enum { kMaxOut = 1024, kBatch = 32, kPktMax = 1500 };

int main(int argc, char** argv) {
  static struct sockaddr_in out[kMaxOut];
  static uint8_t hdr[kMaxOut][12], in[kBatch][kPktMax];
  static struct iovec outIov[kMaxOut][2], inIov[kBatch];
  static struct mmsghdr outMsg[kMaxOut], inMsg[kBatch];
  int port = 0, pt = 100, n = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--port") && i + 1 < argc) {
      port = atoi(argv[++i]);
    } else if (!strcmp(argv[i], "--pt") && i + 1 < argc) {
      pt = atoi(argv[++i]);
    } else if (n < kMaxOut) {
      char* colon = strrchr(argv[i], ':');
      if (!colon)
        return 2;
      *colon = 0;
      out[n].sin_family = AF_INET;
      out[n].sin_port = htons((uint16_t)atoi(colon + 1));
      if (inet_pton(AF_INET, argv[i], &out[n].sin_addr) != 1)
        return 2;
      n++;
    }
  }
  int rx = socket(AF_INET, SOCK_DGRAM, 0), tx = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t al = sizeof(a);
  if (bind(rx, (struct sockaddr*)&a, sizeof(a)) != 0 ||
      getsockname(rx, (struct sockaddr*)&a, &al) != 0) {
    perror("bareforward: bind");
    return 1;
  }
  printf("{\"port\":%u}\n", ntohs(a.sin_port));
  fflush(stdout);
  for (int i = 0; i < kBatch; i++) {
    inIov[i] = (struct iovec){in[i], kPktMax};
    inMsg[i].msg_hdr = (struct msghdr){.msg_iov = &inIov[i], .msg_iovlen = 1};
  }
  for (int c = 0; c < n; c++) {
    outIov[c][0] = (struct iovec){hdr[c], 12};
    outMsg[c].msg_hdr = (struct msghdr){
        .msg_name = &out[c], .msg_namelen = sizeof(out[c]), .msg_iov = outIov[c], .msg_iovlen = 2};
  }
  for (;;) {
    int r = recvmmsg(rx, inMsg, kBatch, MSG_WAITFORONE, NULL);
    for (int i = 0; i < r; i++) {
      const uint8_t* p = in[i];
      const unsigned len = inMsg[i].msg_len;
      if (len < 12 || (p[1] >= 192 && p[1] <= 223))
        continue;
      const uint16_t seq = (uint16_t)(p[2] << 8 | p[3]);
      for (int c = 0; c < n; c++) {
        const uint32_t ssrc = 0x50000000u + (uint32_t)c;
        const uint16_t s = (uint16_t)(seq + 1000u * (unsigned)c);
        memcpy(hdr[c], p, 12);
        hdr[c][1] = (uint8_t)((p[1] & 0x80) | pt);
        hdr[c][2] = (uint8_t)(s >> 8);
        hdr[c][3] = (uint8_t)s;
        hdr[c][8] = (uint8_t)(ssrc >> 24);
        hdr[c][9] = (uint8_t)(ssrc >> 16);
        hdr[c][10] = (uint8_t)(ssrc >> 8);
        hdr[c][11] = (uint8_t)ssrc;
        outIov[c][1] = (struct iovec){(void*)(p + 12), len - 12};
      }
      for (int done = 0; done < n;) {
        int s = sendmmsg(tx, outMsg + done, (unsigned)(n - done), 0);
        if (s <= 0)
          break;
        done += s;
      }
    }
  }
}
