// SPDX-License-Identifier: Apache-2.0
#include "smtp/protocol.hpp"
#include "util/error.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace mw::smtp;
using Catch::Matchers::Contains;

namespace {

struct Parsed {
  std::vector<Reply> replies;
  std::size_t end = 0;  // offset just past the last complete reply
};

// Feeds `wire` in the given chunks, as the client would, collecting every complete reply.
Parsed parse(std::string_view wire, std::vector<std::size_t> cuts, bool enhanced = false)
{
  ReplyParser parser;
  parser.set_enhanced(enhanced);
  Parsed out;
  std::size_t offset = 0;
  cuts.push_back(wire.size());
  for (auto cut : cuts) {
    auto chunk = wire.substr(offset, cut - offset);
    while (true) {
      std::size_t consumed = 0;
      auto reply = parser.feed(chunk, consumed);
      REQUIRE(consumed <= chunk.size());
      chunk.remove_prefix(consumed);
      offset += consumed;
      if (!reply) {
        REQUIRE(chunk.empty());
        break;
      }
      out.replies.push_back(*reply);
      out.end = offset;
    }
  }
  return out;
}

Parsed parse_whole(std::string_view wire, bool enhanced = false)
{
  return parse(wire, {}, enhanced);
}

// The one reply in wire.
Reply reply_of(std::string_view wire, bool enhanced = false)
{
  auto p = parse_whole(wire, enhanced);
  REQUIRE(p.replies.size() == 1);
  return p.replies.front();
}

// Feeds wire whole; for the malformed-input tests.
void feed_all(std::string_view wire)
{
  ReplyParser parser;
  while (!wire.empty()) {
    std::size_t consumed = 0;
    parser.feed(wire, consumed);
    wire.remove_prefix(consumed);
  }
}

bool same(const Reply& a, const Reply& b)
{
  return a.code == b.code && a.lines == b.lines && a.enhanced.text() == b.enhanced.text();
}

// Encodes input in the given chunks.
std::string encode(std::string_view input, std::vector<std::size_t> cuts = {})
{
  DataEncoder encoder;
  std::string out;
  std::size_t offset = 0;
  cuts.push_back(input.size());
  for (auto cut : cuts) {
    encoder.encode(input.substr(offset, cut - offset), out);
    offset = cut;
  }
  encoder.finish(out);
  return out;
}

// The wire image of a final reply to DATA.
std::optional<std::string> queue_id_of(std::string_view wire)
{
  return queue_id(reply_of(wire));
}

}  // namespace

TEST_CASE("RFC 5321 Appendix D.1: a typical transaction's replies", "[smtp]")
{
  std::string wire = "220 foo.com Simple Mail Transfer Service Ready\r\n"
                     "250-foo.com greets bar.com\r\n"
                     "250-8BITMIME\r\n"
                     "250-SIZE\r\n"
                     "250-DSN\r\n"
                     "250 HELP\r\n"
                     "250 OK\r\n"
                     "250 OK\r\n"
                     "550 No such user here\r\n"
                     "250 OK\r\n"
                     "354 Start mail input; end with <CRLF>.<CRLF>\r\n"
                     "250 OK\r\n"
                     "221 foo.com Service closing transmission channel\r\n";
  auto p = parse_whole(wire);
  REQUIRE(p.replies.size() == 9);
  CHECK(p.end == wire.size());

  CHECK(p.replies[0].code == 220);
  CHECK(p.replies[0].text() == "foo.com Simple Mail Transfer Service Ready");
  CHECK(p.replies[0].positive());

  const auto& ehlo_reply = p.replies[1];
  CHECK(ehlo_reply.code == 250);
  CHECK(ehlo_reply.lines ==
        std::vector<std::string>{"foo.com greets bar.com", "8BITMIME", "SIZE", "DSN", "HELP"});
  auto ext = Extensions::from_ehlo(ehlo_reply);
  CHECK(ext.known);
  CHECK(ext.greeting_name == "foo.com");
  CHECK(ext.eight_bit_mime);
  CHECK(ext.size == std::uint64_t{0});
  CHECK(ext.dsn);
  CHECK_FALSE(ext.pipelining);
  CHECK_FALSE(ext.starttls);
  CHECK(ext.auth.empty());

  CHECK(p.replies[4].code == 550);
  CHECK(p.replies[4].permanent());
  CHECK_FALSE(p.replies[4].positive());
  CHECK(p.replies[4].text() == "No such user here");
  CHECK_FALSE(p.replies[4].enhanced.present());

  CHECK(p.replies[6].code == 354);
  CHECK(p.replies[6].positive());
  CHECK(p.replies[8].code == 221);
  CHECK_FALSE(queue_id(p.replies[7]));
}

