// SPDX-License-Identifier: Apache-2.0
#include "pop3/client.hpp"
#include "pop3/deleter.hpp"
#include "sasl/mechanism.hpp"
#include "util/base64.hpp"
#include "util/error.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

using namespace mw;
using namespace mw::pop3;

namespace {

// A scripted server: read_some() hands out `incoming` in chunks of `chunk` bytes, as a server
// answers: the greeting, then one reply per command line written, not before the command
// (a client in lock-step takes bytes that arrived early for a reply nobody asked for). With
// `early`, everything after the greeting comes with the reply to the first command (a server
// that talks out of turn). write() records what the client sent, one entry per call.
class FakeStream : public net::Stream {
public:
  explicit FakeStream(std::string incoming, std::size_t chunk = 1 << 20, bool early = false)
      : m_incoming(std::move(incoming)), m_chunk(chunk), m_early(early)
  {
  }

  std::size_t read_some(std::span<char> buf) override
  {
    auto limit = m_early && !m_written.empty() ? m_incoming.size() : owed_end();
    if (limit <= m_offset) {
      limit = m_incoming.size();  // read beyond the replies owed: whatever is left
    }
    auto n = std::min({buf.size(), m_chunk, limit - m_offset});
    std::memcpy(buf.data(), m_incoming.data() + m_offset, n);
    m_offset += n;
    return n;
  }
  void write(std::string_view data) override
  {
    writes.emplace_back(data);
    m_written += data;
  }
  void start_tls() override { tls = true; }
  bool encrypted() const override { return tls; }
  std::string tls_description() const override { return tls ? "TLS" : ""; }

  std::string sent() const
  {
    std::string all;
    for (const auto& w : writes) {
      all += w;
    }
    return all;
  }

  std::vector<std::string> writes;
  bool tls = false;

private:
  // Where the replies owed so far end: the greeting and one reply per line written, multi-line
  // when the command's +OK reply is (RFC 1939: CAPA, LIST and UIDL without argument, RETR, TOP).
  std::size_t owed_end() const
  {
    std::vector<std::string> lines;
    for (std::size_t at = 0, nl = 0; (nl = m_written.find("\r\n", at)) != std::string::npos;
         at = nl + 2) {
      lines.push_back(m_written.substr(at, nl - at));
    }
    std::size_t end = 0;
    for (std::size_t reply = 0; reply <= lines.size() && end < m_incoming.size(); ++reply) {
      auto status_end = m_incoming.find("\r\n", end);
      if (status_end == std::string::npos) {
        return m_incoming.size();
      }
      bool multi = false;
      if (reply > 0 && m_incoming.compare(end, 3, "+OK") == 0) {
        const auto& line = lines[reply - 1];
        auto verb = line.substr(0, line.find(' '));
        multi = verb == "CAPA" || verb == "RETR" || verb == "TOP" ||
                ((verb == "LIST" || verb == "UIDL") && line.find(' ') == std::string::npos);
      }
      if (!multi) {
        end = status_end + 2;
        continue;
      }
      auto dot = m_incoming.find("\r\n.\r\n", status_end);
      end = dot == std::string::npos ? m_incoming.size() : dot + 5;
    }
    return end;
  }

  std::string m_incoming;
  std::size_t m_chunk;
  bool m_early;
  std::size_t m_offset = 0;
  std::string m_written;
};

struct Recorder {
  std::vector<std::string> lines;
  Transcript hook()
  {
    return [this](char direction, std::string_view line) {
      lines.push_back(std::string(1, direction) + " " + std::string(line));
    };
  }
  bool contains(std::string_view needle) const
  {
    return std::any_of(lines.begin(), lines.end(),
                       [&](const std::string& l) { return l.find(needle) != std::string::npos; });
  }
};

ExitCode code_of(const std::function<void()>& f)
{
  try {
    f();
  } catch (const Error& e) {
    return e.code();
  }
  return ExitCode::ok;
}

// Collects the replies of requests 0, 1, ... (each request gets reply(index)).
class Collect {
public:
  Reply reply(std::size_t index)
  {
    return {[this, index](const Status& status) {
              statuses.resize(std::max(statuses.size(), index + 1));
              bodies.resize(statuses.size());
              statuses[index] = status;
            },
            [this, index](std::string_view data) { bodies[index] += data; }, [this] { ++ends; }};
  }

