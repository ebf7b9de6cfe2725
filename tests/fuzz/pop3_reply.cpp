// SPDX-License-Identifier: Apache-2.0
// Fuzzes the POP3 reply parser (RFC 1939 section 3, RFC 2449, RFC 5034) with the input read
// as a server's byte stream, in every shape and line ending, whole and in chunkings derived
// from the input, against a reference model; and the parsers of single reply lines.

#include "fuzz_support.hpp"
#include "pop3/protocol.hpp"
#include "util/error.hpp"

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

using namespace mw::pop3;
using mw::fuzz::check;

namespace {

struct ParsedReply {
  std::optional<Status> status;
  std::string body;
  bool ended = false;
};

struct Outcome {
  std::vector<ParsedReply> replies;
  bool failed = false;
  std::string error;
};

bool same_status(const std::optional<Status>& a, const std::optional<Status>& b)
{
  if (a.has_value() != b.has_value()) {
    return false;
  }
  return !a || (a->kind == b->kind && a->code == b->code && a->text == b->text);
}

std::string describe(const Outcome& o)
{
  std::string out = std::to_string(o.replies.size()) + " replies";
  for (const auto& r : o.replies) {
    out += "\n  status=" + (r.status ? r.status->text : std::string("<none>")) +
           " ended=" + (r.ended ? "1" : "0") + " body=" + std::to_string(r.body.size()) + "B";
  }
  if (o.failed) {
    out += "\n  error: " + o.error;
  }
  return out;
}

// Feeds the chunks one after another, starting a new reply whenever the last one ended and
// more bytes come, as the client does with pipelined replies.
Outcome run(const std::vector<std::string_view>& pieces, ReplyShape shape, LineEnding ending)
{
  Outcome out;
  ReplyParser parser;
  auto record = [&](const ReplyParser::Event& ev) {
    auto& reply = out.replies.back();
    switch (ev.type) {
    case ReplyParser::Event::Type::status:
      check(!reply.status, "two status events in one reply");
      reply.status = parser.status();
      break;
    case ReplyParser::Event::Type::data:
      check(reply.status.has_value(), "body data before the status line");
      check(!ev.data.empty(), "an empty data event");
      reply.body.append(ev.data);
      break;
    case ReplyParser::Event::Type::end:
      check(reply.status.has_value(), "end of a reply without a status line");
      reply.ended = true;
      check(!parser.active(), "parser still active after the end event");
      break;
    case ReplyParser::Event::Type::need_more: break;
    }
  };
  try {
    for (std::string_view chunk : pieces) {
      int idle_events = 0;
      while (!chunk.empty()) {
        if (!parser.active()) {
          parser.start(shape, ending);
          out.replies.emplace_back();
        }
        std::size_t consumed = 0;
        const auto ev = parser.feed(chunk, consumed);
        check(consumed <= chunk.size(), "consumed more than given");
        chunk.remove_prefix(consumed);
        if (ev.type == ReplyParser::Event::Type::need_more) {
          check(chunk.empty(), "need_more with input left unconsumed");
          break;
        }
        idle_events = consumed == 0 ? idle_events + 1 : 0;
        check(idle_events < 3, "no progress: events without consuming input");
        record(ev);
      }
    }
    // A single-line reply's end comes on the call after its status: collect it.
    for (int i = 0; i < 3 && parser.active(); ++i) {
      std::size_t consumed = 0;
      const auto ev = parser.feed({}, consumed);
      check(consumed == 0, "consumed input from an empty feed");
      if (ev.type == ReplyParser::Event::Type::need_more) {
        break;
      }
      record(ev);
    }
  } catch (const mw::ProtocolError& e) {
    out.failed = true;
    out.error = e.what();
  }
  return out;
}

// The dot-unstuffed body (RFC 1939 section 3) of `lines` (each with its LF), with CRLF
// turned into LF for LineEnding::lf.
std::string unstuff(std::string_view text, LineEnding ending)
{
  std::string out;
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl == std::string_view::npos ? text.size() : nl + 1);
    text.remove_prefix(line.size());
    if (!line.empty() && line.front() == '.') {
      line.remove_prefix(1);
    }
    out.append(line);
  }
  if (ending == LineEnding::lf) {
    std::string lf;
    for (std::size_t i = 0; i < out.size(); ++i) {
      if (out[i] == '\r' && i + 1 < out.size() && out[i + 1] == '\n') {
        continue;
      }
      lf.push_back(out[i]);
    }
    out = lf;
  }
  return out;
}

// The same stream read line by line, the obvious way: the expected replies (a body of an
// unterminated reply is what may have been emitted so far, at most).
Outcome reference(std::string_view wire, ReplyShape shape, LineEnding ending)
{
  Outcome out;
  while (!wire.empty()) {
    out.replies.emplace_back();
    auto& reply = out.replies.back();
    const std::size_t nl = wire.find('\n');
    const std::size_t length = nl == std::string_view::npos ? wire.size() : nl;
    if (length > k_max_line) {
      out.failed = true;
      return out;
    }
    if (nl == std::string_view::npos) {
      return out;
    }
    std::string_view line = wire.substr(0, nl);
    wire.remove_prefix(nl + 1);
    if (!line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
    }
    try {
      reply.status = parse_status(line, shape == ReplyShape::sasl);
    } catch (const mw::ProtocolError&) {
      out.failed = true;
      return out;
    }
    if (shape != ReplyShape::multi_line || !reply.status->ok()) {
      reply.ended = true;
      continue;
    }
    // The body runs to the first line that is "." alone (CRLF or bare LF).
    std::size_t pos = 0;
    std::optional<std::size_t> terminator;
    while (pos < wire.size()) {
      const std::size_t eol = wire.find('\n', pos);
      if (eol == std::string_view::npos) {
        break;
      }
      const std::string_view body_line = wire.substr(pos, eol - pos);
      if (body_line == "." || body_line == ".\r") {
        terminator = pos;
        break;
      }
      pos = eol + 1;
    }
    if (!terminator) {
      reply.body = unstuff(wire, ending);
      return out;
    }
    reply.body = unstuff(wire.substr(0, *terminator), ending);
    reply.ended = true;
    wire.remove_prefix(wire.find('\n', *terminator) + 1);
  }
  return out;
}