TEST_CASE("RFC 5321 Appendix D.4: verifying and sending", "[smtp]")
{
  std::string wire = "220 foo.com Simple Mail Transfer Service Ready\r\n"
                     "250-foo.com greets bar.com\r\n"
                     "250-8BITMIME\r\n"
                     "250-SIZE\r\n"
                     "250-DSN\r\n"
                     "250-VRFY\r\n"
                     "250 HELP\r\n"
                     "250 Mark Crispin <Admin.MRC@foo.com>\r\n"
                     "250 OK\r\n";
  auto p = parse_whole(wire);
  REQUIRE(p.replies.size() == 4);
  CHECK(p.replies[1].lines.size() == 6);
  CHECK(p.replies[2].text() == "Mark Crispin <Admin.MRC@foo.com>");
  CHECK(p.replies[3].text() == "OK");
}

TEST_CASE("RFC 5321 section 4.2.1: continuation text that begins with digits", "[smtp]")
{
  // The RFC's example uses code 123, which section 4.2 does not allow; the shape is what
  // matters: "234 text" inside a line is text, not a new reply.
  auto r = reply_of("250-First line\r\n"
                    "250-Second line\r\n"
                    "250-234 Text beginning with numbers\r\n"
                    "250 The last line\r\n");
  CHECK(r.lines == std::vector<std::string>{"First line", "Second line",
                                            "234 Text beginning with numbers", "The last line"});
  CHECK(r.text() == "First line Second line 234 Text beginning with numbers The last line");
  CHECK_THROWS_WITH(feed_all("123-First line\r\n123 The last line\r\n"), Contains("200-599"));
}

TEST_CASE("reply line forms: bare code, bare LF, trailing blanks, empty text", "[smtp]")
{
  auto bare = reply_of("250\r\n");
  CHECK(bare.code == 250);
  CHECK(bare.lines == std::vector<std::string>{""});
  CHECK(bare.text().empty());

  auto lf = parse_whole("220 ready\n250-a\n250 b\n");
  REQUIRE(lf.replies.size() == 2);
  CHECK(lf.replies[1].lines == std::vector<std::string>{"a", "b"});

  auto blanks = reply_of("250-\r\n250 OK   \r\n");
  CHECK(blanks.lines == std::vector<std::string>{"", "OK"});
  CHECK(blanks.text() == "OK");

  CHECK(reply_of("421 4.3.2 Service shutting down\r\n").transient());
  CHECK(reply_of("334 VXNlcm5hbWU6\r\n").text() == "VXNlcm5hbWU6");
}

TEST_CASE("incomplete replies wait; bytes after a reply are left for the next", "[smtp]")
{
  ReplyParser parser;
  std::size_t consumed = 0;
  CHECK_FALSE(parser.feed("250-mx.example", consumed));
  CHECK(consumed == 14);
  CHECK_FALSE(parser.feed(".org\r\n250-PIPE", consumed));
  CHECK(consumed == 14);
  auto r = parser.feed("LINING\r\n250 SIZE 100\r\n220 next", consumed);
  REQUIRE(r);
  CHECK(consumed == 22);
  CHECK(r->lines == std::vector<std::string>{"mx.example.org", "PIPELINING", "SIZE 100"});
  CHECK_FALSE(parser.feed("220 next", consumed));
  CHECK(consumed == 8);
  CHECK_FALSE(parser.feed("", consumed));
  CHECK(consumed == 0);
}

