// SPDX-License-Identifier: Apache-2.0
#include "cli/run.hpp"
#include "commands/table.hpp"

int main(int argc, char** argv)
{
  return mw::cli::run(argc, argv, mw::commands::table());
}
