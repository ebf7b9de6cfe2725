// SPDX-License-Identifier: Apache-2.0
// Issue 17 item 5: LMTP (RFC 2033) in the sans-IO SMTP core and the client over it: LHLO, and
// after the message one reply per accepted RCPT, in the order of the RCPT commands.
#include "smtp/client.hpp"
#include "smtp/protocol.hpp"
#include "util/error.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

using namespace mw;
using namespace mw::smtp;

namespace {

// RFC 2033 section 4.3's example session, the server's side (the client's lines are below).
const std::string k_rfc_server = "220 foo.edu LMTP server ready\r\n"
                                 "250-foo.edu\r\n"
                                 "250-PIPELINING\r\n"
                                 "250 SIZE\r\n"
                                 "250 OK\r\n"
                                 "250 OK\r\n"
                                 "550 No such user here\r\n"
                                 "250 OK\r\n"
                                 "354 Start mail input; end with <CRLF>.<CRLF>\r\n"
                                 "250 OK\r\n"
                                 "452 <green@foo.edu> is temporarily over quota\r\n"
                                 "221 foo.edu closing connection\r\n";

const std::string k_rfc_client = "LHLO foo.edu\r\n"
                                 "MAIL FROM:<chris@bar.com>\r\n"
                                 "RCPT TO:<pat@foo.edu>\r\n"
                                 "RCPT TO:<jones@foo.edu>\r\n"
                                 "RCPT TO:<green@foo.edu>\r\n"
                                 "DATA\r\n"
                                 "Blah blah blah...\r\n"
                                 "...etc. etc. etc.\r\n"
                                 ".\r\n"
                                 "QUIT\r\n";

// Every reply in `wire`, the input cut at `cut` (as a read would).
std::vector<Reply> replies_of(std::string_view wire, std::size_t cut)
{
  ReplyParser parser;
  std::vector<Reply> out;
  for (auto chunk : {wire.substr(0, cut), wire.substr(cut)}) {
    while (true) {
      std::size_t consumed = 0;
      auto reply = parser.feed(chunk, consumed);
      chunk.remove_prefix(consumed);
      if (!reply) {
        break;
      }
      out.push_back(*reply);
    }
  }
  return out;
}

// A server that answers each command line the client writes with the next of `answers` (the
// first is the greeting), the message after DATA's 354 once its final "." arrives; reads hand
// out what has been answered, `step` octets at most. It records what it got.
class ScriptStream : public net::Stream {
public:
  ScriptStream(std::vector<std::string> answers, std::size_t step)
      : m_answers(std::move(answers)), m_step(step)
  {
    release();
  }
  std::size_t read_some(std::span<char> buf) override
  {
    auto n = std::min({buf.size(), m_step, m_out.size() - m_offset});
    std::memcpy(buf.data(), m_out.data() + m_offset, n);
    m_offset += n;
    return n;
  }
  void write(std::string_view data) override
  {
    written.append(data);
    for (auto end = written.find("\r\n", m_seen); end != std::string::npos;
         end = written.find("\r\n", m_seen)) {
      const auto line = written.substr(m_seen, end - m_seen);
      m_seen = end + 2;
      if (m_in_data) {
        m_in_data = line != ".";
        if (!m_in_data) {
          release();
        }
        continue;
      }
      const bool is_data = line == "DATA";
      if (release().starts_with("354") && is_data) {
        m_in_data = true;
      }
    }
  }
  void start_tls() override {}
  bool encrypted() const override { return false; }
  std::string tls_description() const override { return ""; }

  std::string written;

private:
  std::string release()
  {
    if (m_next >= m_answers.size()) {
      return "";
    }
    m_out += m_answers[m_next];
    return m_answers[m_next++];
  }