TEST_CASE("multi-line EHLO split at every offset gives the same replies", "[smtp]")
{
  // Postfix's EHLO reply between its greeting and the reply to the next command.
  std::string wire = "220 mx.example.org ESMTP Postfix (Debian/GNU)\r\n"
                     "250-mx.example.org\r\n"
                     "250-PIPELINING\r\n"
                     "250-SIZE 10240000\r\n"
                     "250-VRFY\r\n"
                     "250-ETRN\r\n"
                     "250-STARTTLS\r\n"
                     "250-AUTH PLAIN LOGIN\r\n"
                     "250-AUTH=PLAIN LOGIN\r\n"
                     "250-ENHANCEDSTATUSCODES\r\n"
                     "250-8BITMIME\r\n"
                     "250-DSN\r\n"
                     "250-SMTPUTF8\r\n"
                     "250 CHUNKING\r\n"
                     "250 2.1.0 Ok\n"
                     "550-5.1.1 The email account that you tried to reach does not exist.\r\n"
                     "550 5.1.1 Please try double-checking. - gsmtp\r\n";
  auto whole = parse_whole(wire);
  REQUIRE(whole.replies.size() == 4);
  CHECK(whole.end == wire.size());
  CHECK(whole.replies[1].lines.size() == 13);
  auto ext = Extensions::from_ehlo(whole.replies[1]);
  CHECK(ext.auth == std::vector<std::string>{"PLAIN", "LOGIN"});
  CHECK(ext.size == std::uint64_t{10240000});
  CHECK(whole.replies[2].enhanced.text() == "2.1.0");
  CHECK(whole.replies[3].text() ==
        "The email account that you tried to reach does not exist. Please try "
        "double-checking. - gsmtp");

  auto check_same = [&](const Parsed& p) {
    REQUIRE(p.replies.size() == whole.replies.size());
    for (std::size_t i = 0; i < p.replies.size(); ++i) {
      CHECK(same(p.replies[i], whole.replies[i]));
    }
    CHECK(p.end == whole.end);
  };
  for (std::size_t a = 0; a <= wire.size(); ++a) {
    check_same(parse(wire, {a}));
    for (std::size_t b = a; b <= wire.size(); b += 11) {
      check_same(parse(wire, {a, b}));
    }
  }
  std::vector<std::size_t> cuts;
  for (std::size_t i = 1; i < wire.size(); ++i) {
    cuts.push_back(i);
  }
  check_same(parse(wire, cuts));
}

TEST_CASE("enhanced status codes", "[smtp]")
{
  CHECK(EnhancedCode{}.text().empty());
  CHECK_FALSE(EnhancedCode{}.present());
  CHECK((EnhancedCode{5, 1, 1}.text()) == "5.1.1");
  CHECK((EnhancedCode{4, 7, 100}.text()) == "4.7.100");

  // Postfix sends them even when the client does not know about ENHANCEDSTATUSCODES.
  auto rejected = reply_of("550 5.1.1 <nobody@example.org>: Recipient address rejected: "
                           "User unknown in local recipient table\r\n");
  CHECK(rejected.enhanced.present());
  CHECK(rejected.enhanced.class_ == 5);
  CHECK(rejected.enhanced.subject == 1);
  CHECK(rejected.enhanced.detail == 1);
  CHECK(rejected.lines.front().starts_with("5.1.1 <nobody"));
  CHECK(rejected.text() == "<nobody@example.org>: Recipient address rejected: User unknown in "
                           "local recipient table");

  CHECK(reply_of("450 4.2.0 <a@b>: Recipient address rejected: Greylisted\r\n", true)
            .enhanced.text() == "4.2.0");
  CHECK(reply_of("250 2.0.0\r\n").enhanced.text() == "2.0.0");
  CHECK(reply_of("250 2.0.0\r\n").text().empty());
  CHECK(reply_of("250 2.1.5 Ok\r\n").text() == "Ok");

  // A class that does not match the reply is taken only once the server promised codes.
  CHECK_FALSE(reply_of("250 5.0.0 odd\r\n").enhanced.present());
  CHECK(reply_of("250 5.0.0 odd\r\n").text() == "5.0.0 odd");
  CHECK(reply_of("250 5.0.0 odd\r\n", true).enhanced.text() == "5.0.0");

  // Things that only look like one.
  for (auto wire : {"250 1.2.3.4 is your address\r\n", "250 2.0 Ok\r\n", "250 2.0.0x Ok\r\n",
                    "250 2.1000.0 Ok\r\n", "250 2..0 Ok\r\n", "250 2.0.0.1 Ok\r\n",
                    "250 3.0.0 Ok\r\n", "250 Ok 2.0.0\r\n"}) {
    INFO(wire);
    CHECK_FALSE(reply_of(wire, true).enhanced.present());
  }
  CHECK(reply_of("250 2.0.0.1 Ok\r\n", true).text() == "2.0.0.1 Ok");

  // Only the first line decides; every line's code is stripped from text().
  auto multi = reply_of("550-5.7.1 first\r\n550 5.7.1 second\r\n", true);
  CHECK(multi.enhanced.text() == "5.7.1");
  CHECK(multi.text() == "first second");
  CHECK_FALSE(reply_of("550-first\r\n550 5.7.1 second\r\n", true).enhanced.present());
}

