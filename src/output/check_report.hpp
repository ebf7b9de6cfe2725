// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "mail/check.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace mw::output {

// One message `check` looked at, and what it found (mail::MessageChecker's findings, and what
// went wrong while the server sent it).
struct CheckedMessage {
  std::uint64_t number = 0;
  std::string uid;
  std::uint64_t octets = 0;  // as LIST said
  std::string from;          // decoded, when its header section was read
  std::string subject;
  std::vector<mail::Finding> problems;

  // The worst severity of its problems (warning when it has none).
  mail::Severity worst() const;
  bool has_errors() const { return !problems.empty() && worst() == mail::Severity::error; }
};

// The result of `check`.
struct CheckResult {
  std::vector<CheckedMessage> messages;  // those with problems, in mailbox order
  std::uint64_t checked = 0;             // messages looked at (with problems or not)
  std::uint64_t with_errors = 0;
  std::uint64_t with_warnings = 0;  // with warnings and no error
  std::uint64_t reconnects = 0;     // sessions reopened after one ended inside a message
};

// A row per message with problems (number, UID, size, worst severity, codes, From, Subject),
// every finding's detail under it when `verbose`, then a summary line.
void render_plain(const CheckResult& result, std::ostream& out, bool verbose);

// {"messages": [{"number", "uid", "size", "problems": [{"code", "severity", "detail",
// "where"}]}], "checked", "with_errors", "with_warnings"} (mailwrench(1), CHECK).
nlohmann::json to_json(const CheckResult& result);

}  // namespace mw::output
