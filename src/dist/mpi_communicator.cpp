#include "dist/mpi_communicator.h"

#include <mpi.h>

#include <algorithm>
#include <climits>
#include <vector>

#include "core/error.h"

namespace whet::dist {

namespace {

// MPI counts are ints: a longer buffer goes as several operations.
constexpr size_t kMaxCount = INT_MAX;

void check(int status, const char* operation) {
  if (status == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(status, text, &length);
  fail("mpi", "{}: {}", operation, std::string(text, size_t(length)));
}

template <typename T>
void allreduce_in_place(std::span<T> values, MPI_Datatype type, MPI_Op op = MPI_SUM) {
  for (size_t begin = 0; begin < values.size(); begin += kMaxCount) {
    const int count = int(std::min(kMaxCount, values.size() - begin));
    check(MPI_Allreduce(MPI_IN_PLACE, values.data() + begin, count, type, op, MPI_COMM_WORLD), "MPI_Allreduce");
  }
}

class MpiPending final : public PendingCollective {
 public:
  explicit MpiPending(std::vector<MPI_Request> requests) : requests_(std::move(requests)) {}
  // MPI's default error handler aborts the job on a failure, so nothing is lost by not checking here.
  ~MpiPending() override { MPI_Waitall(int(requests_.size()), requests_.data(), MPI_STATUSES_IGNORE); }
  bool test() override {
    int done = 0;
    check(MPI_Testall(int(requests_.size()), requests_.data(), &done, MPI_STATUSES_IGNORE), "MPI_Testall");
    return done != 0;
  }
  void wait() override {
    check(MPI_Waitall(int(requests_.size()), requests_.data(), MPI_STATUSES_IGNORE), "MPI_Waitall");
  }

 private:
  std::vector<MPI_Request> requests_;  // MPI_REQUEST_NULL once complete
};

class MpiWorld final : public Communicator {
 public:
  MpiWorld() {
    int provided = 0;
    check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
  }
  ~MpiWorld() override { MPI_Finalize(); }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  void allreduce_sum(std::span<float> values) override { allreduce_in_place(values, MPI_FLOAT); }
  void allreduce_sum(std::span<double> values) override { allreduce_in_place(values, MPI_DOUBLE); }
  void allreduce_max(std::span<double> values) override { allreduce_in_place(values, MPI_DOUBLE, MPI_MAX); }
  std::unique_ptr<PendingCollective> start_allreduce_sum(std::span<float> values) override {
    std::vector<MPI_Request> requests;
    for (size_t begin = 0; begin < values.size(); begin += kMaxCount) {
      const int count = int(std::min(kMaxCount, values.size() - begin));
      requests.emplace_back();
      check(MPI_Iallreduce(MPI_IN_PLACE, values.data() + begin, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD,
                           &requests.back()),
            "MPI_Iallreduce");
    }
    return std::make_unique<MpiPending>(std::move(requests));
  }
  void broadcast(std::span<std::byte> bytes, int root) override {
    for (size_t begin = 0; begin < bytes.size(); begin += kMaxCount) {
      const int count = int(std::min(kMaxCount, bytes.size() - begin));
      check(MPI_Bcast(bytes.data() + begin, count, MPI_BYTE, root, MPI_COMM_WORLD), "MPI_Bcast");
    }
  }
  void barrier() override { check(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier"); }
  [[noreturn]] void abort(int code) override {
    std::fflush(nullptr);
    MPI_Abort(MPI_COMM_WORLD, code);
    std::_Exit(code);  // MPI_Abort does not return; this tells the compiler so
  }

 private:
  int rank_ = 0, size_ = 1;
};

}  // namespace

std::unique_ptr<Communicator> mpi_world() { return std::make_unique<MpiWorld>(); }

}  // namespace whet::dist
