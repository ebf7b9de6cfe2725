// SPDX-License-Identifier: Apache-2.0
#include "output/check_report.hpp"

#include "output/render.hpp"
#include "util/text.hpp"

#include <algorithm>
#include <set>

namespace mw::output {

mail::Severity CheckedMessage::worst() const
{
  const bool error = std::any_of(problems.begin(), problems.end(), [](const mail::Finding& f) {
    return f.severity == mail::Severity::error;
  });
  return error ? mail::Severity::error : mail::Severity::warning;
}

void render_plain(const CheckResult& result, std::ostream& out, bool verbose)
{
  for (const auto& m : result.messages) {
    // The codes once each, in the order found.
    std::vector<std::string> codes;
    for (const auto& p : m.problems) {
      if (std::find(codes.begin(), codes.end(), p.code) == codes.end()) {
        codes.push_back(p.code);
      }
    }
    std::string joined;
    for (const auto& c : codes) {
      joined += (joined.empty() ? "" : ",") + c;
    }
    out << m.number << "  " << (m.uid.empty() ? "-" : text::one_line(m.uid)) << "  "
        << human_size(m.octets) << "  " << mail::to_string(m.worst()) << "  " << joined;
    if (!m.from.empty() || !m.subject.empty()) {
      out << "  " << text::one_line(m.from) << "  " << text::one_line(m.subject);
    }
    out << '\n';
    if (verbose) {
      for (const auto& p : m.problems) {
        out << "    " << mail::to_string(p.severity) << " " << p.code << " ("
            << text::one_line(p.where) << "): " << text::one_line(p.detail) << '\n';
      }
    }
  }
  out << result.checked << (result.checked == 1 ? " message" : " messages")
      << " checked: " << result.with_errors << " with errors, " << result.with_warnings
      << " with warnings only";
  if (result.reconnects > 0) {
    out << " (the session was reopened " << result.reconnects
        << (result.reconnects == 1 ? " time" : " times") << ")";
  }
  out << '\n';
}

nlohmann::json to_json(const CheckResult& result)
{
  auto messages = nlohmann::json::array();
  for (const auto& m : result.messages) {
    auto problems = nlohmann::json::array();
    for (const auto& p : m.problems) {
      problems.push_back({{"code", p.code},
                          {"severity", std::string(mail::to_string(p.severity))},
                          {"detail", p.detail},
                          {"where", p.where}});
    }
    messages.push_back(
        {{"number", m.number}, {"uid", m.uid}, {"size", m.octets}, {"problems", problems}});
  }
  return {{"messages", messages},
          {"checked", result.checked},
          {"with_errors", result.with_errors},
          {"with_warnings", result.with_warnings}};
}

}  // namespace mw::output
