// SPDX-License-Identifier: Apache-2.0
#include "pop3/protocol.hpp"
#include "util/error.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace mw::pop3;

namespace {

struct Parsed {
  Status status;
  std::string body;
  std::size_t end = 0;  // offset just past the reply
  bool ended = false;
};

// Feeds `wire` in the given chunks, as the client would.
Parsed parse(std::string_view wire, ReplyShape shape, std::vector<std::size_t> cuts,
             LineEnding ending = LineEnding::crlf)
{
  ReplyParser parser;
  parser.start(shape, ending);
  Parsed out;
  std::size_t offset = 0;
  cuts.push_back(wire.size());
  for (auto cut : cuts) {
    auto chunk = wire.substr(offset, cut - offset);
    while (!out.ended) {
      std::size_t consumed = 0;
      auto ev = parser.feed(chunk, consumed);
      chunk.remove_prefix(consumed);
      offset += consumed;
      if (ev.type == ReplyParser::Event::Type::status) {
        out.status = parser.status();
      } else if (ev.type == ReplyParser::Event::Type::data) {
        REQUIRE_FALSE(ev.data.empty());
        out.body.append(ev.data);
      } else if (ev.type == ReplyParser::Event::Type::end) {
        out.ended = true;
        out.end = offset;
      } else {
        REQUIRE(chunk.empty());
        break;
      }
    }
    if (out.ended) {
      break;
    }
  }
  return out;
}

Parsed parse_whole(std::string_view wire, ReplyShape shape, LineEnding ending = LineEnding::crlf)
{
  return parse(wire, shape, {}, ending);
}

}  // namespace

TEST_CASE("status lines", "[pop3]")
{
  auto ok = parse_status("+OK 2 320");
  CHECK(ok.ok());
  CHECK(ok.text == "2 320");
  CHECK(ok.code.empty());

  auto bare = parse_status("+OK");
  CHECK(bare.ok());
  CHECK(bare.text.empty());

  auto trailing = parse_status("+OK 2 320   ");
  CHECK(trailing.text == "2 320");

  auto err = parse_status("-ERR [IN-USE] Do you have another POP session running?");
  CHECK(err.kind == Status::Kind::err);
  CHECK(err.code == "IN-USE");
  CHECK(err.text == "Do you have another POP session running?");

  CHECK(parse_status("-ERR [SYS/TEMP] try later").code == "SYS/TEMP");
  CHECK(parse_status("-ERR [auth] bad").code == "AUTH");
  CHECK(parse_status("-ERR").text.empty());

  CHECK_THROWS_AS(parse_status("* OK IMAP4rev1"), mw::ProtocolError);
  CHECK_THROWS_AS(parse_status("+OKAY"), mw::ProtocolError);
  CHECK_THROWS_AS(parse_status("+ abc"), mw::ProtocolError);

  auto cont = parse_status("+ PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+", true);
  CHECK(cont.kind == Status::Kind::continuation);
  CHECK(cont.text == "PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+");
  CHECK(parse_status("+ ", true).kind == Status::Kind::continuation);
  CHECK(parse_status("+", true).text.empty());
  CHECK(parse_status("+OK done", true).ok());
}

TEST_CASE("single-line reply ends after the status line", "[pop3]")
{
  std::string wire = "+OK 2 320\r\n+OK next\r\n";
  auto p = parse_whole(wire, ReplyShape::single);
  CHECK(p.ended);
  CHECK(p.status.text == "2 320");
  CHECK(p.end == 11);
}

TEST_CASE("an error reply to a multi-line command has no body", "[pop3]")
{
  std::string wire = "-ERR no such message, only 2 messages in maildrop\r\n+OK\r\n";
  auto p = parse_whole(wire, ReplyShape::multi_line);
  CHECK(p.ended);
  CHECK(p.status.kind == Status::Kind::err);
  CHECK(p.body.empty());
  CHECK(p.end == wire.find("+OK"));
}

