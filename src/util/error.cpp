// SPDX-License-Identifier: Apache-2.0
#include "util/error.hpp"

namespace mw {

std::string_view exit_code_kind(ExitCode code)
{
  switch (code) {
  case ExitCode::ok: return "ok";
  case ExitCode::partial: return "partial";
  case ExitCode::usage: return "usage";
  case ExitCode::data: return "data";
  case ExitCode::no_input: return "no_input";
  case ExitCode::no_host: return "unknown_host";
  case ExitCode::unavailable: return "unavailable";
  case ExitCode::software: return "internal";
  case ExitCode::cant_create: return "cannot_create";
  case ExitCode::io: return "network";
  case ExitCode::temporary: return "temporary";
  case ExitCode::protocol: return "protocol";
  case ExitCode::permission: return "permission";
  case ExitCode::config: return "config";
  case ExitCode::hangup: return "interrupted";
  case ExitCode::interrupt: return "interrupted";
  case ExitCode::terminate: return "interrupted";
  case ExitCode::closed_pipe: return "closed_pipe";
  }
  return "internal";
}

}  // namespace mw
