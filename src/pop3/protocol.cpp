// SPDX-License-Identifier: Apache-2.0
#include "pop3/protocol.hpp"

#include "util/error.hpp"
#include "util/text.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace mw::pop3 {

namespace {

using text::printable;
using text::trim;
using text::upper;

constexpr std::string_view k_cr = "\r";

// Reads an unsigned decimal number at the front of s and removes it; nullopt if none or
// if it does not fit in 64 bits.
std::optional<std::uint64_t> take_number(std::string_view& s)
{
  std::uint64_t value = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || ptr == s.data()) {
    return std::nullopt;
  }
  s.remove_prefix(static_cast<std::size_t>(ptr - s.data()));
  return value;
}

void check_argument(std::string_view argument)
{
  if (argument.find_first_of("\r\n") != std::string_view::npos) {
    throw UsageError("a POP3 command argument must not contain a line break");
  }
}

}  // namespace

Status parse_status(std::string_view line, bool allow_continuation)
{
  Status status;
  std::string_view rest;
  if (line.starts_with("+OK")) {
    status.kind = Status::Kind::ok;
    rest = line.substr(3);
  } else if (line.starts_with("-ERR")) {
    status.kind = Status::Kind::err;
    rest = line.substr(4);
  } else if (allow_continuation && line.starts_with("+") && (line.size() == 1 || line[1] == ' ')) {
    status.kind = Status::Kind::continuation;
    status.text = std::string(trim(line.substr(1)));
    return status;
  } else {
    throw ProtocolError("unexpected reply from the server: '" + printable(line) + "'");
  }
  // "+OKAY" is not a status indicator; the indicator is followed by a space or the end.
  if (!rest.empty() && rest.front() != ' ' && rest.front() != '\t') {
    throw ProtocolError("unexpected reply from the server: '" + printable(line) + "'");
  }
  rest = trim(rest);
  // RFC 2449 section 8: a response code is an atom in brackets at the start of the text.
  if (rest.starts_with("[")) {
    auto close = rest.find(']');
    if (close != std::string_view::npos) {
      status.code = upper(rest.substr(1, close - 1));
      rest = trim(rest.substr(close + 1));
    }
  }
  status.text = std::string(rest);
  return status;
}

void ReplyParser::start(ReplyShape shape, LineEnding ending)
{
  m_shape = shape;
  m_ending = ending;
  m_line.clear();
  m_status = Status{};
  m_state = State::status_line;
}

ReplyParser::Event ReplyParser::feed_status(std::string_view input, std::size_t& consumed)
{
  auto nl = input.find('\n');
  auto piece = input.substr(0, nl);
  if (m_line.size() + piece.size() > k_max_line) {
    throw ProtocolError("the server sent a reply line longer than " + std::to_string(k_max_line) +
                        " octets");
  }
  m_line.append(piece);
  if (nl == std::string_view::npos) {
    consumed = input.size();
    return {};
  }
  consumed = nl + 1;
  if (!m_line.empty() && m_line.back() == '\r') {
    m_line.pop_back();
  }
  m_status = parse_status(m_line, m_shape == ReplyShape::sasl);
  m_line.clear();
  m_state =
      (m_shape == ReplyShape::multi_line && m_status.ok()) ? State::line_start : State::finished;
  return {Event::Type::status, {}};
}

ReplyParser::Event ReplyParser::feed(std::string_view input, std::size_t& consumed)
{
  consumed = 0;
  if (m_state == State::finished) {
    m_state = State::idle;
    return {Event::Type::end, {}};
  }
  if (m_state == State::idle) {
    return {};
  }
  if (m_state == State::status_line) {
    return feed_status(input, consumed);
  }

  std::size_t i = 0;
  const std::size_t n = input.size();
  // Moves to `next` with the input consumed up to `end`, and reports `event`.
  const auto step = [&](State next, std::size_t end, Event event) {
    m_state = next;
    consumed = end;
    return event;
  };
  while (i < n) {
    char c = input[i];
    switch (m_state) {
    case State::line_start:
      if (c == '.') {
        m_state = State::dot;
        ++i;
      } else {
        m_state = State::in_line;
      }
      break;

    case State::dot:
      if (c == '\r') {
        m_state = State::dot_cr;
        ++i;
      } else if (c == '\n') {
        // ".\n": a terminator from a server that sends bare LF; accept it.
        return step(State::idle, i + 1, {Event::Type::end, {}});
      } else {
        // A byte-stuffed line: the leading dot is dropped (RFC 1939 section 3).
        m_state = State::in_line;
      }
      break;

    case State::dot_cr:
      if (c == '\n') {
        return step(State::idle, i + 1, {Event::Type::end, {}});
      }
      // ".\r" not followed by LF: the line was a stuffed dot and a lone CR.
      return step(State::in_line, i, {Event::Type::data, k_cr});

    case State::cr:
      if (c == '\n') {
        // CRLF → LF: the held-back CR is dropped, the LF is emitted with the next run.
        m_state = State::in_line;
        break;
      }
      return step(State::in_line, i, {Event::Type::data, k_cr});

    case State::in_line: {
      if (m_ending == LineEnding::lf) {
        // The first CR or LF, with two memchr scans (find_first_of calls memchr once per
        // byte): the next LF, then a CR before it.
        auto lf = input.find('\n', i);
        auto limit = lf == std::string_view::npos ? n : lf;
        auto cr = input.substr(0, limit).find('\r', i);
        if (cr == std::string_view::npos) {
          if (lf == std::string_view::npos) {
            consumed = n;
            return {Event::Type::data, input.substr(i)};
          }
          return step(State::line_start, lf + 1, {Event::Type::data, input.substr(i, lf + 1 - i)});
        }
        m_state = State::cr;
        consumed = cr + 1;
        if (cr > i) {
          return {Event::Type::data, input.substr(i, cr - i)};
        }
        i = cr + 1;
        break;
      }
      // CRLF kept: emit everything up to the next line that starts with a dot (or the end
      // of the input) in one chunk.
      auto j = input.find('\n', i);
      while (j != std::string_view::npos && j + 1 < n && input[j + 1] != '.') {
        j = input.find('\n', j + 1);
      }
      if (j == std::string_view::npos) {
        consumed = n;
        return {Event::Type::data, input.substr(i)};
      }
      return step(State::line_start, j + 1, {Event::Type::data, input.substr(i, j + 1 - i)});
    }

    case State::idle:
    case State::status_line:
    case State::finished: break;
    }
  }
  consumed = n;
  return {};
}

