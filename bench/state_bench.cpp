// SPDX-License-Identifier: Apache-2.0
// The --new state at scale (issue 16: "the --new state of 1,000,000 UIDs loads and saves in
// < 1 s and stays atomic"), for bench/run.sh job 9. Writes a state file of COUNT UIDs shaped as
// Dovecot's (16 hexadecimal digits), then three rounds of what a `fetch --new` run does with
// it: store::UidState::load(), a thousand UIDs recorded as stored, save() (a new file, synced,
// renamed over the old one). Prints one JSON object: the seconds of each load and save, the
// file's size and the state's footprint.
//
//   mw_state_bench FILE COUNT

#include "store/state.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

namespace {

std::string uid(unsigned long n)
{
  char buf[24];
  std::snprintf(buf, sizeof buf, "%08lx%08lx", 0x5f3a1c20UL + n / 65536, 0x4a1b0000UL + n);
  return buf;
}

std::string seconds(const std::vector<double>& values)
{
  std::string out = "[";
  for (std::size_t i = 0; i < values.size(); ++i) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%s%.4f", i == 0 ? "" : ", ", values[i]);
    out += buf;
  }
  return out + "]";
}

}  // namespace

int main(int argc, char** argv)
{
  if (argc != 3) {
    std::fprintf(stderr, "usage: mw_state_bench FILE COUNT\n");
    return 64;
  }
  const std::string path = argv[1];
  const unsigned long count = std::strtoul(argv[2], nullptr, 10);
  const std::string mailbox = "bench@127.0.0.1:995";
  {
    std::ofstream f(path, std::ios::trunc);
    f << "# mailwrench uid state 2\n# mailbox " << mailbox << "\n";
    for (unsigned long i = 0; i < count; ++i) {
      f << uid(i) << '\n';
    }
  }
  using Clock = std::chrono::steady_clock;
  const auto since = [](Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
  };
  std::vector<double> loads;
  std::vector<double> saves;
  std::size_t uids = 0;
  std::size_t footprint = 0;
  unsigned long next = count;
  for (int round = 0; round < 3; ++round) {
    auto t = Clock::now();
    auto state = mw::store::UidState::load(path, mailbox);
    loads.push_back(since(t));
    for (int i = 0; i < 1000; ++i) {
      state.add(uid(next++));
    }
    t = Clock::now();
    state.save();
    saves.push_back(since(t));
    uids = state.size();
    footprint = state.footprint();
  }
  std::ifstream size(path, std::ios::ate | std::ios::binary);
  std::printf("{\"uids\": %zu, \"file_octets\": %lld, \"footprint_octets\": %zu, "
              "\"load_s\": %s, \"save_s\": %s}\n",
              uids, static_cast<long long>(size.tellg()), footprint, seconds(loads).c_str(),
              seconds(saves).c_str());
  return 0;
}
