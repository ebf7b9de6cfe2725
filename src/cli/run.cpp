#include "cli/run.hpp"

namespace mw::cli {

int run(int, char**)
{
  return 70;
}

}  // namespace mw::cli
