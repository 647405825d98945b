#pragma once
// MPI_COMM_WORLD as a Communicator. Only communicator.cpp's join_world calls this.
#include <memory>

#include "dist/communicator.h"

namespace whet::dist {

// Initialises MPI (threads funnelled: OpenMP workers never call MPI); the
// communicator finalises it when destroyed.
std::unique_ptr<Communicator> mpi_world();

}  // namespace whet::dist