  std::vector<std::string> m_answers;
  std::size_t m_step;
  std::size_t m_next = 0;
  std::string m_out;
  std::size_t m_offset = 0;
  std::size_t m_seen = 0;
  bool m_in_data = false;
};

// RFC 2033's server side, one answer per client line (the replies after the dot together).
std::vector<std::string> rfc_answers()
{
  return {"220 foo.edu LMTP server ready\r\n",
          "250-foo.edu\r\n250-PIPELINING\r\n250 SIZE\r\n",
          "250 OK\r\n",
          "250 OK\r\n",
          "550 No such user here\r\n",
          "250 OK\r\n",
          "354 Start mail input; end with <CRLF>.<CRLF>\r\n",
          "250 OK\r\n452 <green@foo.edu> is temporarily over quota\r\n",
          "221 foo.edu closing connection\r\n"};
}

}  // namespace

TEST_CASE("LHLO is LMTP's EHLO, checked like it", "[lmtp]")
{
  CHECK(lhlo("foo.edu") == "LHLO foo.edu\r\n");
  CHECK_THROWS_AS(lhlo("two words"), UsageError);
  CHECK_THROWS_AS(lhlo("a\r\nMAIL FROM:<x>"), UsageError);
  CHECK_THROWS_AS(lhlo(""), UsageError);
}

TEST_CASE("LMTP: RFC 2033's example, one reply per accepted RCPT after the dot", "[lmtp]")
{
  // The server's replies, parsed with the input cut at every offset.
  for (std::size_t cut = 0; cut <= k_rfc_server.size(); ++cut) {
    auto replies = replies_of(k_rfc_server, cut);
    REQUIRE(replies.size() == 10);
    // greeting, LHLO, MAIL, three RCPTs, 354, then the replies after the dot.
    std::vector<Reply> rcpt(replies.begin() + 3, replies.begin() + 6);
    LmtpReplies sequence(rcpt);
    CHECK(sequence.due() == 2);
    CHECK(sequence.take(replies[7]) == 0);  // pat
    CHECK(sequence.due() == 1);
    CHECK(sequence.take(replies[8]) == 2);  // green: jones was refused at RCPT
    CHECK(sequence.due() == 0);
    const auto& by_recipient = sequence.replies();
    REQUIRE(by_recipient.size() == 3);
    REQUIRE(by_recipient[0]);
    CHECK(by_recipient[0]->code == 250);
    CHECK_FALSE(by_recipient[1]);
    REQUIRE(by_recipient[2]);
    CHECK(by_recipient[2]->code == 452);
    CHECK(by_recipient[2]->text() == "<green@foo.edu> is temporarily over quota");
  }
}

TEST_CASE("LMTP: a reply after the last one due is out of step", "[lmtp]")
{
  Reply ok{250, {"OK"}, {}};
  Reply refused{550, {"No such user here"}, {}};
  LmtpReplies sequence({ok, refused});
  CHECK(sequence.take(ok) == 0);
  CHECK(sequence.due() == 0);
  CHECK_THROWS_AS(sequence.take(ok), ProtocolError);

  LmtpReplies nobody({refused, refused});
  CHECK(nobody.due() == 0);
  CHECK(nobody.replies().size() == 2);
  CHECK_THROWS_AS(nobody.take(ok), ProtocolError);
}

TEST_CASE("LMTP: the client speaks RFC 2033's example session byte for byte", "[lmtp]")
{
  for (std::size_t step : {std::size_t{1}, std::size_t{7}, std::size_t{65536}}) {
    ScriptStream server(rfc_answers(), step);
    Client client(server);
    client.set_lmtp(true);
    client.read_greeting();
    const auto& ext = client.hello("foo.edu");
    CHECK(ext.pipelining);
    std::vector<Recipient> recipients{
        {"pat@foo.edu", {}}, {"jones@foo.edu", {}}, {"green@foo.edu", {}}};
    // The RFC's "...etc. etc. etc." is the wire form: the line is "..etc. etc. etc.", dot-stuffed.
    auto t = client.send("chris@bar.com", {}, recipients,
                         "Blah blah blah...\r\n..etc. etc. etc.\r\n", Chunking::no);
    client.quit();
    CHECK(server.written == k_rfc_client);
    CHECK(t.sent);
    REQUIRE(t.recipients.size() == 3);
    CHECK(t.recipients[1].code == 550);
    REQUIRE(t.delivery.size() == 3);
    REQUIRE(t.delivery[0]);
    CHECK(t.delivery[0]->code == 250);
    CHECK_FALSE(t.delivery[1]);
    REQUIRE(t.delivery[2]);
    CHECK(t.delivery[2]->code == 452);
  }
}

