#include "cli/run.hpp"

int main(int argc, char** argv)
{
  return mw::cli::run(argc, argv);
}
