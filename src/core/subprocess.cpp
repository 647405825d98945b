#include "core/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "core/error.h"

namespace whet {

namespace {

struct Pipes {
  int in[2] = {-1, -1};  // a socket pair, so writing to a program that has exited gives EPIPE, not SIGPIPE
  int out[2] = {-1, -1}, err[2] = {-1, -1};
  ~Pipes() {
    for (int* p : {in, out, err})
      for (int i = 0; i < 2; ++i)
        if (p[i] >= 0) close(p[i]);
  }
  static void close_fd(int& fd) {
    if (fd >= 0) close(fd);
    fd = -1;
  }
};

// In the child between fork and exec only async-signal-safe calls: the
// arguments were laid out before the fork (another thread may hold malloc's lock).
[[noreturn]] void exec_child(char* const* args, const Pipes& p, const char* working_dir) {
  setpgid(0, 0);
  dup2(p.in[1], STDIN_FILENO);
  dup2(p.out[1], STDOUT_FILENO);
  dup2(p.err[1], STDERR_FILENO);
  if (chdir(working_dir) != 0) _exit(126);
  execvp(args[0], args);
  _exit(127);
}

void append_read(int& fd, std::string& to) {
  char buffer[65536];
  const ssize_t n = read(fd, buffer, sizeof buffer);
  if (n > 0) {
    to.append(buffer, size_t(std::min<size_t>(size_t(n), kMaxProcessOutput - std::min(kMaxProcessOutput, to.size()))));
  } else if (n == 0 || errno != EINTR) {
    Pipes::close_fd(fd);
  }
}

}  // namespace

ProcessResult run_process(const std::vector<std::string>& argv, const std::string& input, double timeout_seconds,
                          const std::string& working_dir) {
  WHET_ASSERT(!argv.empty());
  Pipes p;
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p.in) != 0 || pipe2(p.out, O_CLOEXEC) != 0 ||
      pipe2(p.err, O_CLOEXEC) != 0)
    fail(argv[0], "cannot make pipes for the program: {}", std::strerror(errno));
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t pid = fork();
  if (pid < 0) fail(argv[0], "cannot start the program: {}", std::strerror(errno));
  if (pid == 0) exec_child(args.data(), p, working_dir.c_str());
  setpgid(pid, pid);  // also here, so the group exists before a kill whichever runs first
  for (int* end : {&p.in[1], &p.out[1], &p.err[1]}) Pipes::close_fd(*end);
  ProcessResult result;
  size_t written = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_seconds);
  while (p.in[0] >= 0 || p.out[0] >= 0 || p.err[0] >= 0) {
    if (p.in[0] >= 0 && written == input.size()) Pipes::close_fd(p.in[0]);
    pollfd fds[3] = {{p.in[0], POLLOUT, 0}, {p.out[0], POLLIN, 0}, {p.err[0], POLLIN, 0}};
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      result.timed_out = true;
      break;
    }
    if (poll(fds, 3, int(std::min<int64_t>(left.count(), 1000))) < 0 && errno != EINTR) break;
    if (fds[0].revents & (POLLOUT | POLLERR | POLLHUP)) {
      const ssize_t n = send(p.in[0], input.data() + written, input.size() - written, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) written += size_t(n);
      else if (errno != EAGAIN && errno != EINTR) Pipes::close_fd(p.in[0]);  // the program stopped reading
    }
    if (fds[1].revents) append_read(p.out[0], result.out);
    if (fds[2].revents) append_read(p.err[0], result.err);
  }
  // The program may close its output and still run: the deadline holds for its exit too.
  int status = 0;
  while (!result.timed_out) {
    const pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid || (done < 0 && errno != EINTR)) break;
    if (std::chrono::steady_clock::now() >= deadline) result.timed_out = true;
    else usleep(2000);
  }
  if (result.timed_out) {
    kill(-pid, SIGKILL);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
  if (result.timed_out) return result;
  result.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

}  // namespace whet
