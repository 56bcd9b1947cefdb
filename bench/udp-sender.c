/*
 * The benchmark's load generator: sends COUNT protocol datagrams (~150 bytes
 * of realistic JSON, SOURCES senders round-robin, consecutive seq per sender;
 * RATE = SOURCES plays that many senders beating once a second)
 * to 127.0.0.1:PORT at a fixed RATE per second, and stops at COUNT or after
 * MAX_SECONDS, whichever comes first. Loopback only: any other address is
 * refused. Prints one JSON line with what it did.
 *
 * Built by bench/run.ts with `cc -O2`. Pacing: the number due at time t is
 * RATE * t; whatever is due is sent with sendmmsg in batches of at most
 * BATCH, then the sender sleeps until the next one is due, and at least
 * PACE_US. So it never bursts more than what fell due during one sleep
 * (5 datagrams at 50,000/s), as a NIC's interrupt coalescing hands a host
 * what arrived in the last tens of microseconds. Woken for every datagram
 * instead, on loopback, where the receiver's wake-up is charged to the
 * sender, it took 0.81-0.85 of a core at 50,000/s against 0.38-0.42 (a
 * plain reader, 2026-12-03): CPU the receivers it feeds did not get on a
 * 2-core machine.
 *
 * usage: udp-sender HOST PORT RATE COUNT MAX_SECONDS SOURCES SEQ_START BOOT [SOCKETS]
 *
 * SOCKETS (default 1): batches go out round-robin from that many sockets
 * (as many source ports), so a receiver with several SO_REUSEPORT sockets
 * gets them spread by the kernel.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 32
/* The shortest sleep between batches (see the pacing above). */
#define PACE_US 100
#define MAX_SOURCES 1000000
#define MAX_SOCKETS 64
#define PAYLOAD_MAX 256

static double now_s(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long parse_long(const char *text, const char *what, long min, long max) {
  char *end = NULL;
  errno = 0;
  long value = strtol(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || value < min || value > max) {
    fprintf(stderr, "udp-sender: bad %s '%s' (expected %ld..%ld)\n", what, text, min, max);
    exit(2);
  }
  return value;
}

/* sentAt (ISO-8601, ms) and the human text of the original example, from the wall clock. */
static void format_times(char *iso, size_t iso_len, char *human, size_t human_len) {
  static const char *days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char *months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  struct timespec ts;
  struct tm tm;
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  snprintf(iso, iso_len, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
           tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
  snprintf(human, human_len, "%s %s %02d %02d:%02d:%02d %04d", days[tm.tm_wday], months[tm.tm_mon],
           tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, tm.tm_year + 1900);
}

int main(int argc, char **argv) {
  if (argc != 9 && argc != 10) {
    fprintf(stderr, "usage: udp-sender HOST PORT RATE COUNT MAX_SECONDS SOURCES SEQ_START BOOT [SOCKETS]\n");
    return 2;
  }
  const char *host = argv[1];
  long port = parse_long(argv[2], "port", 1, 65535);
  long rate = parse_long(argv[3], "rate", 1, 10000000);
  long count = parse_long(argv[4], "count", 1, 100000000);
  long max_seconds = parse_long(argv[5], "max seconds", 1, 3600);
  long sources = parse_long(argv[6], "sources", 1, MAX_SOURCES);
  long seq_start = parse_long(argv[7], "seq start", 0, 1000000000000L);
  const char *boot = argv[8];
  if (strlen(boot) < 1 || strlen(boot) > 32) {
    fprintf(stderr, "udp-sender: boot must be 1..32 characters\n");
    return 2;
  }

  struct sockaddr_in to;
  memset(&to, 0, sizeof to);
  to.sin_family = AF_INET;
  to.sin_port = htons((uint16_t)port);
  if (inet_pton(AF_INET, host, &to.sin_addr) != 1 || (ntohl(to.sin_addr.s_addr) >> 24) != 127) {
    fprintf(stderr, "udp-sender: refusing '%s': loopback (127.0.0.0/8) only\n", host);
    return 2;
  }
  long socket_count = argc == 10 ? parse_long(argv[9], "sockets", 1, MAX_SOCKETS) : 1;
  int fds[MAX_SOCKETS];
  for (long i = 0; i < socket_count; i++) {
    fds[i] = socket(AF_INET, SOCK_DGRAM, 0);
    if (fds[i] < 0) {
      perror("udp-sender: socket");
      return 1;
    }
  }
  /* Precise sleeps: the default 50 us timer slack would make pacing lumpy. */
  prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);

  static char payloads[BATCH][PAYLOAD_MAX];
  struct iovec iov[BATCH];
  struct mmsghdr msgs[BATCH];
  memset(msgs, 0, sizeof msgs);
  for (int i = 0; i < BATCH; i++) {
    iov[i].iov_base = payloads[i];
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
    msgs[i].msg_hdr.msg_name = &to;
    msgs[i].msg_hdr.msg_namelen = sizeof to;
  }

  char iso[96], human[96];
  double last_format = 0;
  long sent = 0, errors = 0, bytes = 0, batches = 0;
  const double start = now_s(CLOCK_MONOTONIC);
  const double deadline = start + (double)max_seconds;
  while (sent < count) {
    double now = now_s(CLOCK_MONOTONIC);
    if (now >= deadline) break;
    long due = (long)((now - start) * (double)rate) + 1;
    if (due > count) due = count;
    if (due <= sent) {
      double next = start + (double)sent / (double)rate;
      double wait = next - now;
      if (wait < PACE_US / 1e6) wait = PACE_US / 1e6;
      if (wait > 0) {
        struct timespec ts = {(time_t)wait, (long)((wait - (double)(time_t)wait) * 1e9)};
        nanosleep(&ts, NULL);
      }
      continue;
    }
    if (now - last_format >= 0.001) {
      format_times(iso, sizeof iso, human, sizeof human);
      last_format = now;
    }
    int n = (int)(due - sent < BATCH ? due - sent : BATCH);
    for (int i = 0; i < n; i++) {
      long k = sent + i;
      int len = snprintf(payloads[i], PAYLOAD_MAX,
                         "{\"v\":1,\"kind\":\"beat\",\"source\":\"bench-%02ld\",\"boot\":\"%s\",\"seq\":%ld,"
                         "\"sentAt\":\"%s\",\"intervalMs\":1000,\"text\":\"%s\"}",
                         k % sources, boot, seq_start + k / sources, iso, human);
      iov[i].iov_len = (size_t)len;
    }
    int done = sendmmsg(fds[batches % socket_count], msgs, (unsigned)n, 0);
    batches++;
    if (done < 0) {
      errors++;
      if (errors > 1000) {
        perror("udp-sender: sendmmsg");
        break;
      }
      continue;
    }
    for (int i = 0; i < done; i++) bytes += (long)iov[i].iov_len;
    sent += done;
  }
  double elapsed = now_s(CLOCK_MONOTONIC) - start;
  for (long i = 0; i < socket_count; i++) close(fds[i]);
  printf("{\"sent\":%ld,\"bytes\":%ld,\"elapsedS\":%.6f,\"rate\":%.1f,\"batches\":%ld,\"errors\":%ld,"
         "\"timedOut\":%s}\n",
         sent, bytes, elapsed, elapsed > 0 ? (double)sent / elapsed : 0.0, batches, errors,
         sent < count ? "true" : "false");
  return 0;
}