  std::vector<Status> statuses;
  std::vector<std::string> bodies;
  int ends = 0;
};

}  // namespace

TEST_CASE("an RFC 1939 session read one byte at a time", "[pop3-client]")
{
  FakeStream server("+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>\r\n"
                    "-ERR unknown command\r\n"
                    "+OK mrose's maildrop has 2 messages (320 octets)\r\n"
                    "+OK 2 320\r\n"
                    "+OK 2 messages (320 octets)\r\n1 120\r\n2 200\r\n.\r\n"
                    "+OK\r\n1 whqtswO00WBw418f9t5JxYwZ\r\n2 QhdPYR:00WBw1Ph7x7\r\n.\r\n"
                    "+OK dewey POP3 server signing off\r\n",
                    1);
  Client client(server);
  client.read_greeting();
  CHECK(apop_timestamp(client.greeting()) == "<1896.697170952@dbc.mtview.ca.us>");
  CHECK_FALSE(client.capa().known);
  client.login_apop("mrose", Secret("tanstaaf"));
  CHECK(server.sent().find("APOP mrose c4c9334bac560ecc979e58001b3e22fb\r\n") != std::string::npos);
  auto st = client.stat();
  CHECK(st.messages == 2);
  CHECK(st.octets == 320);
  auto list = client.list();
  REQUIRE(list.size() == 2);
  CHECK(list[1].octets == 200);
  auto ids = client.uidl();
  REQUIRE(ids);
  CHECK((*ids)[0].uid == "whqtswO00WBw418f9t5JxYwZ");
  CHECK(client.quit().ok());
}

TEST_CASE("USER/PASS: the password is sent but never shown", "[pop3-client]")
{
  FakeStream server("+OK ready\r\n+OK\r\n+OK logged in\r\n");
  Recorder transcript;
  Client client(server, transcript.hook());
  client.read_greeting();
  client.login_user("alice", Secret("s3cret!"));
  CHECK(server.sent() == "USER alice\r\nPASS s3cret!\r\n");
  CHECK(transcript.contains("> PASS <redacted>"));
  CHECK_FALSE(transcript.contains("s3cret"));
}

TEST_CASE("failed logins map RESP-CODES to exit codes", "[pop3-client]")
{
  auto login_with = [](const std::string& reply) {
    return code_of([&] {
      FakeStream server("+OK ready\r\n+OK\r\n" + reply + "\r\n");
      Client client(server);
      client.read_greeting();
      client.login_user("alice", Secret("pw"));
    });
  };
  CHECK(login_with("-ERR [AUTH] Authentication failed.") == ExitCode::permission);
  CHECK(login_with("-ERR invalid password") == ExitCode::permission);
  CHECK(login_with("-ERR [IN-USE] Mailbox locked") == ExitCode::temporary);
  CHECK(login_with("-ERR [LOGIN-DELAY] wait") == ExitCode::temporary);
  CHECK(login_with("-ERR [SYS/TEMP] try later") == ExitCode::temporary);
  CHECK(login_with("-ERR [SYS/PERM] disabled") == ExitCode::unavailable);
  // The message never contains the password.
  try {
    FakeStream server("+OK ready\r\n+OK\r\n-ERR [AUTH] no\r\n");
    Client client(server);
    client.read_greeting();
    client.login_user("alice", Secret("pw-in-message?"));
    FAIL("no exception");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("pw-in-message") == std::string::npos);
  }
}

