// SPDX-License-Identifier: Apache-2.0
#include "output/run_log.hpp"

#include "util/text.hpp"

#include <ctime>

namespace mw::output {

namespace {

std::string or_dash(std::string_view s)
{
  return s.empty() ? std::string("-") : text::one_line(s);
}

}  // namespace

std::string identity_text(const RunIdentity& who)
{
  std::string out = or_dash(who.command);
  out += " account=" + or_dash(who.account);
  out += " user=" + or_dash(who.user);
  if (who.host.empty()) {
    out += " server=-";
  } else {
    const bool v6 = who.host.find(':') != std::string::npos;
    out += " server=" + (v6 ? "[" + text::one_line(who.host) + "]" : text::one_line(who.host));
    out += ":" + std::to_string(who.port);
  }
  return out;
}

std::string log_text(std::string_view line, const std::vector<std::string>& secrets)
{
  return text::one_line(text::redact(std::string(line), secrets));
}

std::string run_text(const RunIdentity& who, int exit_code, std::string_view summary,
                     const std::vector<std::string>& secrets)
{
  std::string out = identity_text(who) + ": exit " + std::to_string(exit_code);
  if (!summary.empty()) {
    out += ": " + std::string(summary);
  }
  return log_text(out, secrets);
}

std::string failure_text(const RunIdentity& who, std::string_view level, std::string_view message,
                         const std::vector<std::string>& secrets)
{
  return log_text(identity_text(who) + ": " + std::string(level) + ": " + std::string(message),
                  secrets);
}

std::string iso8601_utc(std::chrono::system_clock::time_point when)
{
  const std::time_t t = std::chrono::system_clock::to_time_t(when);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string file_line(std::chrono::system_clock::time_point when, long pid, std::string_view line)
{
  return iso8601_utc(when) + " mailwrench[" + std::to_string(pid) + "]: " + text::one_line(line) +
         "\n";
}

}  // namespace mw::output
