/*
 * hold-thread TID: stops one thread, not its process, until a line (or the
 * end) comes on standard input, then lets it go on. As a thread that gets
 * no core for that long: the process's other threads run on. Uses ptrace
 * (PTRACE_SEIZE and PTRACE_INTERRUPT stop only the thread named, with no
 * group stop). Prints "held" once the thread is stopped and "released" once
 * it runs again. The caller ends the hold, so whatever it checks "during
 * the hold" is checked during it, however late its own timers run; if the
 * caller dies, its end of the pipe closes and the thread goes on.
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
  if (ptrace(PTRACE_INTERRUPT, tid, NULL, NULL) == -1) {
    fprintf(stderr, "hold-thread: PTRACE_INTERRUPT %d: %s\n", tid, strerror(errno));
    return 1;
  }
  /* Until the interrupt's own stop: a signal's delivery stop on the way is
     passed on to the thread, never swallowed. */
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
    if (status >> 16 == PTRACE_EVENT_STOP) break;
    if (ptrace(PTRACE_CONT, tid, NULL, (void *)(long)WSTOPSIG(status)) == -1) {
      fprintf(stderr, "hold-thread: PTRACE_CONT %d: %s\n", tid, strerror(errno));
      return 1;
    }
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
