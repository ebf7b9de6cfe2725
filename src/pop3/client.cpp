// SPDX-License-Identifier: Apache-2.0
#include "pop3/client.hpp"

#include "sasl/exchange.hpp"
#include "sasl/mechanism.hpp"
#include "util/base64.hpp"
#include "util/digest.hpp"
#include "util/text.hpp"

#include <algorithm>
#include <cstring>
#include <deque>

namespace mw::pop3 {

namespace {

constexpr std::size_t k_buffer_size = 256 * 1024;
// Commands in flight when pipelining: bounded so that our writes always fit in the socket
// buffers while the server's replies wait to be read (no deadlock), large enough to hide
// round trips.
constexpr std::size_t k_window_commands = 1024;
constexpr std::size_t k_window_octets = 32 * 1024;

std::string describe(const Status& status)
{
  std::string text = status.text.empty() ? "(no text)" : status.text;
  if (!status.code.empty()) {
    text = "[" + status.code + "] " + text;
  }
  return text;
}

std::string status_line(const Status& status)
{
  std::string line = status.kind == Status::Kind::ok    ? "+OK"
                     : status.kind == Status::Kind::err ? "-ERR"
                                                        : "+";
  if (!status.code.empty()) {
    line += " [" + status.code + "]";
  }
  if (!status.text.empty()) {
    line += " " + status.text;
  }
  return line;
}

}  // namespace

ExitCode exit_code_for(const Status& status, ExitCode otherwise)
{
  const auto& code = status.code;
  if (code == "IN-USE" || code == "LOGIN-DELAY" || code == "SYS/TEMP") {
    return ExitCode::temporary;
  }
  if (code == "SYS/PERM") {
    return ExitCode::unavailable;
  }
  if (code == "AUTH") {
    return ExitCode::permission;
  }
  return otherwise;
}

Client::Client(net::Stream& stream, Transcript transcript)
    : m_channel(stream, std::move(transcript), k_buffer_size)
{
}

Status Client::read_reply(ReplyShape shape, LineEnding ending,
                          const std::function<void(std::string_view)>& on_data,
                          const std::function<void(const Status&)>& on_status)
{
  m_parser.start(shape, ending);
  m_channel.pace().start();
  std::uint64_t octets = 0;
  // The parser gives body bytes as views into the read buffer, one or two a line, in order.
  // They are moved together in place (each lands at or before where it was) and handed on as
  // one chunk per read from the server: no copy, and no call per line.
  const auto storage = m_channel.storage();
  char* run = nullptr;
  std::size_t run_size = 0;
  auto hand_on = [&] {
    if (run_size > 0) {
      on_data({run, run_size});
    }
    run = nullptr;
    run_size = 0;
  };
  for (;;) {
    std::size_t consumed = 0;
    auto event = m_parser.feed(m_channel.buffered(), consumed);
    m_channel.consume(consumed);
    switch (event.type) {
    case ReplyParser::Event::Type::need_more:
      hand_on();  // fill() may move what is in the buffer
      m_channel.fill();
      break;
    case ReplyParser::Event::Type::status:
      m_channel.pace().first_line_done();
      if (m_channel.transcribing()) {
        m_channel.note('<', status_line(m_parser.status()));
      }
      if (on_status) {
        on_status(m_parser.status());
      }
      break;
    case ReplyParser::Event::Type::data: {
      octets += event.data.size();
      const char* begin = storage.data();
      if (std::less<>{}(event.data.data(), begin) ||
          !std::less<>{}(event.data.data(), begin + storage.size())) {
        // Not in the buffer (a CR the parser held back): handed on by itself, in order.
        hand_on();
        on_data(event.data);
        break;
      }
      char* bytes = storage.data() + (event.data.data() - begin);
      if (run == nullptr) {
        run = bytes;
      } else if (run + run_size != bytes) {
        std::memmove(run + run_size, bytes, event.data.size());
      }
      run_size += event.data.size();
      break;
    }
    case ReplyParser::Event::Type::end:
      hand_on();
      if (m_channel.transcribing() && shape == ReplyShape::multi_line && m_parser.status().ok()) {
        m_channel.note('<', "[" + std::to_string(octets) + " octets] .");
      }
      return m_parser.status();
    }
  }
}

void Client::expect_quiet(std::string_view next)
{
  // In lock-step every reply has been read when the next command goes out: a byte that has
  // arrived by then answers no command, and would be taken for the reply to this one (and
  // every later reply for the one before it: +OK to DELE for +OK to QUIT).
  if (!m_channel.quiet()) {
    throw ProtocolError("the server sent a reply nobody asked for (before " + std::string(next) +
                        "); its replies are out of step with the commands, so nothing is "
                        "committed");
  }
}

void Client::send_in_step(std::string_view line, std::string_view shown)
{
  auto verb = line.substr(0, std::min(line.find_first_of(" \r"), line.size()));
  // A SASL response is no command: name the exchange, never the (secret) line.
  expect_quiet(shown == "<redacted>" ? std::string_view("an AUTH response") : verb);
  m_channel.send(line, shown);
}

Status Client::read_status(ReplyShape shape)
{
  return read_reply(shape, LineEnding::crlf, [](std::string_view) {});
}

void Client::read_greeting()
{
  auto status = read_status();
  if (!status.ok()) {
    throw Error(exit_code_for(status, ExitCode::unavailable),
                "the server is not available: " + describe(status));
  }
  m_greeting = status.text;
}

const Capabilities& Client::capa()
{
  send_in_step(command("CAPA"));
  Capabilities caps;
  LineSplitter splitter;
  std::size_t octets = 0;
  auto status = read_reply(ReplyShape::multi_line, LineEnding::crlf, [&](std::string_view data) {
    splitter.feed(data, [&](std::string_view line) {
      // A real list is a few hundred octets; the SASL names of an endless one would pile up.
      octets += line.size() + 2;
      if (octets > k_max_capa_octets) {
        throw ProtocolError("the server's CAPA reply is longer than " +
                            std::to_string(k_max_capa_octets / 1024) + " KiB");
      }
      m_channel.note('<', line);
      caps.add_line(line);
    });
  });
  caps.known = status.ok();
  m_capabilities = std::move(caps);
  return m_capabilities;
}

void Client::stls()
{
  send_in_step(command("STLS"));
  auto status = read_status();
  if (!status.ok()) {
    throw Error(ExitCode::permission,
                "the server refused STLS: " + describe(status) + "; no password was sent");
  }
  // Anything the server sent after its +OK arrived before encryption and could have been
  // injected by an attacker (RFC 2595 section 4, CVE-2011-0411); refuse it.
  if (!m_channel.quiet()) {
    throw ProtocolError("the server sent data after its STLS reply, before TLS started; "
                        "closing the connection");
  }
  m_channel.stream().start_tls();
}

[[noreturn]] void Client::fail_login(const Status& status, std::string_view how,
                                     const std::vector<std::string>& secrets)
{
  // A server may quote what it was sent; what it says must not carry the password on.
  auto said = text::redact(describe(status), secrets);
  bool about_credentials = status.code.empty() || status.code == "AUTH";
  throw Error(exit_code_for(status, ExitCode::permission),
              (about_credentials ? "authentication (" + std::string(how) + ") failed: "
                                 : "the server refused the login (" + std::string(how) + "): ") +
                  said);
}

void Client::login_user(const std::string& user, const Secret& password)
{
  send_in_step(command("USER", user));
  auto status = read_status();
  if (!status.ok()) {
    fail_login(status, "USER", {});
  }
  m_channel.hide({password.reveal()});
  send_in_step(command("PASS", password.reveal()), "PASS <redacted>");
  status = read_status();
  if (!status.ok()) {
    fail_login(status, "USER/PASS", {password.reveal()});
  }
  m_channel.hide({});
}

void Client::login_apop(const std::string& user, const Secret& password)
{
  auto timestamp = apop_timestamp(m_greeting);
  if (!timestamp) {
    throw Error(ExitCode::permission,
                "the server does not offer APOP (its greeting has no timestamp)");
  }
  auto digest = digest::apop(*timestamp, password.reveal());
  send_in_step(command("APOP", user + " " + digest), "APOP " + user + " <redacted>");
  auto status = read_status();
  if (!status.ok()) {
    fail_login(status, "APOP", {password.reveal(), digest});
  }
}

void Client::login_sasl(sasl::Mechanism& mechanism)
{
  sasl::Exchange exchange(mechanism);
  const auto& name = exchange.name();
  auto initial = exchange.initial();
  // A server may quote what it was sent: neither the transcript nor an error may carry it on.
  m_channel.hide(exchange.secrets());
  // RFC 5034 section 4: an AUTH command longer than 255 octets must not carry the initial
  // response; the mechanism then answers the server's empty challenge with it.
  if (initial && name.size() + initial->size() + 7 <= 255) {
    send_in_step(command("AUTH", name + " " + *initial), "AUTH " + name + " <redacted>");
  } else {
    send_in_step(command("AUTH", name));
  }
  for (;;) {
    auto status = read_status(ReplyShape::sasl);
    if (status.ok()) {
      m_channel.hide({});
      // POP3 has no success data (RFC 5034): a SCRAM server signature came as a challenge.
      exchange.succeed();
      return;
    }
    if (status.kind == Status::Kind::err) {
      fail_login(status, name, exchange.secrets());
    }
    std::string response;
    try {
      response = exchange.respond(status.text);
    } catch (const Error&) {
      // Cancel the exchange (RFC 5034 section 4) before reporting the problem.
      m_channel.send(command(sasl::Exchange::cancel_line()));
      read_status(ReplyShape::sasl);
      throw;
    }
    m_channel.hide(exchange.secrets());
    send_in_step(response + "\r\n", "<redacted>");
  }
}

Maildrop Client::stat()
{
  send_in_step(command("STAT"));
  auto status = read_status();
  if (!status.ok()) {
    throw Error(exit_code_for(status, ExitCode::protocol),
                "the server refused STAT: " + describe(status));
  }
  return parse_stat(status.text);
}

namespace {

void check_rows(std::string_view command, std::size_t rows)
{
  if (rows >= k_max_listing_rows) {
    throw ProtocolError("the server's " + std::string(command) + " reply has more than " +
                        std::to_string(k_max_listing_rows) + " rows");
  }
}

}  // namespace

void Client::read_list(const std::function<void(const ScanListing&)>& row)
{
  send_in_step(command("LIST"));
  // Parsed row by row, at most k_max_listing_rows of them.
  std::size_t rows = 0;
  LineSplitter splitter;
  auto status = read_reply(ReplyShape::multi_line, LineEnding::crlf, [&](std::string_view data) {
    splitter.feed(data, [&](std::string_view line) {
      check_rows("LIST", rows++);
      row(parse_scan_listing(line));
    });
  });
  if (!status.ok()) {
    throw Error(exit_code_for(status, ExitCode::protocol),
                "the server refused LIST: " + describe(status));
  }
}

bool Client::read_uidl(const std::function<void(const UniqueId&)>& row)
{
  if (m_capabilities.known && !m_capabilities.uidl) {
    return false;
  }
  send_in_step(command("UIDL"));
  std::size_t rows = 0;
  std::size_t octets = 0;
  LineSplitter splitter;
  auto status = read_reply(ReplyShape::multi_line, LineEnding::crlf, [&](std::string_view data) {
    splitter.feed(data, [&](std::string_view line) {
      check_rows("UIDL", rows++);
      auto id = parse_unique_id(line);
      octets += id.uid.size();
      if (octets > k_max_uidl_octets) {
        throw ProtocolError("the server's UIDL reply has more than " +
                            std::to_string(k_max_uidl_octets / (1024 * 1024)) + " MiB of UIDs");
      }
      row(id);
    });
  });
  if (!status.ok()) {
    if (!status.code.empty()) {
      throw Error(exit_code_for(status, ExitCode::protocol),
                  "the server refused UIDL: " + describe(status));
    }
    return false;
  }
  return true;
}

std::vector<ScanListing> Client::list()
{
  std::vector<ScanListing> listings;
  read_list([&](const ScanListing& row) { listings.push_back(row); });
  return listings;
}

std::optional<std::vector<UniqueId>> Client::uidl()
{
  std::vector<UniqueId> ids;
  if (!read_uidl([&](const UniqueId& id) { ids.push_back(id); })) {
    return std::nullopt;
  }
  return ids;
}

Listing Client::listing(const std::function<void(std::string_view, std::size_t)>& rows)
{
  Listing listing;
  read_list([&](const ScanListing& row) {
    listing.add_listing(row);
    if (rows) {
      rows("LIST", listing.size());
    }
  });
  std::size_t uids = 0;
  if (read_uidl([&](const UniqueId& id) {
        listing.add_uid(id.number, id.uid);
        if (rows) {
          rows("UIDL", ++uids);
        }
      })) {
    listing.set_has_uids();
  }
  return listing;
}

Requests::Requests(Client& client) : m_dispatch(*this), m_pipeline(client, m_dispatch) {}

void Requests::add(std::string command, ReplyShape shape, LineEnding ending, Reply reply,
                   std::string shown)
{
  const std::size_t tag = m_next_tag++;
  m_replies.emplace(tag, std::move(reply));
  m_pipeline.push(std::move(command), shape, ending, tag, std::move(shown));
}

void Requests::top(std::uint64_t number, std::uint64_t lines, Reply reply)
{
  add(command("TOP", number, lines), ReplyShape::multi_line, LineEnding::lf, std::move(reply));
}

void Requests::retr(std::uint64_t number, LineEnding ending, Reply reply)
{
  add(command("RETR", number), ReplyShape::multi_line, ending, std::move(reply));
}

void Requests::dele(std::uint64_t number, std::function<void(const Status&)> done)
{
  add(command("DELE", number), ReplyShape::single, LineEnding::crlf, {std::move(done), {}, {}});
}

void Requests::uidl(std::uint64_t number,
                    std::function<void(const Status&, std::optional<UniqueId>)> done)
{
  add(command("UIDL", number), ReplyShape::single, LineEnding::crlf,
      {[done = std::move(done)](const Status& status) {
         done(status, status.ok() ? std::optional(parse_unique_id(status.text)) : std::nullopt);
       },
       {},
       {}});
}

void Requests::rset(std::function<void(const Status&)> done)
{
  add(command("RSET"), ReplyShape::single, LineEnding::crlf, {std::move(done), {}, {}});
}

void Requests::noop(std::function<void(const Status&)> done)
{
  add(command("NOOP"), ReplyShape::single, LineEnding::crlf, {std::move(done), {}, {}});
}

void Requests::typed(std::string_view line, ReplyShape shape, Reply reply, std::string shown)
{
  if (line.find_first_of("\r\n") != std::string_view::npos) {
    throw UsageError("a command is one line");
  }
  add(std::string(line) + "\r\n", shape, LineEnding::lf, std::move(reply), std::move(shown));
}

void Requests::run()
{
  do {
    // Topped up before each step: the pipeline's check for replies nobody asked for sees every
    // request that is still to come.
    while (m_feed && m_pipeline.queued() < k_window_commands) {
      if (!m_feed()) {
        m_feed = nullptr;
      }
    }
  } while (m_pipeline.step());
}

void Requests::Dispatch::on_status(std::size_t tag, const Status& status)
{
  if (const auto& f = m_requests.m_replies.at(tag).status) {
    f(status);
  }
}

void Requests::Dispatch::on_data(std::size_t tag, std::string_view data)
{
  if (const auto& f = m_requests.m_replies.at(tag).data) {
    f(data);
  }
}

void Requests::Dispatch::on_end(std::size_t tag)
{
  // By key, not by iterator: the callback may add requests, and a rehash moves iterators
  // (never the elements).
  if (const auto& f = m_requests.m_replies.at(tag).end) {
    f();
  }
  m_requests.m_replies.erase(tag);
}

Pipeline::Pipeline(Client& client, ReplySink& sink) : m_client(client), m_sink(sink) {}

void Pipeline::push(std::string command, ReplyShape shape, LineEnding ending, std::size_t tag,
                    std::string shown)
{
  m_queued.push_back({std::move(command), shape, ending, tag, std::move(shown)});
}

bool Pipeline::step()
{
  if (m_in_flight.empty() && m_queued.empty()) {
    return false;
  }
  // Refill the window in one write once it is half empty, so that writes are large and the
  // server always has commands queued.
  const bool pipelined = m_client.pipelining();
  bool refill = m_in_flight.empty() || (pipelined && m_in_flight.size() <= k_window_commands / 2 &&
                                        m_in_flight_octets <= k_window_octets / 2);
  m_batch.clear();
  if (m_in_flight.empty()) {
    // Every reply asked for so far has been read (always so in lock-step).
    m_client.expect_quiet(std::string_view(m_queued.front().command)
                              .substr(0, m_queued.front().command.find_first_of(" \r")));
  }
  while (refill && !m_queued.empty() &&
         (m_in_flight.empty() ||
          (pipelined && m_in_flight.size() < k_window_commands &&
           m_in_flight_octets + m_queued.front().command.size() <= k_window_octets))) {
    auto& request = m_queued.front();
    m_client.m_channel.note(
        '>', request.shown.empty()
                 ? std::string_view(request.command).substr(0, request.command.size() - 2)
                 : std::string_view(request.shown));
    m_batch += request.command;
    m_in_flight_octets += request.command.size();
    m_in_flight.push_back(std::move(request));
    m_queued.pop_front();
  }
  if (!m_batch.empty()) {
    m_client.m_channel.write(m_batch);
  }
  auto request = std::move(m_in_flight.front());
  m_in_flight.pop_front();
  m_in_flight_octets -= request.command.size();
  auto tag = request.tag;
  m_client.read_reply(
      request.shape, request.ending, [&](std::string_view data) { m_sink.on_data(tag, data); },
      [&](const Status& status) { m_sink.on_status(tag, status); });
  // With nothing left in flight, nothing may be left over: bytes here are replies to commands
  // never sent, and this reply may have been taken for another one. Checked before the sink
  // sees the end of the reply, so that nothing from it is kept.
  if (m_in_flight.empty() && m_queued.empty() && !m_client.m_channel.buffered().empty()) {
    throw ProtocolError("the server sent more replies than it was asked for; its replies are "
                        "out of step with the commands, so nothing is committed");
  }
  m_sink.on_end(tag);
  return true;
}

void Pipeline::run()
{
  while (step()) {
  }
}

Status Client::quit()
{
  // A reply waiting before QUIT was sent answers nothing we asked: the session is out of step,
  // and QUIT would commit deletions chosen from misread replies.
  if (!m_channel.quiet()) {
    throw ProtocolError("the server sent a reply nobody asked for; its replies are out of step "
                        "with the commands, so QUIT was not sent and nothing is deleted");
  }
  m_channel.send(command("QUIT"));
  auto status = read_status();
  // More after the reply to QUIT: what we took for it answered an earlier command.
  if (!m_channel.buffered().empty()) {
    throw ProtocolError("the server sent more than its reply to QUIT; its replies were out of "
                        "step with the commands");
  }
  return status;
}

}  // namespace mw::pop3