TEST_CASE("malformed reply lines are protocol errors that name the problem", "[smtp]")
{
  CHECK_THROWS_AS(feed_all("25\r\n"), mw::ProtocolError);
  CHECK_THROWS_WITH(feed_all("25\r\n"), Contains("no 3-digit reply code") && Contains("'25'"));
  CHECK_THROWS_WITH(feed_all("\r\n"), Contains("no 3-digit reply code"));
  CHECK_THROWS_WITH(feed_all("2x0 ok\r\n"), Contains("no 3-digit reply code"));
  CHECK_THROWS_WITH(feed_all("2500 x\r\n"), Contains("neither ' ' nor '-'"));
  CHECK_THROWS_WITH(feed_all("250\tx\r\n"), Contains("neither ' ' nor '-'"));
  CHECK_THROWS_WITH(feed_all("250-a\r\n251 b\r\n"),
                    Contains("code 251") && Contains("began with 250"));
  CHECK_THROWS_WITH(feed_all("650 x\r\n"), Contains("outside 200-599"));
  CHECK_THROWS_WITH(feed_all("099 x\r\n"), Contains("outside 200-599"));
  CHECK_THROWS_WITH(feed_all("* OK IMAP4rev1 ready\r\n"), Contains("no 3-digit reply code"));
  CHECK_THROWS_WITH(feed_all("+OK POP3 ready\r\n"), Contains("no 3-digit reply code"));

  // A 10 KB line, whole and in pieces, with and without its line ending.
  std::string long_line = "250 " + std::string(10 * 1024, 'x');
  CHECK_THROWS_WITH(feed_all(long_line + "\r\n"), Contains("longer than 8192"));
  CHECK_THROWS_WITH(feed_all(long_line), Contains("longer than 8192"));
  auto in_pieces = [&] {
    ReplyParser parser;
    for (std::size_t i = 0; i < long_line.size(); i += 100) {
      std::size_t consumed = 0;
      parser.feed(std::string_view(long_line).substr(i, 100), consumed);
    }
  };
  CHECK_THROWS_AS(in_pieces(), mw::ProtocolError);
  // The limit is on one line, not on a reply.
  std::string many;
  for (int i = 0; i < 100; ++i) {
    many += "250-" + std::string(1000, 'y') + "\r\n";
  }
  many += "250 end\r\n";
  CHECK(reply_of(many).lines.size() == 101);
  CHECK(reply_of("250 " + std::string(k_max_line - 6, 'z') + "\r\n").lines.size() == 1);

  // Binary junk, e.g. a TLS record on a plain-text connection.
  std::string junk("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\x00\xff\n", 14);
  CHECK_THROWS_WITH(feed_all(junk), Contains("no 3-digit reply code") && Contains("'????"));
  std::string binary;
  for (int i = 0; i < 20000; ++i) {
    binary += static_cast<char>((i * 7919) % 256);
  }
  CHECK_THROWS_AS(feed_all(binary), mw::ProtocolError);
  std::string nul("250 a\0b\r\n", 9);
  CHECK(reply_of(nul).lines.front().size() == 3);

  // After an error the parser starts afresh with the next line.
  ReplyParser parser;
  std::size_t consumed = 0;
  CHECK_THROWS_AS(parser.feed("250-a\r\n251 b\r\n", consumed), mw::ProtocolError);
  auto next = parser.feed("221 bye\r\n", consumed);
  REQUIRE(next);
  CHECK(next->code == 221);
  CHECK(next->lines == std::vector<std::string>{"bye"});
}