TEST_CASE("RFC 1939 examples: LIST, UIDL and RETR", "[pop3]")
{
  // RFC 1939 section 5, LIST.
  std::string list = "+OK 2 messages (320 octets)\r\n1 120\r\n2 200\r\n.\r\n";
  auto p = parse_whole(list, ReplyShape::multi_line);
  CHECK(p.status.text == "2 messages (320 octets)");
  CHECK(p.body == "1 120\r\n2 200\r\n");
  CHECK(p.end == list.size());

  // RFC 1939 section 7, UIDL.
  std::string uidl = "+OK\r\n1 whqtswO00WBw418f9t5JxYwZ\r\n2 QhdPYR:00WBw1Ph7x7\r\n.\r\n";
  auto u = parse_whole(uidl, ReplyShape::multi_line);
  LineSplitter lines;
  std::vector<UniqueId> ids;
  lines.feed(u.body, [&](std::string_view line) { ids.push_back(parse_unique_id(line)); });
  REQUIRE(ids.size() == 2);
  CHECK(ids[0].uid == "whqtswO00WBw418f9t5JxYwZ");
  CHECK(ids[1].number == 2);
  CHECK(ids[1].uid == "QhdPYR:00WBw1Ph7x7");
}

TEST_CASE("dot-unstuffing and the terminator", "[pop3]")
{
  std::string wire = "+OK 120 octets\r\n"
                     "Subject: dots\r\n"
                     "\r\n"
                     "..\r\n"
                     "...\r\n"
                     "..foo\r\n"
                     "a.b\r\n"
                     ". \r\n"
                     "..\r\n"
                     ".\r\n"
                     "+OK next\r\n";
  std::string expected = "Subject: dots\r\n\r\n.\r\n..\r\n.foo\r\na.b\r\n \r\n.\r\n";
  auto p = parse_whole(wire, ReplyShape::multi_line);
  CHECK(p.body == expected);
  CHECK(p.end == wire.find("+OK next"));

  auto lf = parse_whole(wire, ReplyShape::multi_line, LineEnding::lf);
  CHECK(lf.body == "Subject: dots\n\n.\n..\n.foo\na.b\n \n.\n");
}

TEST_CASE("empty body and bare-LF terminators", "[pop3]")
{
  auto empty = parse_whole("+OK\r\n.\r\n", ReplyShape::multi_line);
  CHECK(empty.ended);
  CHECK(empty.body.empty());

  auto bare = parse_whole("+OK\nline\n.\n", ReplyShape::multi_line);
  CHECK(bare.ended);
  CHECK(bare.body == "line\n");
}

TEST_CASE("lone CR is kept; CRLF becomes LF only when asked", "[pop3]")
{
  std::string wire = "+OK\r\na\rb\r\n.\rx\r\nend\r\r\n.\r\n";
  auto crlf = parse_whole(wire, ReplyShape::multi_line);
  CHECK(crlf.body == "a\rb\r\n\rx\r\nend\r\r\n");
  auto lf = parse_whole(wire, ReplyShape::multi_line, LineEnding::lf);
  CHECK(lf.body == "a\rb\n\rx\nend\r\n");
}

TEST_CASE("input split at every offset gives the same result", "[pop3]")
{
  std::string wire = "+OK message follows\r\n"
                     "From: a@example.org\r\n"
                     "Subject: split\r\n"
                     "\r\n"
                     "..leading dot\r\n"
                     ".\r\r\n"
                     "lone\rcr\r\n"
                     "..\r\n"
                     ".\r\n"
                     "-ERR [IN-USE] next reply\r\n";
  for (auto ending : {LineEnding::crlf, LineEnding::lf}) {
    auto whole = parse_whole(wire, ReplyShape::multi_line, ending);
    REQUIRE(whole.ended);
    for (std::size_t a = 0; a <= wire.size(); ++a) {
      auto one = parse(wire, ReplyShape::multi_line, {a}, ending);
      CHECK(one.body == whole.body);
      CHECK(one.end == whole.end);
      for (std::size_t b = a; b <= wire.size(); b += 7) {
        auto two = parse(wire, ReplyShape::multi_line, {a, b}, ending);
        CHECK(two.body == whole.body);
        CHECK(two.end == whole.end);
      }
    }
    // One byte at a time.
    std::vector<std::size_t> cuts;
    for (std::size_t i = 1; i < wire.size(); ++i) {
      cuts.push_back(i);
    }
    auto bytes = parse(wire, ReplyShape::multi_line, cuts, ending);
    CHECK(bytes.body == whole.body);
    CHECK(bytes.end == whole.end);
  }
}

