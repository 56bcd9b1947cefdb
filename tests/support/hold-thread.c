/*
 * hold-thread TID: stops one thread, not its process, until a line (or the
 * end) comes on standard input, then lets it go on. As a thread that gets
 * no core for that long: the process's other threads run on. Uses ptrace
 * (PTRACE_SEIZE and PTRACE_INTERRUPT stop only the thread named, with no
 * group stop). Prints "held" once the thread is stopped and "released" once
 * it runs again. The caller ends the hold, so whatever it checks "during
 * the hold" is checked during it, however late its own timers run; if the
 * caller dies, its end of the pipe closes and the thread goes on.
 *
 * It holds the thread only where it is waiting in the kernel (epoll, poll,
 * futex, sleep): stopped anywhere, it could hold a lock the rest of the
 * process needs (its malloc arena, a MessagePort's queue), and the process
 * would wait for it until the hold ends, and the hold for the process. Seen
 * once in CI (2026-12-04): the main thread waited on a futex for the held
 * socket thread. Caught elsewhere, the thread is let go on and caught again
 * a moment later, for up to 10 s; then it fails.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* Interrupts the thread and waits for the interrupt's own stop: a signal's
   delivery stop on the way is passed on to the thread, never swallowed. */
static int stop_thread(pid_t tid) {
  if (ptrace(PTRACE_INTERRUPT, tid, NULL, NULL) == -1) {
    fprintf(stderr, "hold-thread: PTRACE_INTERRUPT %d: %s\n", tid, strerror(errno));
    return 1;
  }
  for (;;) {
    int status;
    if (waitpid(tid, &status, __WALL) == -1) {
      fprintf(stderr, "hold-thread: waitpid %d: %s\n", tid, strerror(errno));
      return 1;
    }
    if (!WIFSTOPPED(status)) {
      fprintf(stderr, "hold-thread: thread %d ended before it was held\n", tid);
      return 1;
    }
    if (status >> 16 == PTRACE_EVENT_STOP) return 0;
    if (ptrace(PTRACE_CONT, tid, NULL, (void *)(long)WSTOPSIG(status)) == -1) {
      fprintf(stderr, "hold-thread: PTRACE_CONT %d: %s\n", tid, strerror(errno));
      return 1;
    }
  }
}

/* Whether the stopped thread was waiting in one of the calls an idle thread
   waits in (x86-64 numbers; /proc/TID/syscall: the call, or -1 in user mode). */
static int waiting_in_kernel(pid_t tid) {
  static const long idle[] = {7 /* poll */, 23 /* select */, 35 /* nanosleep */, 202 /* futex */,
                              230 /* clock_nanosleep */, 232 /* epoll_wait */, 270 /* pselect6 */,
                              271 /* ppoll */, 281 /* epoll_pwait */, 441 /* epoll_pwait2 */};
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/syscall", (int)tid);
  FILE *f = fopen(path, "r");
  if (f == NULL) return 0;
  long nr = -1;
  int got = fscanf(f, "%ld", &nr);
  fclose(f);
  if (got != 1) return 0;
  for (size_t i = 0; i < sizeof idle / sizeof idle[0]; i++)
    if (nr == idle[i]) return 1;
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: hold-thread TID\n");
    return 2;
  }
  pid_t tid = (pid_t)atol(argv[1]);
  if (ptrace(PTRACE_SEIZE, tid, NULL, NULL) == -1) {
    fprintf(stderr, "hold-thread: PTRACE_SEIZE %d: %s\n", tid, strerror(errno));
    return 1;
  }
  for (int tries = 0;; tries++) {
    if (stop_thread(tid) != 0) return 1;
    if (waiting_in_kernel(tid)) break;
    if (tries == 50000) {
      fprintf(stderr, "hold-thread: thread %d never found waiting in the kernel in 10 s\n", tid);
      return 1;
    }
    if (ptrace(PTRACE_CONT, tid, NULL, NULL) == -1) {
      fprintf(stderr, "hold-thread: PTRACE_CONT %d: %s\n", tid, strerror(errno));
      return 1;
    }
    usleep(200);
  }
  printf("held\n");
  fflush(stdout);
  char c;
  while (read(0, &c, 1) == -1 && errno == EINTR) {
  }
  if (ptrace(PTRACE_DETACH, tid, NULL, NULL) == -1) {
    fprintf(stderr, "hold-thread: PTRACE_DETACH %d: %s\n", tid, strerror(errno));
    return 1;
  }
  printf("released\n");
  return 0;
}