TEST_CASE("EHLO keywords", "[smtp]")
{
  auto ext = Extensions::from_ehlo(reply_of("250-smtp.example.com Hello client [192.0.2.1]\r\n"
                                            "250-pipelining\r\n"
                                            "250-Size 52428800\r\n"
                                            "250-8bitmime\r\n"
                                            "250-StartTLS\r\n"
                                            "250-enhancedstatuscodes\r\n"
                                            "250-auth login plain xoauth2\r\n"
                                            "250-AUTH=LOGIN\r\n"
                                            "250-dsn\r\n"
                                            "250-smtputf8\r\n"
                                            "250-chunking\r\n"
                                            "250-X-UNKNOWN-THING 1 2\r\n"
                                            "250 HELP\r\n"));
  CHECK(ext.known);
  CHECK(ext.greeting_name == "smtp.example.com");
  CHECK(ext.pipelining);
  CHECK(ext.size == std::uint64_t{52428800});
  CHECK(ext.eight_bit_mime);
  CHECK(ext.starttls);
  CHECK(ext.enhanced_status_codes);
  CHECK(ext.dsn);
  CHECK(ext.smtputf8);
  CHECK(ext.chunking);
  CHECK(ext.auth == std::vector<std::string>{"LOGIN", "PLAIN", "XOAUTH2"});

  // The obsolete form alone, SIZE without a number, and nothing else.
  auto old = Extensions::from_ehlo(reply_of("250-old.example.net\r\n"
                                            "250-AUTH=LOGIN PLAIN\r\n"
                                            "250 SIZE\r\n"));
  CHECK(old.auth == std::vector<std::string>{"LOGIN", "PLAIN"});
  CHECK(old.size == std::uint64_t{0});
  CHECK_FALSE(old.pipelining);
  CHECK_FALSE(old.starttls);
  CHECK_FALSE(old.eight_bit_mime);

  // SIZE 0 means no fixed limit; an unreadable number is treated the same.
  CHECK(Extensions::from_ehlo(reply_of("250-a\r\n250 SIZE 0\r\n")).size == std::uint64_t{0});
  CHECK(Extensions::from_ehlo(reply_of("250-a\r\n250 SIZE 12abc\r\n")).size == std::uint64_t{0});
  CHECK(Extensions::from_ehlo(reply_of("250-a\r\n250 SIZE 99999999999999999999999\r\n")).size ==
        std::uint64_t{0});

  // A one-line reply offers nothing; not offering SIZE is nullopt.
  auto plain = Extensions::from_ehlo(reply_of("250 tiny.example\r\n"));
  CHECK(plain.known);
  CHECK(plain.greeting_name == "tiny.example");
  CHECK_FALSE(plain.size);
  CHECK(plain.auth.empty());

  // A refused EHLO (the client falls back to HELO).
  auto refused = Extensions::from_ehlo(reply_of("502 5.5.2 Error: command not recognized\r\n"));
  CHECK_FALSE(refused.known);
  CHECK_FALSE(refused.size);
  CHECK(refused.greeting_name.empty());
  CHECK_FALSE(Extensions::from_ehlo(Reply{}).known);
}

