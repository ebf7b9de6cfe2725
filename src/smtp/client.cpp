// SPDX-License-Identifier: Apache-2.0
#include "smtp/client.hpp"

#include "sasl/exchange.hpp"
#include "sasl/mechanism.hpp"
#include "util/base64.hpp"
#include "util/text.hpp"

#include <algorithm>

namespace mw::smtp {

namespace {

constexpr std::size_t k_buffer_size = 64 * 1024;
constexpr std::size_t k_write_chunk = 256 * 1024;

std::string reply_line(const Reply& reply)
{
  std::string line = std::to_string(reply.code);
  if (reply.enhanced.present()) {
    line += " " + reply.enhanced.text();
  }
  auto text = reply.text();
  if (!text.empty()) {
    line += " " + text;
  }
  return line;
}

}  // namespace

namespace {

// DATA must be answered with 354 (RFC 5321 section 4.1.1.4). A 2xx there means the replies
// are out of step with the commands (a reply nobody asked for), and taking it for the final
// one would report a message as sent that never was.
[[noreturn]] void throw_unexpected_data_reply(const Reply& reply)
{
  throw ProtocolError("the server answered DATA with " + describe(reply) +
                      " instead of 354: an unexpected reply, out of step with the commands; "
                      "the message was not sent");
}

}  // namespace

ExitCode exit_code_for(const Reply& reply, ExitCode permanent)
{
  return reply.transient() ? ExitCode::temporary : permanent;
}

std::string describe(const Reply& reply)
{
  return reply_line(reply);
}

Client::Client(net::Stream& stream, Transcript transcript)
    : m_channel(stream, std::move(transcript), k_buffer_size)
{
}

Reply Client::read_reply()
{
  m_channel.pace().start();
  for (;;) {
    std::size_t consumed = 0;
    auto reply = m_parser.feed(m_channel.buffered(), consumed);
    m_channel.consume(consumed);
    if (reply) {
      if (m_channel.transcribing()) {
        for (std::size_t i = 0; i < reply->lines.size(); ++i) {
          m_channel.note('<', std::to_string(reply->code) +
                                  (i + 1 < reply->lines.size() ? "-" : " ") + reply->lines[i]);
        }
        if (reply->lines.empty()) {
          m_channel.note('<', std::to_string(reply->code));
        }
      }
      return *reply;
    }
    m_channel.fill();
  }
}

void Client::expect_quiet(std::string_view next)
{
  // Every reply asked for has been read: a byte that has arrived by now answers no command,
  // and would be taken for the reply to the next one (and each later reply for the one before).
  if (!m_channel.quiet()) {
    // RFC 5321 section 3.8: a server may say 421 and close at any time, unasked.
    std::size_t consumed = 0;
    auto reply = m_parser.feed(m_channel.buffered(), consumed);
    if (reply && reply->code == 421) {
      throw Error(ExitCode::temporary, "the server ended the session: " + describe(*reply));
    }
    throw ProtocolError("the server sent a reply nobody asked for (before " + std::string(next) +
                        "); its replies are out of step with the commands");
  }
}

void Client::send_in_step(std::string_view line, std::string_view shown)
{
  // A SASL response is no command: name the exchange, never the (secret) line.
  expect_quiet(shown == "<redacted>"
                   ? std::string_view("an AUTH response")
                   : line.substr(0, std::min(line.find_first_of(" :\r"), line.size())));
  m_channel.send(line, shown);
}

Reply Client::read_greeting()
{
  auto reply = read_reply();
  if (reply.code != 220) {
    throw Error(exit_code_for(reply, ExitCode::unavailable),
                "the server is not available: " + describe(reply));
  }
  return reply;
}

const Extensions& Client::hello(std::string_view domain)
{
  send_in_step(m_lmtp ? lhlo(domain) : ehlo(domain));
  auto reply = read_reply();
  if (reply.code == 250) {
    m_extensions = Extensions::from_ehlo(reply);
    m_parser.set_enhanced(m_extensions.enhanced_status_codes);
    return m_extensions;
  }
  if (m_lmtp) {
    // RFC 2033 section 4.1: LMTP has no HELO; a server that refuses LHLO speaks no LMTP.
    throw Error(exit_code_for(reply, ExitCode::unavailable),
                "the server refused LHLO: " + describe(reply) + " (is this an LMTP server?)");
  }
  if (reply.transient() || reply.code == 554 || reply.code == 421) {
    throw Error(exit_code_for(reply, ExitCode::unavailable),
                "the server refused EHLO: " + describe(reply));
  }
  // RFC 5321 section 4.1.4: a server that does not know EHLO answers 500/502; try HELO.
  send_in_step(helo(domain));
  reply = read_reply();
  if (reply.code != 250) {
    throw Error(exit_code_for(reply, ExitCode::unavailable),
                "the server refused EHLO and HELO: " + describe(reply));
  }
  m_extensions = Extensions{};
  return m_extensions;
}

void Client::starttls()
{
  send_in_step(smtp::starttls());
  auto reply = read_reply();
  if (reply.code != 220) {
    throw Error(exit_code_for(reply, ExitCode::permission),
                "the server refused STARTTLS: " + describe(reply) + "; nothing else was sent");
  }
  // Bytes that arrived before the handshake could be an attacker's (CVE-2011-0411).
  if (!m_channel.quiet()) {
    throw ProtocolError("the server sent data after its STARTTLS reply, before TLS started; "
                        "closing the connection");
  }
  m_channel.stream().start_tls();
  m_extensions = Extensions{};
}

void Client::authenticate(sasl::Mechanism& mechanism)
{
  sasl::Exchange exchange(mechanism);
  const auto& name = exchange.name();
  auto initial = exchange.initial();
  // A server may quote what it was sent: neither the transcript nor an error may carry it on.
  m_channel.hide(exchange.secrets());
  if (initial) {
    send_in_step(smtp::auth(name, *initial), smtp::auth(name, "<redacted>"));
  } else {
    send_in_step(smtp::auth(name, std::nullopt));
  }
  for (;;) {
    auto reply = read_reply();
    if (reply.code == 235) {
      m_channel.hide({});
      exchange.succeed();
      return;
    }
    if (reply.code != 334) {
      auto code =
          reply.code == 454 || reply.transient() ? ExitCode::temporary : ExitCode::permission;
      throw Error(code, "authentication (" + name +
                            ") failed: " + text::redact(describe(reply), exchange.secrets()));
    }
    std::string response;
    try {
      response = exchange.respond(reply.lines.empty() ? "" : reply.lines.front());
    } catch (const Error&) {
      // RFC 4954 section 4: "*" cancels the exchange.
      m_channel.send(auth_response(sasl::Exchange::cancel_line()));
      read_reply();
      throw;
    }
    m_channel.hide(exchange.secrets());
    send_in_step(auth_response(response), "<redacted>");
  }
}

void Client::write_message(std::string_view message, Chunking chunking)
{
  // After 354 (or before BDAT) the server waits for the message: anything else it sent would
  // be taken for the final reply to the message.
  expect_quiet(chunking == Chunking::yes ? "BDAT" : "the message data");
  m_channel.note('>', "[" + std::to_string(message.size()) + " octets of message data]");
  if (chunking == Chunking::yes) {
    auto data = bdat_data(message);
    m_channel.send(bdat_last(data.size()));
    for (std::size_t offset = 0; offset < data.size(); offset += k_write_chunk) {
      m_channel.write(std::string_view(data).substr(offset, k_write_chunk));
    }
    return;
  }
  DataEncoder encoder;
  std::string out;
  for (std::size_t offset = 0; offset < message.size(); offset += k_write_chunk) {
    out.clear();
    encoder.encode(message.substr(offset, k_write_chunk), out);
    m_channel.write(out);
  }
  out.clear();
  encoder.finish(out);
  m_channel.write(out);
}

Transaction Client::send(std::string_view from, const MailParameters& parameters,
                         const std::vector<Recipient>& recipients, std::string_view message,
                         Chunking chunking)
{
  Transaction t;
  bool use_bdat = chunking == Chunking::yes && m_extensions.chunking;
  if (m_extensions.pipelining && m_allow_pipelining) {
    // RFC 2920 section 3.1: MAIL, every RCPT and DATA in one write; then the replies.
    std::vector<std::string> lines{mail_from(from, parameters)};
    for (const auto& r : recipients) {
      lines.push_back(rcpt_to(r.address, r.parameters));
    }
    if (!use_bdat) {
      lines.emplace_back(smtp::data());
    }
    std::string batch;
    for (const auto& line : lines) {
      // Each encoded line ends with CRLF; the transcript shows it without.
      m_channel.note('>', std::string_view(line).substr(0, line.size() - 2));
      batch += line;
    }
    expect_quiet("MAIL");
    m_channel.write(batch);
    t.mail = read_reply();
    std::size_t accepted = 0;
    for (std::size_t i = 0; i < recipients.size(); ++i) {
      t.recipients.push_back(read_reply());
      if (t.recipients.back().positive()) {
        ++accepted;
      }
    }
    if (use_bdat) {
      if (t.mail.positive() && accepted > 0) {
        write_message(message, Chunking::yes);
        read_outcome(t);
      }
      return t;
    }
    auto go_ahead = read_reply();
    if (go_ahead.code == 354) {
      if (t.mail.positive() && accepted > 0) {
        write_message(message, Chunking::no);
        read_outcome(t);
      } else {
        // RFC 2920 section 3.1: DATA was accepted although no recipient was; end it empty.
        // LMTP answers it once for each accepted recipient (RFC 2033 section 4.2).
        m_channel.send(end_of_data());
        for (auto due = m_lmtp ? accepted : 1; due > 0; --due) {
          read_reply();
        }
      }
    } else if (go_ahead.positive()) {
      throw_unexpected_data_reply(go_ahead);
    } else if (t.mail.positive() && accepted > 0) {
      t.data = go_ahead;
    }
    return t;
  }

  send_in_step(mail_from(from, parameters));
  t.mail = read_reply();
  if (!t.mail.positive()) {
    return t;
  }
  std::size_t accepted = 0;
  for (const auto& r : recipients) {
    send_in_step(rcpt_to(r.address, r.parameters));
    t.recipients.push_back(read_reply());
    if (t.recipients.back().positive()) {
      ++accepted;
    }
  }
  if (accepted == 0) {
    send_in_step(smtp::rset());
    read_reply();
    return t;
  }
  if (use_bdat) {
    write_message(message, Chunking::yes);
    read_outcome(t);
    return t;
  }
  send_in_step(smtp::data());
  auto go_ahead = read_reply();
  if (go_ahead.positive() && go_ahead.code != 354) {
    throw_unexpected_data_reply(go_ahead);
  }
  if (go_ahead.code != 354) {
    t.data = go_ahead;
    return t;
  }
  write_message(message, Chunking::no);
  read_outcome(t);
  return t;
}

void Client::read_outcome(Transaction& t)
{
  t.sent = true;
  if (!m_lmtp) {
    t.data = read_reply();
    return;
  }
  LmtpReplies replies(t.recipients);
  const auto due = replies.due();
  try {
    while (replies.due() > 0) {
      replies.take(read_reply());
    }
  } catch (const Error& e) {
    // Some recipients may have the message already: say how far the replies went.
    throw Error(e.code(), std::string(e.what()) + " (after " + std::to_string(due - replies.due()) +
                              " of the " + std::to_string(due) +
                              " LMTP replies to the message: the recipients answered before "
                              "then may have it)");
  }
  t.delivery = replies.replies();
}

Transaction Client::envelope(std::string_view from, const MailParameters& parameters,
                             const std::vector<Recipient>& recipients)
{
  Transaction t;
  send_in_step(mail_from(from, parameters));
  t.mail = read_reply();
  if (!t.mail.positive()) {
    return t;
  }
  for (const auto& r : recipients) {
    send_in_step(rcpt_to(r.address, r.parameters));
    t.recipients.push_back(read_reply());
  }
  return t;
}

Reply Client::typed(std::string_view line, std::string_view shown)
{
  if (line.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos) {
    throw UsageError("a command is one line, without control characters");
  }
  send_in_step(std::string(line) + "\r\n", shown);
  auto reply = read_reply();
  const auto verb = text::upper(line.substr(0, std::min(line.find(' '), line.size())));
  if (reply.code == 250 && verb == "EHLO") {
    m_extensions = Extensions::from_ehlo(reply);
    m_parser.set_enhanced(m_extensions.enhanced_status_codes);
  } else if (reply.code == 250 && verb == "HELO") {
    m_extensions = Extensions{};
    m_parser.set_enhanced(false);
  }
  return reply;
}

Reply Client::typed_message(std::string_view message)
{
  write_message(message, Chunking::no);
  return read_reply();
}

void Client::quit()
{
  send_in_step(smtp::quit());
  read_reply();
}

}  // namespace mw::smtp
