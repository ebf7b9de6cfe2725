// SPDX-License-Identifier: Apache-2.0
#include "output/accounts.hpp"

#include "output/render.hpp"
#include "util/error.hpp"

#include <algorithm>
#include <string_view>

namespace mw::output {

const std::vector<int>& exit_severity()
{
  static const std::vector<int> order = [] {
    std::vector<int> codes;
    for (auto code : {ExitCode::software, ExitCode::io, ExitCode::cant_create, ExitCode::permission,
                      ExitCode::config, ExitCode::no_input, ExitCode::usage, ExitCode::data,
                      ExitCode::protocol, ExitCode::no_host, ExitCode::unavailable,
                      ExitCode::temporary, ExitCode::partial, ExitCode::ok}) {
      codes.push_back(static_cast<int>(code));
    }
    return codes;
  }();
  return order;
}

int worst_exit(const std::vector<int>& codes)
{
  const auto& order = exit_severity();
  auto rank = [&order](int code) {
    auto it = std::find(order.begin(), order.end(), code);
    return it == order.end() ? -1 : static_cast<int>(it - order.begin());
  };
  int worst = 0;
  for (int code : codes) {
    if (rank(code) < rank(worst)) {
      worst = code;
    }
  }
  return worst;
}

std::string exit_meaning(int code)
{
  switch (code) {
  case 0: return "ok";
  case 1: return "partly failed";
  case 64: return "usage error";
  case 65: return "data refused";
  case 66: return "input file missing";
  case 68: return "unknown host";
  case 69: return "service unavailable";
  case 70: return "internal error";
  case 73: return "cannot create output";
  case 74: return "network or I/O error";
  case 75: return "temporary failure";
  case 76: return "protocol error";
  case 77: return "authentication failed or not permitted";
  case 78: return "configuration error";
  case 129: return "hung up";
  case 130: return "interrupted";
  case 141: return "output closed";
  case 143: return "terminated";
  default: break;
  }
  if (code > 128) {
    return "killed by signal " + std::to_string(code - 128);
  }
  return "failed";
}

std::string summary_line(const AccountRun& run)
{
  if (!run.ran) {
    return run.account + ": not run (interrupted)";
  }
  if (run.exit == 0) {
    return run.account + ": ok";
  }
  return run.account + ": failed (" + std::to_string(run.exit) + ": " + exit_meaning(run.exit) +
         ")";
}

void write_account(const AccountRun& run, bool first, std::ostream& out, std::ostream& err)
{
  out << (first ? "" : "\n") << "==> " << run.account << " <==\n" << run.out;
  if (!run.out.empty() && run.out.back() != '\n') {
    out << '\n';
  }
  out.flush();
  write_account_errors(run, err);
}

void write_account_errors(const AccountRun& run, std::ostream& err)
{
  std::string_view rest = run.err;
  while (!rest.empty()) {
    auto end = rest.find('\n');
    auto line = rest.substr(0, end);
    err << run.account << ": " << line << '\n';
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
  }
  err.flush();
}

nlohmann::json account_json(const AccountRun& run)
{
  auto document = nlohmann::json::parse(run.out, nullptr, false);
  if (document.is_discarded() || !document.is_object()) {
    const auto code = static_cast<ExitCode>(run.exit);
    const std::string what = !run.ran          ? "not run (interrupted)"
                             : run.out.empty() ? "printed no JSON document"
                                               : "printed something that is not a JSON object";
    document = error_json(code, run.account + ": " + what + " (exit " + std::to_string(run.exit) +
                                    ": " + exit_meaning(run.exit) + ")");
  }
  document["account"] = run.account;
  document["exit"] = run.exit;
  return document;
}

}  // namespace mw::output