void compare_with_reference(const Outcome& got, const Outcome& want, std::string_view wire)
{
  const std::string both = "got " + describe(got) + "\nwant " + describe(want) + "\ninput " +
                           std::to_string(wire.size()) + "B";
  check(got.failed == want.failed, "error differs from the reference", both);
  check(got.replies.size() == want.replies.size(), "reply count differs from the reference", both);
  for (std::size_t i = 0; i < got.replies.size(); ++i) {
    const auto& g = got.replies[i];
    const auto& w = want.replies[i];
    check(same_status(g.status, w.status), "status differs from the reference", both);
    check(g.ended == w.ended, "end differs from the reference", both);
    if (w.ended) {
      check(g.body == w.body, "body differs from the reference", both);
    } else {
      // Bytes that may still turn out to be a terminator or a CRLF are held back.
      check(w.body.starts_with(g.body) && w.body.size() - g.body.size() <= 2,
            "unterminated body is not the reference's, less what is held back", both);
    }
  }
}

void compare(const Outcome& a, const Outcome& b)
{
  const std::string both = "whole " + describe(a) + "\nchunked " + describe(b);
  check(a.failed == b.failed && a.error == b.error, "chunked input gave another error", both);
  check(a.replies.size() == b.replies.size(), "chunked input gave another reply count", both);
  for (std::size_t i = 0; i < a.replies.size(); ++i) {
    check(same_status(a.replies[i].status, b.replies[i].status),
          "chunked input gave another status", both);
    check(a.replies[i].ended == b.replies[i].ended, "chunked input ended elsewhere", both);
    check(a.replies[i].body == b.replies[i].body, "chunked input gave another body", both);
  }
}

bool printable_uid(std::string_view uid)
{
  return !uid.empty() && std::all_of(uid.begin(), uid.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u != 0x7f;
  });
}

// The parsers of one line: STAT, LIST, UIDL, CAPA and the APOP greeting.
void single_lines(std::string_view wire)
{
  Capabilities capabilities;
  LineSplitter whole;
  std::vector<std::string> split_lines;
  try {
    whole.feed(wire, [&](std::string_view line) { split_lines.emplace_back(line); });
    split_lines.emplace_back(whole.rest());
  } catch (const mw::ProtocolError&) {
    split_lines.clear();
  }
  std::vector<std::string> octet_lines;
  if (!split_lines.empty() && wire.size() <= 512) {
    LineSplitter bytes;
    for (std::size_t i = 0; i < wire.size(); ++i) {
      bytes.feed(wire.substr(i, 1), [&](std::string_view line) { octet_lines.emplace_back(line); });
    }
    octet_lines.emplace_back(bytes.rest());
    check(octet_lines == split_lines, "LineSplitter: chunked input gave other lines");
  }

  for (const std::string& line : split_lines) {
    check(line.size() <= k_max_line, "LineSplitter let an over-long line through");
    try {
      const Maildrop drop = parse_stat(line);
      (void)drop;
    } catch (const mw::ProtocolError&) {
    }
    try {
      const ScanListing listing = parse_scan_listing(line);
      check(listing.number != 0, "LIST: message number 0 accepted");
    } catch (const mw::ProtocolError&) {
    }
    try {
      const UniqueId id = parse_unique_id(line);
      check(id.number != 0, "UIDL: message number 0 accepted");
      check(printable_uid(id.uid), "UIDL: an empty UID or one with blanks or controls", id.uid);
    } catch (const mw::ProtocolError&) {
    }
    capabilities.add_line(line);
    if (const auto stamp = apop_timestamp(line)) {
      check(stamp->size() >= 3 && stamp->front() == '<' && stamp->back() == '>',
            "APOP timestamp not in angle brackets", *stamp);
      check(stamp->find('@') != std::string::npos, "APOP timestamp without '@'", *stamp);
      check(stamp->find(' ') == std::string::npos, "APOP timestamp with a space", *stamp);
      check(line.find(*stamp) != std::string::npos, "APOP timestamp not from the greeting");
    }
    for (const bool continuation : {false, true}) {
      try {
        const Status status = parse_status(line, continuation);
        check(continuation || status.kind != Status::Kind::continuation,
              "a continuation where none is allowed");
      } catch (const mw::ProtocolError&) {
      }
    }
  }
  for (const auto& mechanism : capabilities.sasl) {
    check(!mechanism.empty(), "CAPA: an empty SASL mechanism");
    check(mechanism.find(' ') == std::string::npos, "CAPA: a SASL mechanism with a space");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  const std::string_view wire = mw::fuzz::view(data, size);
  const auto chunkings = mw::fuzz::chunkings(wire);
  for (const auto shape : {ReplyShape::single, ReplyShape::multi_line, ReplyShape::sasl}) {
    for (const auto ending : {LineEnding::crlf, LineEnding::lf}) {
      const Outcome whole = run(chunkings.front(), shape, ending);
      compare_with_reference(whole, reference(wire, shape, ending), wire);
      for (std::size_t i = 1; i < chunkings.size(); ++i) {
        compare(whole, run(chunkings[i], shape, ending));
      }
    }
  }
  single_lines(wire);
  return 0;
}