TEST_CASE("a greeting with -ERR, a closed connection and garbage", "[pop3-client]")
{
  CHECK(code_of([] {
          FakeStream server("-ERR [SYS/TEMP] too busy\r\n");
          Client(server).read_greeting();
        }) == ExitCode::temporary);
  CHECK(code_of([] {
          FakeStream server("");
          Client(server).read_greeting();
        }) == ExitCode::io);
  CHECK(code_of([] {
          FakeStream server("* OK IMAP4 ready\r\n");
          Client(server).read_greeting();
        }) == ExitCode::protocol);
  CHECK(code_of([] {
          FakeStream server("+OK ready\r\n+OK\r\n1 120\r\n");  // LIST never terminated
          Client client(server);
          client.read_greeting();
          client.list();
        }) == ExitCode::io);
}

TEST_CASE("STLS: refused, injected data, and the upgrade", "[pop3-client]")
{
  {
    FakeStream server("+OK ready\r\n-ERR not now\r\n");
    Client client(server);
    client.read_greeting();
    CHECK(code_of([&] { client.stls(); }) == ExitCode::permission);
    CHECK_FALSE(server.tls);
  }
  {
    // A reply and a forged one in the same packet: the forged one must not be read as
    // coming over TLS.
    FakeStream server("+OK ready\r\n+OK begin TLS\r\n+OK injected\r\n", 1 << 20, true);
    Client client(server);
    client.read_greeting();
    CHECK(code_of([&] { client.stls(); }) == ExitCode::protocol);
    CHECK_FALSE(server.tls);
  }
  {
    FakeStream server("+OK ready\r\n+OK begin TLS\r\n", 11);
    Client client(server);
    client.read_greeting();
    client.stls();
    CHECK(server.tls);
  }
}

TEST_CASE("AUTH PLAIN with an initial response (RFC 5034)", "[pop3-client]")
{
  FakeStream server("+OK ready\r\n+OK Logged in.\r\n");
  Recorder transcript;
  Client client(server, transcript.hook());
  client.read_greeting();
  sasl::Credentials credentials{"tim", Secret("tanstaaftanstaaf"), "", "", 0};
  auto plain = sasl::make("PLAIN", credentials);
  client.login_sasl(*plain);
  CHECK(server.sent() == "AUTH PLAIN AHRpbQB0YW5zdGFhZnRhbnN0YWFm\r\n");
  CHECK(transcript.contains("> AUTH PLAIN <redacted>"));
  CHECK_FALSE(transcript.contains("AHRpbQB0YW5zdGFhZnRhbnN0YWFm"));
}

TEST_CASE("AUTH SCRAM-SHA-256 with the RFC 7677 exchange", "[pop3-client]")
{
  std::string server_first =
      "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
  std::string server_final = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";
  FakeStream server("+OK ready\r\n+ " + base64::encode(server_first) + "\r\n+ " +
                    base64::encode(server_final) + "\r\n+OK Logged in.\r\n");
  Client client(server);
  client.read_greeting();
  sasl::Credentials credentials{"user", Secret("pencil"), "", "", 0};
  auto scram = sasl::make("SCRAM-SHA-256", credentials, "rOprNGfwEbeRWgbNEkqO");
  client.login_sasl(*scram);
  auto sent = server.sent();
  CHECK(sent.starts_with("AUTH SCRAM-SHA-256 " +
                         base64::encode("n,,n=user,r=rOprNGfwEbeRWgbNEkqO") + "\r\n"));
  CHECK(sent.find(base64::encode("c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
                                 "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")) !=
        std::string::npos);
}

TEST_CASE("AUTH with a forged SCRAM server signature fails", "[pop3-client]")
{
  std::string server_first =
      "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
  FakeStream server("+OK ready\r\n+ " + base64::encode(server_first) + "\r\n+ " +
                    base64::encode("v=AAAATRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=") +
                    "\r\n-ERR cancelled\r\n");
  Client client(server);
  client.read_greeting();
  sasl::Credentials credentials{"user", Secret("pencil"), "", "", 0};
  auto scram = sasl::make("SCRAM-SHA-256", credentials, "rOprNGfwEbeRWgbNEkqO");
  CHECK(code_of([&] { client.login_sasl(*scram); }) == ExitCode::permission);
  CHECK(server.sent().ends_with("*\r\n"));
}

