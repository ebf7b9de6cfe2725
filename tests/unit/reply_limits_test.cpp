// SPDX-License-Identifier: Apache-2.0
// Issue 11 item 10: a hostile server cannot make a LIST, UIDL or SMTP reply cost unbounded
// memory: row and line counts are capped with a ProtocolError (exit 76), and only bounded
// prefixes of the header fields shown or matched are kept.
#include "mail/headers.hpp"
#include "pop3/client.hpp"
#include "smtp/protocol.hpp"
#include "util/error.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstring>
#include <string>

using namespace mw;

namespace {

// A server that has sent `incoming` (handed out in 64 KiB reads) and ignores what it gets.
class ScriptStream : public net::Stream {
public:
  explicit ScriptStream(std::string incoming) : m_incoming(std::move(incoming)) {}
  std::size_t read_some(std::span<char> buf) override
  {
    auto n = std::min({buf.size(), std::size_t{65536}, m_incoming.size() - m_offset});
    std::memcpy(buf.data(), m_incoming.data() + m_offset, n);
    m_offset += n;
    return n;
  }
  void write(std::string_view) override {}
  void start_tls() override {}
  bool encrypted() const override { return false; }
  std::string tls_description() const override { return ""; }

private:
  std::string m_incoming;
  std::size_t m_offset = 0;
};

std::string rows(std::size_t count, const std::string& value)
{
  std::string out = "+OK\r\n";
  for (std::size_t i = 1; i <= count; ++i) {
    out += std::to_string(i) + " " + value + "\r\n";
  }
  return out + ".\r\n";
}

ExitCode code_of(const std::function<void()>& f, std::string& message)
{
  try {
    f();
  } catch (const Error& e) {
    message = e.what();
    return e.code();
  }
  return ExitCode::ok;
}

}  // namespace

TEST_CASE("LIST and UIDL: at most k_max_listing_rows rows", "[pop3][limits]")
{
  {
    ScriptStream server(rows(pop3::k_max_listing_rows, "100"));
    pop3::Client client(server);
    CHECK(client.list().size() == pop3::k_max_listing_rows);
  }
  {
    ScriptStream server(rows(pop3::k_max_listing_rows + 1, "100"));
    pop3::Client client(server);
    std::string message;
    CHECK(code_of([&] { client.list(); }, message) == ExitCode::protocol);
    CHECK_THAT(message, Catch::Contains("LIST") && Catch::Contains("1000000 rows"));
  }
  {
    ScriptStream server(rows(pop3::k_max_listing_rows + 1, "u"));
    pop3::Client client(server);
    std::string message;
    CHECK(code_of([&] { client.uidl(); }, message) == ExitCode::protocol);
    CHECK_THAT(message, Catch::Contains("UIDL") && Catch::Contains("rows"));
  }
}

TEST_CASE("CAPA: at most k_max_capa_octets", "[pop3][limits]")
{
  std::string capa = "+OK\r\nUSER\r\n";
  while (capa.size() < pop3::k_max_capa_octets) {
    capa += "SASL A B C D E F G H I J K L M N O P Q R S T U V W X Y Z\r\n";
  }
  ScriptStream server(capa + ".\r\n");
  pop3::Client client(server);
  std::string message;
  CHECK(code_of([&] { client.capa(); }, message) == ExitCode::protocol);
  CHECK_THAT(message, Catch::Contains("CAPA") && Catch::Contains("64 KiB"));
  ScriptStream honest("+OK\r\nUSER\r\nTOP\r\nSASL PLAIN LOGIN\r\n.\r\n");
  pop3::Client good(honest);
  CHECK(good.capa().sasl.size() == 2);
}

TEST_CASE("UIDL: at most k_max_uidl_octets of UIDs", "[pop3][limits]")
{
  // 8000 rows of 8000-octet UIDs: 61 MiB is accepted, 9000 rows (69 MiB) are not.
  const std::string uid(8000, 'u');
  {
    ScriptStream server(rows(8000, uid));
    pop3::Client client(server);
    CHECK(client.uidl()->size() == 8000);
  }
  ScriptStream server(rows(9000, uid));
  pop3::Client client(server);
  std::string message;
  CHECK(code_of([&] { client.uidl(); }, message) == ExitCode::protocol);
  CHECK_THAT(message, Catch::Contains("UIDL") && Catch::Contains("MiB"));
}

TEST_CASE("SMTP: a reply of more than k_max_reply_lines lines is an error", "[smtp][limits]")
{
  auto reply = [](std::size_t lines) {
    std::string wire;
    for (std::size_t i = 1; i < lines; ++i) {
      wire += "250-EXTENSION" + std::to_string(i) + "\r\n";
    }
    return wire + "250 last\r\n";
  };
  smtp::ReplyParser parser;
  std::size_t consumed = 0;
  const auto ok = reply(smtp::k_max_reply_lines);
  auto parsed = parser.feed(ok, consumed);
  REQUIRE(parsed);
  CHECK(parsed->lines.size() == smtp::k_max_reply_lines);
  const auto too_long = reply(smtp::k_max_reply_lines + 1);
  std::string message;
  CHECK(code_of([&] { parser.feed(too_long, consumed); }, message) == ExitCode::protocol);
  CHECK_THAT(message, Catch::Contains("more than 1000 lines"));
  // The parser starts afresh after the error.
  CHECK(parser.feed("250 ok\r\n", consumed));
}

TEST_CASE("Headers::keep_only keeps the named fields, bounded", "[mail][limits]")
{
  std::string block = "From: a@example.org\nX-Junk: " + std::string(100000, 'j') +
                      "\nSubject: " + std::string(5000, 's') + "\xc3\xa9" +
                      "\nReceived: " + std::string(3000, 'r') +
                      "\nReceived: " + std::string(3000, 'q') +
                      "\nDate: Mon, 1 Jun 2020 12:00:00 +0000\n\n";
  auto headers = mail::Headers::parse(block);
  headers.keep_only({"from", "SUBJECT", "Received", "Date"}, 4096, 10000);
  REQUIRE(headers.fields().size() == 4);  // the second Received does not fit in 10000
  CHECK(headers.fields()[0].value == "a@example.org");
  CHECK(headers.fields()[1].value == std::string(4096, 's'));
  CHECK(headers.fields()[2].value == std::string(3000, 'r'));
  CHECK(headers.get("Date") == "Mon, 1 Jun 2020 12:00:00 +0000");
  CHECK_FALSE(headers.get("X-Junk"));

  // A cut never ends inside a UTF-8 character.
  auto accented = mail::Headers::parse("Subject: " + std::string(4095, 's') + "\xc3\xa9\n\n");
  accented.keep_only({"Subject"}, 4096, 10000);
  CHECK(accented.get("Subject") == std::string(4095, 's'));
}
