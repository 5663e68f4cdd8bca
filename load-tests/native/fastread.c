/*
 * fastread: the native receiving path of the `broadcast` scenario's lean
 * client (load-tests/src/fanout/native-reader.ts). A client process
 * connects, authenticates and subscribes its sockets in Node, stops reading
 * them and hands them over as fds 3 … 3+n-1; this program then reads them
 * with epoll, parses only WebSocket frame headers (server frames are
 * unmasked), counts data frames per socket and writes every
 * `sample`-th frame's payload (and every frame while sample is 1) to stdout
 * for Node to decode, time and seq-check. It does nothing else per frame,
 * so it out-runs the servers it reads. With a second argument `eio` the
 * sockets speak Engine.IO (Socket.IO's transport): a one-byte text frame
 * `2` is the server's ping, answered with a masked text frame `3` and not
 * counted.
 *
 * stdin, one command a line:  `reset <sample>` | `report` | `quit`.
 * stdout, records:  'S' u32 socket, u32 frame index, f64 arrival (ms since
 * the epoch, CLOCK_REALTIME), u32 length, payload;  'R' u64 frames,
 * u64 reads, u32 closed, f64 user+system CPU seconds since reset.
 * Little-endian (x86-64).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct {
  uint8_t head[14];
  uint32_t headLen;
  uint64_t remaining; /* payload bytes left of the current frame */
  uint8_t opcode;
  uint8_t inPayload;
  uint8_t sampling;
  uint8_t capture; /* keep the payload: sampled, or a possible Engine.IO ping */
  uint8_t closed;
  uint32_t frames; /* data frames since reset */
  uint8_t *buf;    /* the sampled frame's payload */
  uint32_t bufLen, bufCap;
} Sock;

static Sock *socks;
static int nsocks;
static uint32_t sampleEvery = 1;
static uint64_t totalFrames, totalReads;
static uint32_t closedCount;
static int engineIo;
static double cpu0;
static uint8_t out[1 << 16];
static size_t outLen;