TEST_CASE("pipelining sends a batch in one write; without it, one command per trip",
          "[pop3-client]")
{
  std::string replies = "+OK\r\nSubject: one\r\n\r\n.\r\n"
                        "-ERR no such message\r\n"
                        "+OK\r\nSubject: three\r\n\r\n..dot\r\n.\r\n";
  for (bool pipelining : {true, false}) {
    FakeStream server("+OK ready\r\n+OK\r\nPIPELINING\r\nTOP\r\n.\r\n" + replies, 7);
    Client client(server);
    client.read_greeting();
    client.capa();
    client.set_pipelining(pipelining);
    Collect sink;
    server.writes.clear();
    Requests requests(client);
    for (std::uint64_t n = 1; n <= 3; ++n) {
      requests.top(n, 0, sink.reply(n - 1));
    }
    requests.run();
    CHECK(server.writes.size() == (pipelining ? 1U : 3U));
    CHECK(sink.ends == 3);
    REQUIRE(sink.statuses.size() == 3);
    CHECK(sink.bodies[0] == "Subject: one\n\n");
    CHECK_FALSE(sink.statuses[1].ok());
    CHECK(sink.bodies[2] == "Subject: three\n\n.dot\n");
  }
}

TEST_CASE("a RETR body arrives whole and converted, however the server's bytes are split",
          "[pop3-client]")
{
  // Dot-stuffed lines, a lone CR inside a line and at a line's end, a stuffed dot followed
  // by a lone CR, a bare LF line ending.
  const std::string wire = "+OK 9 octets\r\n"
                           "Subject: x\r\n\r\n"
                           "..starts with a dot\r\n"
                           "a\rb\r\n"
                           "ends with CR\r\r\n"
                           ".\rx\r\n"
                           "bare LF\n"
                           "...\r\n"
                           ".\r\n";
  const std::string as_lf = "Subject: x\n\n"
                            ".starts with a dot\n"
                            "a\rb\n"
                            "ends with CR\r\n"
                            "\rx\n"
                            "bare LF\n"
                            "..\n";
  for (std::size_t chunk = 1; chunk <= wire.size() + 1; ++chunk) {
    for (auto ending : {LineEnding::lf, LineEnding::crlf}) {
      FakeStream server("+OK ready\r\n" + wire, chunk);
      Client client(server);
      client.read_greeting();
      Collect sink;
      Requests requests(client);
      requests.retr(1, ending, sink.reply(0));
      requests.run();
      REQUIRE(sink.ends == 1);
      if (ending == LineEnding::lf) {
        CHECK(sink.bodies[0] == as_lf);
      } else {
        CHECK(sink.bodies[0] == "Subject: x\r\n\r\n.starts with a dot\r\na\rb\r\nends with CR\r\r\n"
                                "\rx\r\nbare LF\n..\r\n");
      }
    }
  }
}

TEST_CASE("the body of a message read at once reaches the sink in one piece", "[pop3-client]")
{
  std::string body;
  std::string wire = "+OK ready\r\n+OK\r\n";
  for (int i = 0; i < 200; ++i) {
    body += "line " + std::to_string(i) + (i % 7 == 0 ? " .\n" : "\n");
    wire += "line " + std::to_string(i) + (i % 7 == 0 ? " .\r\n" : "\r\n");
    if (i % 50 == 0) {
      body += ".dotted\n";
      wire += "..dotted\r\n";
    }
  }
  wire += ".\r\n";
  FakeStream server(wire);
  Client client(server);
  client.read_greeting();
  std::string got;
  int chunks = 0;
  Requests requests(client);
  requests.retr(1, LineEnding::lf,
                {{},
                 [&](std::string_view data) {
                   ++chunks;
                   got += data;
                 },
                 {}});
  requests.run();
  CHECK(got == body);
  CHECK(chunks == 1);
}

