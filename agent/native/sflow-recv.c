/*
 * sflow-recv: receives UDP datagrams in batches (recvmmsg) and writes them to stdout, each as
 * [u32 little-endian length][bytes], so the agent reads thousands of datagrams per pipe read instead of
 * paying one event per datagram. Node's dgram socket costs several microseconds per datagram; an sFlow
 * collector at line rate cannot afford that.
 *
 * Usage: sflow-recv HOST PORT RCVBUF
 * Prints "ready <port>" on stderr once bound (the port the kernel gave when PORT is 0), exits when stdout
 * closes (the agent stopped), or when the agent dies (it may never write again when no datagram comes).
 * As root, the receive buffer is forced past net.core.rmem_max.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define BATCH 256
#define MAX_DATAGRAM 65536

static int write_all(const unsigned char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(1, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: sflow-recv HOST PORT RCVBUF\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  /* Killed with the agent, even a SIGKILLed one; if it is already gone, now. */
  pid_t parent = getppid();
  if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent) return 1;
  struct sockaddr_storage addr;
  memset(&addr, 0, sizeof addr);
  socklen_t addrlen;
  int family;
  struct sockaddr_in *a4 = (struct sockaddr_in *)&addr;
  struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&addr;
  int port = atoi(argv[2]);
  if (inet_pton(AF_INET, argv[1], &a4->sin_addr) == 1) {
    family = AF_INET;
    a4->sin_family = AF_INET;
    a4->sin_port = htons((uint16_t)port);
    addrlen = sizeof *a4;
  } else if (inet_pton(AF_INET6, argv[1], &a6->sin6_addr) == 1) {
    family = AF_INET6;
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons((uint16_t)port);
    addrlen = sizeof *a6;
  } else {
    fprintf(stderr, "sflow-recv: not an IP address: %s\n", argv[1]);
    return 2;
  }
  int fd = socket(family, SOCK_DGRAM, 0);
  if (fd < 0) {
    perror("sflow-recv: socket");
    return 1;
  }
  int rcvbuf = atoi(argv[3]);
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) != 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  if (bind(fd, (struct sockaddr *)&addr, addrlen) != 0) {
    fprintf(stderr, "sflow-recv: bind %s:%d: %s\n", argv[1], port, strerror(errno));
    return 1;
  }
  if (getsockname(fd, (struct sockaddr *)&addr, &addrlen) == 0)
    port = ntohs(family == AF_INET ? a4->sin_port : a6->sin6_port);
  int got = 0;
  socklen_t gotlen = sizeof got;
  getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &gotlen);
  fcntl(1, F_SETPIPE_SZ, 1 << 20);
  fprintf(stderr, "ready %d %d\n", port, got);
  fflush(stderr);

  static unsigned char bufs[BATCH][MAX_DATAGRAM];
  static unsigned char out[BATCH * 64 + (1 << 20)];
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  for (int i = 0; i < BATCH; i++) {
    iov[i].iov_base = bufs[i];
    iov[i].iov_len = MAX_DATAGRAM;
    memset(&msgs[i], 0, sizeof msgs[i]);
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  for (;;) {
    int n = recvmmsg(fd, msgs, BATCH, MSG_WAITFORONE, NULL);
    if (n < 0) {
      if (errno == EINTR) continue;
      perror("sflow-recv: recvmmsg");
      return 1;
    }
    size_t used = 0;
    for (int i = 0; i < n; i++) {
      uint32_t len = msgs[i].msg_len;
      if (used + 4 + len > sizeof out) {
        if (write_all(out, used) != 0) return 0;
        used = 0;
      }
      out[used] = len & 255;
      out[used + 1] = (len >> 8) & 255;
      out[used + 2] = (len >> 16) & 255;
      out[used + 3] = (len >> 24) & 255;
      memcpy(out + used + 4, bufs[i], len);
      used += 4 + len;
    }
    if (used > 0 && write_all(out, used) != 0) return 0; /* the agent went away */
  }
}
