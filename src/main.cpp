#include "cli/run.hpp"
#include "commands/table.hpp"

int main(int argc, char** argv)
{
  return mw::cli::run(argc, argv, mw::commands::table());
}