TEST_CASE("SMTP command encoding", "[smtp]")
{
  CHECK(ehlo("client.example.org") == "EHLO client.example.org\r\n");
  CHECK(ehlo("[192.0.2.1]") == "EHLO [192.0.2.1]\r\n");
  CHECK(helo("client.example.org") == "HELO client.example.org\r\n");
  CHECK_THROWS_AS(ehlo("evil\r\nMAIL FROM:<>"), mw::UsageError);
  CHECK_THROWS_AS(helo("a\nb"), mw::UsageError);
  CHECK_THROWS_AS(ehlo(""), mw::UsageError);
  CHECK_THROWS_AS(ehlo("two words"), mw::UsageError);

  CHECK(mail_from("Smith@bar.com", {}) == "MAIL FROM:<Smith@bar.com>\r\n");
  CHECK(mail_from("", {}) == "MAIL FROM:<>\r\n");
  MailParameters all;
  all.size = 12345;
  all.eight_bit = true;
  all.smtputf8 = true;
  all.ret = "hdrs";
  all.envid = "QQ314159+x=y";
  CHECK(mail_from("jöe@example.org", all) == "MAIL FROM:<jöe@example.org> SIZE=12345 "
                                             "BODY=8BITMIME SMTPUTF8 RET=HDRS "
                                             "ENVID=QQ314159+2Bx+3Dy\r\n");
  MailParameters full;
  full.ret = "FULL";
  CHECK(mail_from("a@b", full) == "MAIL FROM:<a@b> RET=FULL\r\n");
  MailParameters bad_ret;
  bad_ret.ret = "ALL";
  CHECK_THROWS_AS(mail_from("a@b", bad_ret), mw::UsageError);
  CHECK_THROWS_AS(mail_from("a@b\r\nRCPT TO:<c@d>", {}), mw::UsageError);
  CHECK_THROWS_AS(mail_from("<a@b>", {}), mw::UsageError);
  CHECK_THROWS_AS(mail_from("a\x7f@b", {}), mw::UsageError);

  CHECK(rcpt_to("Jones@foo.com", {}) == "RCPT TO:<Jones@foo.com>\r\n");
  RcptParameters dsn;
  dsn.notify = "success,FAILURE";
  dsn.orcpt = true;
  CHECK(rcpt_to("a+b@example.org", dsn) ==
        "RCPT TO:<a+b@example.org> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;a+2Bb@example.org\r\n");
  RcptParameters never;
  never.notify = "NEVER";
  CHECK(rcpt_to("x@y", never) == "RCPT TO:<x@y> NOTIFY=NEVER\r\n");
  RcptParameters delay;
  delay.notify = "DELAY";
  CHECK(rcpt_to("x@y", delay) == "RCPT TO:<x@y> NOTIFY=DELAY\r\n");
  for (auto notify : {"NEVER,SUCCESS", "SOMETIMES", "SUCCESS,", ",FAILURE", "SUCCESS FAILURE"}) {
    INFO(notify);
    RcptParameters bad;
    bad.notify = notify;
    CHECK_THROWS_AS(rcpt_to("x@y", bad), mw::UsageError);
  }
  CHECK_THROWS_AS(rcpt_to("x@y\n", {}), mw::UsageError);
  CHECK_THROWS_AS(rcpt_to("x@y> NOTIFY=NEVER", {}), mw::UsageError);
}

TEST_CASE("xtext", "[smtp]")
{
  CHECK(xtext("").empty());
  CHECK(xtext("user@example.com") == "user@example.com");
  CHECK(xtext("a+b=c d") == "a+2Bb+3Dc+20d");
  CHECK(xtext("!~") == "!~");
  CHECK(xtext("\r\n\t") == "+0D+0A+09");
  CHECK(xtext("\x7f") == "+7F");
  CHECK(xtext("ü") == "+C3+BC");
  CHECK(xtext(std::string("\0", 1)) == "+00");
}

TEST_CASE("DATA encoder: line endings and dot-stuffing", "[smtp]")
{
  struct Case {
    std::string input;
    std::string expected;
  };
  std::vector<Case> cases = {
      {"a\r\nb\r\n", "a\r\nb\r\n.\r\n"},
      {"a\nb\n", "a\r\nb\r\n.\r\n"},
      {"a\rb\r", "a\r\nb\r\n.\r\n"},
      {"a\r\nb\nc\rd", "a\r\nb\r\nc\r\nd\r\n.\r\n"},
      {"\r\r\n\n\r", "\r\n\r\n\r\n\r\n.\r\n"},
      {"\n\r\n\r", "\r\n\r\n\r\n.\r\n"},
      {"", ".\r\n"},
      {"\n", "\r\n.\r\n"},
      {"no newline at the end", "no newline at the end\r\n.\r\n"},
      {".", "..\r\n.\r\n"},
      {".\r\n", "..\r\n.\r\n"},
      {".starts with a dot\n", "..starts with a dot\r\n.\r\n"},
      {"x\n.after LF\n", "x\r\n..after LF\r\n.\r\n"},
      {"x\r.after CR\r", "x\r\n..after CR\r\n.\r\n"},
      {"x\r\n.after CRLF", "x\r\n..after CRLF\r\n.\r\n"},
      {"x\n.\ny\n", "x\r\n..\r\ny\r\n.\r\n"},
      {"x\r\n.\r\n", "x\r\n..\r\n.\r\n"},
      {"..\n...\n", "...\r\n....\r\n.\r\n"},
      {"a.b\n a .\n", "a.b\r\n a .\r\n.\r\n"},
      {"\n.\n", "\r\n..\r\n.\r\n"},
      {"\r.\r", "\r\n..\r\n.\r\n"},
      {"Subject: x\r\n\r\nbody\n.\n..\nend", "Subject: x\r\n\r\nbody\r\n..\r\n...\r\nend\r\n.\r\n"},
  };
  for (const auto& c : cases) {
    INFO("input: " << c.input.size() << " octets '" << c.input << "'");
    CHECK(encode(c.input) == c.expected);
    // Split at every offset and at every pair of offsets: the same output.
    for (std::size_t a = 0; a <= c.input.size(); ++a) {
      CHECK(encode(c.input, {a}) == c.expected);
      for (std::size_t b = a; b <= c.input.size(); ++b) {
        CHECK(encode(c.input, {a, b}) == c.expected);
      }
    }
    std::vector<std::size_t> bytes;
    for (std::size_t i = 0; i <= c.input.size(); ++i) {
      bytes.push_back(i);
    }
    CHECK(encode(c.input, bytes) == c.expected);
  }
}