// The one deletion choke point (pop3::Deleter): what it sends and what it reports.
namespace {

struct DeleterRun {
  std::vector<Deletion> outcomes;
  std::string sent;
};

DeleterRun delete_with(const std::string& replies, const std::vector<Chosen>& chosen,
                       DryRun dry_run, bool undo = false)
{
  FakeStream server("+OK ready\r\n" + replies);
  Client client(server);
  client.read_greeting();
  server.writes.clear();
  Requests requests(client);
  Listing listing;
  for (std::uint64_t n = 1; n <= 3; ++n) {
    listing.add_listing({n, 100});
    listing.add_uid(n, "u" + std::to_string(n));
  }
  Deleter deleter(requests, listing, dry_run);
  DeleterRun run;
  for (const auto& c : chosen) {
    deleter.remove(c, [&run](const Deletion& d) { run.outcomes.push_back(d); });
  }
  requests.run();
  if (undo) {
    deleter.undo();
  }
  run.sent = server.sent();
  return run;
}

}  // namespace

TEST_CASE("Deleter: DELE for each message chosen, each outcome reported", "[pop3-client]")
{
  auto run =
      delete_with("+OK marked\r\n-ERR [SYS/TEMP] locked\r\n", {{1, "u1"}, {3, "u3"}}, DryRun::no);
  CHECK(run.sent == "DELE 1\r\nDELE 3\r\n");
  REQUIRE(run.outcomes.size() == 2);
  CHECK(run.outcomes[0].result == Deletion::Result::marked);
  CHECK(run.outcomes[1].result == Deletion::Result::refused);
  CHECK(run.outcomes[1].number == 3);
  CHECK(run.outcomes[1].reason == "locked");
}

TEST_CASE("Deleter: a dry run sends nothing and reports what it would delete", "[pop3-client]")
{
  auto run = delete_with("", {{1, "u1"}, {2, "u2"}}, DryRun::yes);
  CHECK(run.sent.empty());
  REQUIRE(run.outcomes.size() == 2);
  CHECK(run.outcomes[0].result == Deletion::Result::shown);
  CHECK(run.outcomes[1].result == Deletion::Result::shown);
}

TEST_CASE("Deleter: a message whose number no longer has the UID it was chosen by is kept",
          "[pop3-client]")
{
  // Message 2 was chosen as "u3" (a stale number): it is not deleted; message 1 is.
  auto run = delete_with("+OK marked\r\n", {{2, "u3"}, {1, "u1"}, {9, "u9"}}, DryRun::no);
  CHECK(run.sent == "DELE 1\r\n");
  // Refusals are known at once, the server's answers after the run.
  REQUIRE(run.outcomes.size() == 3);
  CHECK(run.outcomes[0].number == 2);
  CHECK(run.outcomes[0].result == Deletion::Result::moved);
  CHECK_THAT(run.outcomes[0].reason, Catch::Contains("'u3'"));
  CHECK(run.outcomes[1].number == 9);
  CHECK(run.outcomes[1].result == Deletion::Result::moved);
  CHECK(run.outcomes[2].number == 1);
  CHECK(run.outcomes[2].result == Deletion::Result::marked);
}

TEST_CASE("Deleter: undo (a declined confirmation, a refused DELE) unmarks with RSET",
          "[pop3-client]")
{
  auto run = delete_with("+OK marked\r\n+OK reset\r\n", {{1, "u1"}}, DryRun::no, true);
  CHECK(run.sent == "DELE 1\r\nRSET\r\n");
  auto dry = delete_with("+OK reset\r\n", {{1, "u1"}}, DryRun::yes, true);
  CHECK(dry.sent == "RSET\r\n");
}
