// SPDX-License-Identifier: Apache-2.0
// Fuzzes the SMTP reply parser (RFC 5321 section 4.2) whole and in chunkings derived from
// the input, EHLO keywords and queue ids of every reply, and the DATA encoder (RFC 5321
// section 4.5.2) with the input as a message: its output is well-formed dot-stuffed CRLF
// text that decodes to the CRLF-normalised input, whatever the chunking.

#include "fuzz_support.hpp"
#include "smtp/protocol.hpp"
#include "util/error.hpp"

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

using namespace mw::smtp;
using mw::fuzz::check;

namespace {

struct Outcome {
  std::vector<Reply> replies;
  bool failed = false;
  std::string error;
};

bool same(const Reply& a, const Reply& b)
{
  return a.code == b.code && a.lines == b.lines && a.enhanced.class_ == b.enhanced.class_ &&
         a.enhanced.subject == b.enhanced.subject && a.enhanced.detail == b.enhanced.detail;
}

Outcome run(const std::vector<std::string_view>& pieces, bool enhanced)
{
  Outcome out;
  ReplyParser parser;
  parser.set_enhanced(enhanced);
  try {
    for (std::string_view chunk : pieces) {
      bool first = true;
      while (first || !chunk.empty()) {
        first = false;
        std::size_t consumed = 0;
        auto reply = parser.feed(chunk, consumed);
        check(consumed <= chunk.size(), "consumed more than given");
        chunk.remove_prefix(consumed);
        if (!reply) {
          check(chunk.empty(), "no reply, yet input left unconsumed");
          break;
        }
        check(consumed > 0, "a reply from no input");
        out.replies.push_back(std::move(*reply));
      }
    }
  } catch (const mw::ProtocolError& e) {
    out.failed = true;
    out.error = e.what();
  }
  return out;
}

void check_reply(const Reply& reply)
{
  check(reply.code >= 200 && reply.code <= 599, "a reply code outside 2yz-5yz");
  check(!reply.lines.empty(), "a reply without lines");
  check(reply.positive() + reply.transient() + reply.permanent() == 1,
        "a reply is not exactly one of positive, transient, permanent");
  for (const auto& line : reply.lines) {
    check(line.size() <= k_max_line, "a reply line longer than the limit");
    check(line.find('\n') == std::string::npos, "a reply line with an LF");
  }
  if (reply.enhanced.present()) {
    const std::string text = reply.enhanced.text();
    check(text.size() >= 5 && text.size() <= 9, "an odd enhanced code", text);
    check(reply.enhanced.class_ == 2 || reply.enhanced.class_ == 4 || reply.enhanced.class_ == 5,
          "an enhanced code of another class than 2, 4, 5", text);
  }
  (void)reply.text();

  const Extensions ext = Extensions::from_ehlo(reply);
  check(ext.known == (reply.code == 250), "EHLO known for a reply other than 250");
  for (std::size_t i = 0; i < ext.auth.size(); ++i) {
    check(!ext.auth[i].empty(), "an empty AUTH mechanism");
    check(std::count(ext.auth.begin(), ext.auth.end(), ext.auth[i]) == 1,
          "a duplicate AUTH mechanism", ext.auth[i]);
    for (const char c : ext.auth[i]) {
      check(c != ' ' && c != '\t' && !(c >= 'a' && c <= 'z'), "an AUTH mechanism not upper case",
            ext.auth[i]);
    }
  }

  if (const auto id = queue_id(reply)) {
    check(reply.code / 100 == 2, "a queue id from a reply other than 2yz");
    check(!id->empty() && id->size() <= 128, "an empty or over-long queue id", *id);
    for (const char c : *id) {
      const auto u = static_cast<unsigned char>(c);
      // qmail's "qp N" is the one id with a space.
      check((u > 0x20 && u < 0x7f) || (c == ' ' && id->starts_with("qp ")),
            "a queue id with blanks or controls", *id);
    }
  }
}

// The message with every line ending (CRLF, LF, lone CR) as CRLF and a CRLF after the last
// line when it had none: what the server must receive once the dots are unstuffed.
std::string normalised(std::string_view text)
{
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r') {
      out += "\r\n";
      if (i + 1 < text.size() && text[i + 1] == '\n') {
        ++i;
      }
    } else if (text[i] == '\n') {
      out += "\r\n";
    } else {
      out += text[i];
    }
  }
  if (!out.empty() && !out.ends_with("\r\n")) {
    out += "\r\n";
  }
  return out;
}

void data_encoder(std::string_view message, const std::vector<std::vector<std::string_view>>& ways)
{
  std::string first;
  for (const auto& pieces : ways) {
    DataEncoder encoder;
    std::string out;
    for (const auto piece : pieces) {
      encoder.encode(piece, out);
    }
    encoder.finish(out);
    if (&pieces == &ways.front()) {
      first = out;
    } else {
      check(out == first, "DATA: chunked input encoded differently");
      continue;
    }

    // Only CRLF line endings, ending with the lone "." line.
    check(out.ends_with(".\r\n"), "DATA: output does not end with .CRLF");
    for (std::size_t i = 0; i < out.size(); ++i) {
      if (out[i] == '\r') {
        check(i + 1 < out.size() && out[i + 1] == '\n', "DATA: a CR without LF in the output");
      } else if (out[i] == '\n') {
        check(i > 0 && out[i - 1] == '\r', "DATA: an LF without CR in the output");
      }
    }
    // Split into lines; every line but the terminator that starts with '.' is stuffed.
    std::string unstuffed;
    std::size_t longest = 0;
    std::size_t pos = 0;
    bool terminated = false;
    while (pos < out.size()) {
      const std::size_t eol = out.find("\r\n", pos);
      std::string_view line(out.data() + pos, eol - pos);
      pos = eol + 2;
      if (pos == out.size()) {
        check(line == ".", "DATA: the last line is not the terminator");
        terminated = true;
        break;
      }
      check(line != ".", "DATA: a lone dot before the end");
      if (line.starts_with(".")) {
        check(line.starts_with(".."), "DATA: a line starts with a single dot");
        line.remove_prefix(1);
      }
      longest = std::max(longest, line.size());
      unstuffed.append(line).append("\r\n");
    }
    check(terminated, "DATA: not terminated");
    check(unstuffed == normalised(message), "DATA: unstuffing does not give back the message");
    check(encoder.longest_line() == longest, "DATA: longest_line is wrong");
    const bool eight_bit = std::any_of(message.begin(), message.end(), [](char c) {
      return static_cast<unsigned char>(c) >= 0x80;
    });
    check(encoder.eight_bit() == eight_bit, "DATA: eight_bit is wrong");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  const std::string_view wire = mw::fuzz::view(data, size);
  const auto ways = mw::fuzz::chunkings(wire);
  for (const bool enhanced : {false, true}) {
    const Outcome whole = run(ways.front(), enhanced);
    for (const auto& reply : whole.replies) {
      check_reply(reply);
    }
    for (std::size_t i = 1; i < ways.size(); ++i) {
      const Outcome chunked = run(ways[i], enhanced);
      check(chunked.failed == whole.failed && chunked.error == whole.error,
            "chunked input gave another error", chunked.error + " / " + whole.error);
      check(chunked.replies.size() == whole.replies.size(),
            "chunked input gave another reply count");
      for (std::size_t r = 0; r < whole.replies.size(); ++r) {
        check(same(whole.replies[r], chunked.replies[r]), "chunked input gave another reply");
      }
    }
  }
  data_encoder(wire, ways);
  return 0;
}
