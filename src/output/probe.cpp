// SPDX-License-Identifier: Apache-2.0
#include "output/probe.hpp"

#include "output/render.hpp"
#include "util/text.hpp"

namespace mw::output {

namespace {

// accepted, deferred (4yz: may be tried again later) or rejected.
std::string_view verdict(bool accepted, const SmtpOutcome& reply)
{
  return accepted ? "accepted" : reply.code >= 400 && reply.code < 500 ? "deferred" : "rejected";
}

void write_reply(const SmtpOutcome& reply, std::ostream& out)
{
  out << reply.code;
  if (!reply.enhanced.empty()) {
    out << " " << reply.enhanced;
  }
  // What a server says must not control the terminal.
  out << " " << text::one_line(reply.text) << "\n";
}

}  // namespace

void render_plain(const ProbeResult& result, std::ostream& out)
{
  out << "greeting ";
  write_reply(result.greeting, out);
  if (result.hello || !result.tls.empty()) {
    out << "tls " << (result.tls.empty() ? "none" : result.tls) << "\n";
  }
  if (!result.auth_mechanism.empty()) {
    out << "auth " << text::one_line(result.auth_user) << " " << result.auth_mechanism << "\n";
  }
  if (result.mail) {
    out << "sender " << verdict(result.mail->code < 400, *result.mail) << " "
        << text::one_line(result.from) << " ";
    write_reply(*result.mail, out);
  }
  for (const auto& r : result.recipients) {
    out << verdict(r.accepted, r.reply) << " " << text::one_line(r.address) << " ";
    write_reply(r.reply, out);
  }
  out << "quit after " << result.quit_after << ": no message was sent\n";
}

nlohmann::json to_json(const ProbeResult& result)
{
  const std::size_t accepted = accepted_count(result.recipients);
  nlohmann::json doc = {{"quit_after", result.quit_after},
                        {"protocol", result.lmtp ? "lmtp" : "smtp"},
                        {"greeting", to_json(result.greeting)},
                        {"recipients", to_json(result.recipients)},
                        {"accepted", accepted},
                        {"rejected", result.recipients.size() - accepted},
                        {"sent", false}};
  doc["tls"] = result.tls.empty() ? nlohmann::json(nullptr) : nlohmann::json(result.tls);
  doc["auth"] =
      result.auth_mechanism.empty()
          ? nlohmann::json(nullptr)
          : nlohmann::json{{"user", result.auth_user}, {"mechanism", result.auth_mechanism}};
  doc["from"] = result.mail ? nlohmann::json(result.from) : nlohmann::json(nullptr);
  doc["mail"] = result.mail ? to_json(*result.mail) : nlohmann::json(nullptr);
  return doc;
}

}  // namespace mw::output