TEST_CASE("over-long status line is a protocol error", "[pop3]")
{
  ReplyParser parser;
  parser.start(ReplyShape::single);
  std::string junk(k_max_line + 1, 'x');
  std::size_t consumed = 0;
  CHECK_THROWS_AS(parser.feed(junk, consumed), mw::ProtocolError);

  // ...even when it arrives in small pieces.
  ReplyParser slow;
  slow.start(ReplyShape::single);
  std::string piece(1000, 'y');
  auto feed_forever = [&] {
    for (int i = 0; i < 100; ++i) {
      std::size_t c = 0;
      slow.feed(piece, c);
    }
  };
  CHECK_THROWS_AS(feed_forever(), mw::ProtocolError);
}

TEST_CASE("long body lines stream without limit", "[pop3]")
{
  std::string wire = "+OK\r\n" + std::string(100000, 'z') + "\r\n.\r\n";
  auto p = parse(wire, ReplyShape::multi_line, {4096, 8192, 50000});
  CHECK(p.body.size() == 100002);
}

TEST_CASE("SASL continuation", "[pop3]")
{
  auto p = parse_whole("+ \r\n", ReplyShape::sasl);
  CHECK(p.status.kind == Status::Kind::continuation);
  CHECK(p.status.text.empty());
  auto q = parse_whole("-ERR [AUTH] Authentication failed.\r\n", ReplyShape::sasl);
  CHECK(q.status.code == "AUTH");
}

TEST_CASE("STAT, LIST and UIDL parsing", "[pop3]")
{
  auto st = parse_stat("2 320");
  CHECK(st.messages == 2);
  CHECK(st.octets == 320);
  CHECK(parse_stat("0 0 ").messages == 0);
  CHECK(parse_stat("7 1234 messages").octets == 1234);
  CHECK_THROWS_AS(parse_stat(""), mw::ProtocolError);
  CHECK_THROWS_AS(parse_stat("-1 5"), mw::ProtocolError);
  CHECK_THROWS_AS(parse_stat("abc 5"), mw::ProtocolError);
  CHECK_THROWS_AS(parse_stat("99999999999999999999999 5"), mw::ProtocolError);

  auto l = parse_scan_listing("2 200");
  CHECK(l.number == 2);
  CHECK(l.octets == 200);
  CHECK(parse_scan_listing("3 5 extra").octets == 5);
  CHECK_THROWS_AS(parse_scan_listing("0 5"), mw::ProtocolError);
  CHECK_THROWS_AS(parse_scan_listing("3"), mw::ProtocolError);

  CHECK(parse_unique_id("1 abc").uid == "abc");
  CHECK(parse_unique_id("10\t<x@y>").uid == "<x@y>");
  CHECK_THROWS_AS(parse_unique_id("1"), mw::ProtocolError);
  CHECK_THROWS_AS(parse_unique_id("1 "), mw::ProtocolError);
  CHECK_THROWS_AS(parse_unique_id("x abc"), mw::ProtocolError);
  CHECK_THROWS_AS(parse_unique_id("1abc"), mw::ProtocolError);
}

TEST_CASE("CAPA lines", "[pop3]")
{
  Capabilities caps;
  for (auto line : {"CAPA", "TOP", "UIDL", "RESP-CODES", "PIPELINING", "AUTH-RESP-CODE", "STLS",
                    "USER", "SASL PLAIN login  SCRAM-SHA-256", "IMPLEMENTATION Dovecot"}) {
    caps.add_line(line);
  }
  CHECK(caps.top);
  CHECK(caps.uidl);
  CHECK(caps.pipelining);
  CHECK(caps.stls);
  CHECK(caps.user);
  CHECK(caps.resp_codes);
  CHECK(caps.sasl == std::vector<std::string>{"PLAIN", "LOGIN", "SCRAM-SHA-256"});
  CHECK(caps.implementation == "Dovecot");
}

TEST_CASE("APOP timestamp from the greeting", "[pop3]")
{
  CHECK(apop_timestamp("POP3 server ready <1896.697170952@dbc.mtview.ca.us>") ==
        "<1896.697170952@dbc.mtview.ca.us>");
  CHECK_FALSE(apop_timestamp("Dovecot ready."));
  CHECK_FALSE(apop_timestamp("ready <no-at-sign>"));
}

TEST_CASE("command encoding", "[pop3]")
{
  CHECK(command("STAT") == "STAT\r\n");
  CHECK(command("USER", "mrose") == "USER mrose\r\n");
  CHECK(command("RETR", std::uint64_t{1}) == "RETR 1\r\n");
  CHECK(command("TOP", 10, 0) == "TOP 10 0\r\n");
  CHECK_THROWS_AS(command("USER", "evil\r\nDELE 1"), mw::UsageError);
}