TEST_CASE("DATA encoder: a longer mixed message split at every offset", "[smtp]")
{
  std::string input = "From: a@example.org\r\n"
                      "Subject: dots\n"
                      "\r"
                      ".leading\r\n"
                      "..two\n"
                      ".\r"
                      "mid.dle\r\r\n"
                      "caf\xc3\xa9\n"
                      ".";
  std::string expected = "From: a@example.org\r\n"
                         "Subject: dots\r\n"
                         "\r\n"
                         "..leading\r\n"
                         "...two\r\n"
                         "..\r\n"
                         "mid.dle\r\n\r\n"
                         "caf\xc3\xa9\r\n"
                         "..\r\n"
                         ".\r\n";
  CHECK(encode(input) == expected);
  for (std::size_t a = 0; a <= input.size(); ++a) {
    for (std::size_t b = a; b <= input.size(); ++b) {
      for (std::size_t c = b; c <= input.size(); c += 5) {
        CHECK(encode(input, {a, b, c}) == expected);
      }
    }
  }
}

TEST_CASE("DATA encoder: longest line and 8-bit content", "[smtp]")
{
  DataEncoder encoder;
  std::string out;
  encoder.encode("abc\nabcdef\r\n.xy", out);
  CHECK(encoder.longest_line() == 6);
  CHECK_FALSE(encoder.eight_bit());
  encoder.encode("zzzzz", out);  // the last line grows across chunks: ".xyzzzzz"
  CHECK(encoder.longest_line() == 6);
  encoder.finish(out);
  CHECK(encoder.longest_line() == 8);
  CHECK(out == "abc\r\nabcdef\r\n..xyzzzzz\r\n.\r\n");

  DataEncoder wide;
  std::string sink;
  std::string line(999, 'w');
  wide.encode(line, sink);
  wide.encode("\r", sink);
  wide.encode("\nshort\n", sink);
  wide.finish(sink);
  CHECK(wide.longest_line() == 999);

  DataEncoder eight;
  eight.encode("plain\n", sink);
  CHECK_FALSE(eight.eight_bit());
  eight.encode("Gr\xc3\xbc\xc3\x9f"
               "e\n",
               sink);
  CHECK(eight.eight_bit());
  eight.encode("ascii again\n", sink);
  CHECK(eight.eight_bit());

  // After finish() the encoder starts a new message at the start of a line.
  DataEncoder twice;
  std::string first;
  twice.encode("one", first);
  twice.finish(first);
  std::string second;
  twice.encode(".two\r", second);
  twice.finish(second);
  CHECK(first == "one\r\n.\r\n");
  CHECK(second == "..two\r\n.\r\n");
}