TEST_CASE("LMTP: without PIPELINING the same replies, in lock-step", "[lmtp]")
{
  ScriptStream server({"220 lmtp ready\r\n", "250 lmtp\r\n", "250 2.1.0 OK\r\n",
                       "550 5.1.1 <x@foo.edu> User doesn't exist\r\n", "250 2.1.5 OK\r\n",
                       "354 go ahead\r\n", "250 2.0.0 <y@foo.edu> Saved\r\n", "221 bye\r\n"},
                      5);
  Client client(server);
  client.set_lmtp(true);
  client.read_greeting();
  client.hello("me.example");
  auto t =
      client.send("a@bar.com", {}, {{"x@foo.edu", {}}, {"y@foo.edu", {}}}, "Hi\r\n", Chunking::no);
  client.quit();
  CHECK(server.written == "LHLO me.example\r\nMAIL FROM:<a@bar.com>\r\nRCPT TO:<x@foo.edu>\r\n"
                          "RCPT TO:<y@foo.edu>\r\nDATA\r\nHi\r\n.\r\nQUIT\r\n");
  REQUIRE(t.delivery.size() == 2);
  CHECK_FALSE(t.delivery[0]);
  REQUIRE(t.delivery[1]);
  CHECK(t.delivery[1]->enhanced.text() == "2.0.0");
}

TEST_CASE("LMTP: a refused LHLO is not retried as HELO", "[lmtp]")
{
  ScriptStream server({"220 lmtp ready\r\n", "500 5.5.1 unknown command\r\n"}, 65536);
  Client client(server);
  client.set_lmtp(true);
  client.read_greeting();
  CHECK_THROWS_AS(client.hello("me.example"), Error);
  CHECK(server.written == "LHLO me.example\r\n");
}

TEST_CASE("SMTP keeps one reply after the dot", "[lmtp]")
{
  ScriptStream server({"220 smtp ready\r\n", "250-smtp\r\n250 PIPELINING\r\n", "250 OK\r\n",
                       "250 OK\r\n", "250 OK\r\n", "354 go\r\n", "250 queued as ABC123\r\n",
                       "221 bye\r\n"},
                      65536);
  Client client(server);
  client.read_greeting();
  client.hello("me.example");
  auto t =
      client.send("a@bar.com", {}, {{"x@foo.edu", {}}, {"y@foo.edu", {}}}, "Hi\r\n", Chunking::no);
  client.quit();
  CHECK(server.written.starts_with("EHLO me.example\r\n"));
  CHECK(t.delivery.empty());
  REQUIRE(t.data);
  CHECK(t.data->code == 250);
}

TEST_CASE("LMTP: a server that closes before every reply is in says how far it got", "[lmtp]")
{
  ScriptStream server({"220 lmtp ready\r\n", "250-lmtp\r\n250 PIPELINING\r\n", "250 OK\r\n",
                       "250 OK\r\n", "250 OK\r\n", "354 go\r\n", "250 2.0.0 <x@foo.edu> Saved\r\n"},
                      65536);
  Client client(server);
  client.set_lmtp(true);
  client.read_greeting();
  client.hello("me.example");
  try {
    client.send("a@bar.com", {}, {{"x@foo.edu", {}}, {"y@foo.edu", {}}}, "Hi\r\n", Chunking::no);
    FAIL("the missing reply was not noticed");
  } catch (const Error& e) {
    CHECK(e.code() == ExitCode::io);
    CHECK_THAT(e.what(), Catch::Contains("after 1 of the 2 LMTP replies"));
  }
}
