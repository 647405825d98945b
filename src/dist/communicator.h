#pragma once
// The processes of a data-parallel run and the collectives training needs from
// them. One process (plain `whet`) is a world of size 1 whose collectives are
// no-ops; under `mpirun` the world is MPI_COMM_WORLD (mpi_communicator.cpp), so
// nothing above this file includes MPI.
#include <cstddef>
#include <memory>
#include <span>
#include <type_traits>

namespace whet::dist {

// A collective started without waiting (MPI_Iallreduce): test() lets it progress
// and says whether it is done; wait() blocks until it is.
// Destroying one that still runs waits for it, without throwing: a buffer must not
// go away under a running operation, and a destructor must not throw.
class PendingCollective {
 public:
  virtual ~PendingCollective() = default;
  virtual bool test() = 0;
  virtual void wait() = 0;
};

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // Every process passes a buffer of the same length; each gets the element-wise sum.
  virtual void allreduce_sum(std::span<float> values) = 0;
  virtual void allreduce_sum(std::span<double> values) = 0;
  // Each gets the element-wise maximum.
  virtual void allreduce_max(std::span<double> values) = 0;
  // The same sum, started now; `values` must stay alive and untouched until it completes.
  virtual std::unique_ptr<PendingCollective> start_allreduce_sum(std::span<float> values) = 0;
  // Every process ends up with `root`'s bytes.
  virtual void broadcast(std::span<std::byte> bytes, int root) = 0;
  virtual void barrier() = 0;
  // Ends every process of the world with `code` (a failed rank must not leave the others waiting in a collective).
  [[noreturn]] virtual void abort(int code) = 0;
};

// Every process ends up with `root`'s value of a plain object (a loop position, a few numbers).
template <class T>
void broadcast_object(Communicator& world, T& value, int root) {
  static_assert(std::is_trivially_copyable_v<T>);
  world.broadcast(std::as_writable_bytes(std::span(&value, 1)), root);
}

// The world of one process.
std::unique_ptr<Communicator> single_process();

// Whether Open MPI's launcher (mpirun, mpiexec) started this process: it sets OMPI_COMM_WORLD_SIZE.
bool started_by_mpirun();

// MPI's world when started by mpirun (MPI initialised here, finalised when it is
// destroyed), otherwise the world of one process, with no MPI start-up at all.
std::unique_ptr<Communicator> join_world();

}  // namespace whet::dist