void LineSplitter::append(std::string_view piece)
{
  if (m_line.size() + piece.size() > k_max_line) {
    throw ProtocolError("the server sent a reply line longer than " + std::to_string(k_max_line) +
                        " octets");
  }
  m_line.append(piece);
}

std::string_view LineSplitter::finish_line()
{
  m_done.swap(m_line);
  m_line.clear();
  if (!m_done.empty() && m_done.back() == '\r') {
    m_done.pop_back();
  }
  return m_done;
}

void Capabilities::add_line(std::string_view line)
{
  // The tags that only say "offered" (RFC 2449 section 6, RFC 2595 STLS, RFC 3206
  // AUTH-RESP-CODE, RFC 6856 UTF8).
  static constexpr std::pair<std::string_view, bool Capabilities::*> k_flags[] = {
      {"TOP", &Capabilities::top},
      {"UIDL", &Capabilities::uidl},
      {"USER", &Capabilities::user},
      {"STLS", &Capabilities::stls},
      {"PIPELINING", &Capabilities::pipelining},
      {"RESP-CODES", &Capabilities::resp_codes},
      {"AUTH-RESP-CODE", &Capabilities::auth_resp_code},
      {"UTF8", &Capabilities::utf8},
  };
  line = trim(line);
  lines.emplace_back(line);
  auto space = line.find(' ');
  auto name = upper(line.substr(0, space));
  auto args = space == std::string_view::npos ? std::string_view{} : trim(line.substr(space + 1));
  const auto* flag = std::find_if(std::begin(k_flags), std::end(k_flags),
                                  [&](const auto& row) { return row.first == name; });
  if (flag != std::end(k_flags)) {
    this->*(flag->second) = true;
  } else if (name == "IMPLEMENTATION") {
    implementation = std::string(args);
  } else if (name == "SASL") {
    while (!args.empty()) {
      auto sp = args.find(' ');
      auto mech = args.substr(0, sp);
      if (!mech.empty()) {
        sasl.push_back(upper(mech));
      }
      args = sp == std::string_view::npos ? std::string_view{} : trim(args.substr(sp + 1));
    }
  }
}

Maildrop parse_stat(std::string_view text)
{
  auto rest = trim(text);
  auto messages = take_number(rest);
  rest = trim(rest);
  auto octets = take_number(rest);
  if (!messages || !octets) {
    throw ProtocolError("malformed STAT reply: '" + printable(text) + "'");
  }
  return {*messages, *octets};
}

ScanListing parse_scan_listing(std::string_view line)
{
  auto rest = trim(line);
  auto number = take_number(rest);
  rest = trim(rest);
  auto octets = take_number(rest);
  if (!number || !octets || *number == 0) {
    throw ProtocolError("malformed LIST reply: '" + printable(line) + "'");
  }
  return {*number, *octets};
}

UniqueId parse_unique_id(std::string_view line)
{
  auto rest = trim(line);
  auto number = take_number(rest);
  if (!number || *number == 0 || rest.empty() || (rest.front() != ' ' && rest.front() != '\t')) {
    throw ProtocolError("malformed UIDL reply: '" + printable(line) + "'");
  }
  rest = trim(rest);
  // The UID is the next word; RFC 1939 forbids spaces in it, so anything after is ignored.
  auto uid = rest.substr(0, rest.find_first_of(" \t"));
  bool valid = !uid.empty() && std::all_of(uid.begin(), uid.end(), [](char c) {
    return static_cast<unsigned char>(c) > 0x20 && c != 0x7f;
  });
  if (!valid) {
    throw ProtocolError("malformed UIDL reply: '" + printable(line) + "'");
  }
  return {*number, std::string(uid)};
}

std::optional<std::string> apop_timestamp(std::string_view greeting)
{
  auto open = greeting.find('<');
  if (open == std::string_view::npos) {
    return std::nullopt;
  }
  auto close = greeting.find('>', open);
  if (close == std::string_view::npos) {
    return std::nullopt;
  }
  auto stamp = greeting.substr(open, close - open + 1);
  // RFC 1939 section 7: the timestamp is a msg-id, "<" local-part "@" domain ">".
  if (stamp.find('@') == std::string_view::npos || stamp.find(' ') != std::string_view::npos) {
    return std::nullopt;
  }
  return std::string(stamp);
}

std::string command(std::string_view name)
{
  return std::string(name) + "\r\n";
}

std::string command(std::string_view name, std::string_view argument)
{
  check_argument(argument);
  std::string line;
  line.reserve(name.size() + argument.size() + 3);
  line.append(name).append(" ").append(argument).append("\r\n");
  return line;
}

std::string command(std::string_view name, std::uint64_t number)
{
  return command(name, std::to_string(number));
}

std::string command(std::string_view name, std::uint64_t number, std::uint64_t lines)
{
  return command(name, std::to_string(number) + " " + std::to_string(lines));
}

}  // namespace mw::pop3