TEST_CASE("queue ids from the final reply to DATA", "[smtp]")
{
  CHECK(queue_id_of("250 2.0.0 Ok: queued as 4Xyz12\r\n") == "4Xyz12");
  CHECK(queue_id_of("250 Ok: queued as 4T5jH81Q1Mz9vX9\r\n") == "4T5jH81Q1Mz9vX9");
  CHECK(queue_id_of("250 OK id=1abc-00012-AB\r\n") == "1abc-00012-AB");
  CHECK(queue_id_of("250 2.0.0 x8FHiLxx012345 Message accepted for delivery\r\n") ==
        "x8FHiLxx012345");
  CHECK(queue_id_of("250 2.6.0 <id@host> [InternalId=123] Queued mail for delivery\r\n") ==
        "<id@host>");
  CHECK(queue_id_of("250 2.0.0 OK  1700000000 a1-20020a05.123 - gsmtp\r\n") == "a1-20020a05.123");
  CHECK(queue_id_of("250 ok 1700000000 qp 1234\r\n") == "qp 1234");
  CHECK(queue_id_of("250 Ok 0100018bd2a1b2c3-4d5e6f70-0000-000000\r\n") ==
        "0100018bd2a1b2c3-4d5e6f70-0000-000000");
  CHECK(queue_id_of("250-2.0.0 Ok\r\n250 2.0.0 queued as ABC123.\r\n") == "ABC123");
  // Parsed with ENHANCEDSTATUSCODES on or off, the same.
  CHECK(queue_id(reply_of("250 2.0.0 Ok: queued as 4Xyz12\r\n", true)) == "4Xyz12");

  // Nothing plausible.
  for (auto wire :
       {"250 OK\r\n", "250 2.0.0 Ok\r\n", "250 Message accepted\r\n", "250 2.0.0 OK - gsmtp\r\n",
        "250 Great success\r\n", "250\r\n", "250 ok 1700000000\r\n", "250 Ok: queued as\r\n",
        "554 5.7.1 queued as 4Xyz12\r\n", "451 4.3.0 id=1abc-00012-AB\r\n"}) {
    INFO(wire);
    CHECK_FALSE(queue_id_of(wire));
  }
  CHECK_FALSE(queue_id(Reply{}));
}

TEST_CASE("the commands without arguments, AUTH and BDAT are written by the encoders", "[smtp]")
{
  CHECK(mw::smtp::starttls() == "STARTTLS\r\n");
  CHECK(mw::smtp::data() == "DATA\r\n");
  CHECK(mw::smtp::rset() == "RSET\r\n");
  CHECK(mw::smtp::quit() == "QUIT\r\n");
  CHECK(mw::smtp::bdat_last(1234) == "BDAT 1234 LAST\r\n");
  CHECK(mw::smtp::auth("PLAIN", "AHRpbQB0YW5zdGFhZnRhbnN0YWFm") ==
        "AUTH PLAIN AHRpbQB0YW5zdGFhZnRhbnN0YWFm\r\n");
  CHECK(mw::smtp::auth("CRAM-MD5", std::nullopt) == "AUTH CRAM-MD5\r\n");
  CHECK(mw::smtp::auth("PLAIN", "=") == "AUTH PLAIN =\r\n");
  CHECK_THROWS_AS(mw::smtp::auth("PLAIN\r\nQUIT", std::nullopt), mw::UsageError);
  CHECK_THROWS_AS(mw::smtp::auth("PLAIN", "abc\r\nRSET"), mw::UsageError);
  CHECK_THROWS_AS(mw::smtp::auth("", std::nullopt), mw::UsageError);
}

TEST_CASE("AUTH responses, the end of data and BDAT data are written by the encoders", "[smtp]")
{
  // RFC 4954 section 4: a base64 response, an empty one, and "*" to cancel.
  CHECK(mw::smtp::auth_response("dGVzdAB0ZXN0ADEyMzQ=") == "dGVzdAB0ZXN0ADEyMzQ=\r\n");
  CHECK(mw::smtp::auth_response("") == "\r\n");
  CHECK(mw::smtp::auth_response("*") == "*\r\n");
  CHECK_THROWS_AS(mw::smtp::auth_response("abc\r\nQUIT"), mw::UsageError);
  CHECK_THROWS_AS(mw::smtp::auth_response("two words"), mw::UsageError);
  CHECK_THROWS_AS(mw::smtp::auth_response(std::string_view("a\0b", 3)), mw::UsageError);

  // RFC 5321 section 4.1.1.4: "." alone ends the data, also what the DATA encoder ends with.
  CHECK(mw::smtp::end_of_data() == ".\r\n");
  DataEncoder encoder;
  std::string out;
  encoder.finish(out);
  CHECK(out == mw::smtp::end_of_data());

  // RFC 3030 section 2: CRLF line endings, no dot-stuffing, a last CRLF added.
  CHECK(mw::smtp::bdat_data("").empty());
  CHECK(mw::smtp::bdat_data("a\r\n.b\r\n") == "a\r\n.b\r\n");
  CHECK(mw::smtp::bdat_data("a\n.b\rc\r\n\nd") == "a\r\n.b\r\nc\r\n\r\nd\r\n");
  CHECK(mw::smtp::bdat_data("x\r") == "x\r\n");
  CHECK(mw::smtp::bdat_data("\r\r\n") == "\r\n\r\n");
}