static double cpuNow(void) {
  struct rusage r;
  getrusage(RUSAGE_SELF, &r);
  return r.ru_utime.tv_sec + r.ru_stime.tv_sec + (r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
}

static void flushOut(void) {
  size_t at = 0;
  while (at < outLen) {
    ssize_t w = write(1, out + at, outLen - at);
    if (w < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      exit(2);
    }
    at += (size_t)w;
  }
  outLen = 0;
}

static void emit(const void *p, size_t n) {
  if (outLen + n > sizeof out) flushOut();
  if (n > sizeof out) {
    /* Larger than the buffer: straight through. */
    outLen = 0;
    const uint8_t *b = p;
    while (n > 0) {
      ssize_t w = write(1, b, n);
      if (w < 0) {
        if (errno == EINTR || errno == EAGAIN) continue;
        exit(2);
      }
      b += w;
      n -= (size_t)w;
    }
    return;
  }
  memcpy(out + outLen, p, n);
  outLen += n;
}

static void endFrame(int i, Sock *s) {
  s->inPayload = 0;
  uint8_t op = s->opcode;
  if (op == 8) {
    if (!s->closed) closedCount++;
    s->closed = 1;
    return;
  }
  if (op != 1 && op != 2) return; /* ping, pong, continuation: not events */
  if (engineIo && op == 1 && s->bufLen == 1 && s->buf[0] == '2') {
    /* Engine.IO ping: answer `3` (masked with a zero key), count nothing. */
    static const uint8_t pong[7] = {0x81, 0x81, 0, 0, 0, 0, '3'};
    send(3 + i, pong, sizeof pong, MSG_NOSIGNAL);
    return;
  }
  uint32_t idx = s->frames++;
  totalFrames++;
  if (!s->sampling) return;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  double at = ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
  uint8_t tag = 'S';
  uint32_t sock = (uint32_t)i;
  emit(&tag, 1);
  emit(&sock, 4);
  emit(&idx, 4);
  emit(&at, 8);
  emit(&s->bufLen, 4);
  emit(s->buf, s->bufLen);
}

static void onBytes(int i, Sock *s, const uint8_t *c, size_t len) {
  size_t at = 0;
  while (at < len) {
    if (s->inPayload) {
      size_t take = len - at;
      if (take > s->remaining) take = (size_t)s->remaining;
      if (s->capture) {
        if (s->bufLen + take > s->bufCap) {
          s->bufCap = (uint32_t)(s->bufLen + take) * 2;
          s->buf = realloc(s->buf, s->bufCap);
        }
        memcpy(s->buf + s->bufLen, c + at, take);
        s->bufLen += (uint32_t)take;
      }
      at += take;
      s->remaining -= take;
      if (s->remaining == 0) endFrame(i, s);
      continue;
    }
    /* Header: 2 bytes, then 2 or 8 bytes of length. */
    while (s->headLen < 2 && at < len) s->head[s->headLen++] = c[at++];
    if (s->headLen < 2) return;
    uint8_t b1 = s->head[1] & 0x7f;
    uint32_t size = b1 < 126 ? 2 : b1 == 126 ? 4 : 10;
    while (s->headLen < size && at < len) s->head[s->headLen++] = c[at++];
    if (s->headLen < size) return;
    s->opcode = s->head[0] & 0x0f;
    if (b1 < 126)
      s->remaining = b1;
    else if (b1 == 126)
      s->remaining = ((uint64_t)s->head[2] << 8) | s->head[3];
    else {
      s->remaining = 0;
      for (int k = 2; k < 10; k++) s->remaining = (s->remaining << 8) | s->head[k];
    }
    s->headLen = 0;
    s->inPayload = 1;
    s->bufLen = 0;
    s->sampling = (s->opcode == 1 || s->opcode == 2) && s->frames % sampleEvery == 0;
    s->capture = s->sampling || (engineIo && s->opcode == 1 && s->remaining == 1);
    if (s->remaining == 0) endFrame(i, s);
  }
}

static char line[256];
static size_t lineLen;

/* Returns 0 on quit. */
static int onCommand(const char *cmd) {
  if (strncmp(cmd, "reset ", 6) == 0) {
    long n = strtol(cmd + 6, NULL, 10);
    sampleEvery = n < 1 ? 1 : (uint32_t)n;
    for (int i = 0; i < nsocks; i++) socks[i].frames = 0;
    totalFrames = totalReads = 0;
    cpu0 = cpuNow();
    uint8_t tag = 'R';
    double cpu = 0;
    emit(&tag, 1);
    emit(&totalFrames, 8);
    emit(&totalReads, 8);
    emit(&closedCount, 4);
    emit(&cpu, 8);
  } else if (strcmp(cmd, "report") == 0) {
    uint8_t tag = 'R';
    double cpu = cpuNow() - cpu0;
    emit(&tag, 1);
    emit(&totalFrames, 8);
    emit(&totalReads, 8);
    emit(&closedCount, 4);
    emit(&cpu, 8);
  } else if (strcmp(cmd, "quit") == 0)
    return 0;
  return 1;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: fastread <sockets> [eio] (fds 3 … 3+n-1)\n");
    return 1;
  }
  nsocks = atoi(argv[1]);
  engineIo = argc > 2 && strcmp(argv[2], "eio") == 0;
  socks = calloc((size_t)nsocks, sizeof(Sock));
  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN, .data.u32 = UINT32_MAX};
  epoll_ctl(ep, EPOLL_CTL_ADD, 0, &ev);
  for (int i = 0; i < nsocks; i++) {
    struct epoll_event e = {.events = EPOLLIN | EPOLLRDHUP, .data.u32 = (uint32_t)i};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, 3 + i, &e) != 0) {
      fprintf(stderr, "fastread: fd %d: %s\n", 3 + i, strerror(errno));
      return 1;
    }
  }
  cpu0 = cpuNow();
  static uint8_t buf[1 << 16];
  struct epoll_event evs[512];
  for (;;) {
    flushOut();
    int n = epoll_wait(ep, evs, 512, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      return 1;
    }
    for (int k = 0; k < n; k++) {
      uint32_t i = evs[k].data.u32;
      if (i == UINT32_MAX) {
        ssize_t r = read(0, line + lineLen, sizeof line - 1 - lineLen);
        if (r <= 0) return 0; /* Node went away */
        lineLen += (size_t)r;
        char *nl;
        while ((nl = memchr(line, '\n', lineLen)) != NULL) {
          *nl = 0;
          if (!onCommand(line)) {
            flushOut();
            return 0;
          }
          size_t used = (size_t)(nl - line) + 1;
          memmove(line, line + used, lineLen - used);
          lineLen -= used;
        }
        continue;
      }
      Sock *s = &socks[i];
      ssize_t r = recv(3 + (int)i, buf, sizeof buf, 0);
      if (r > 0) {
        totalReads++;
        onBytes((int)i, s, buf, (size_t)r);
      } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
        if (!s->closed) closedCount++;
        s->closed = 1;
        epoll_ctl(ep, EPOLL_CTL_DEL, 3 + (int)i, NULL);
      }
    }
  }
}
