#include "core/openmp_team.h"

#include <omp.h>

namespace whet {

bool release_openmp_team() { return omp_pause_resource_all(omp_pause_soft) == 0; }

}  // namespace whet
