// SPDX-License-Identifier: Apache-2.0
// Issue 11.13: in lock-step (no PIPELINING) a reply that no command asked for is found before
// the next command goes out, whether it is already in the read buffer or still in the stream.

#include "pop3/client.hpp"
#include "util/error.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstring>
#include <deque>
#include <string>
#include <vector>

using namespace mw;
using namespace mw::pop3;

namespace {

// A server whose replies arrive one per read_some(). A reply marked `early` has arrived
// together with the one before it: read_arrived() hands it out without waiting, as a socket
// with the bytes in its receive queue (or a TLS record behind the one read) would.
class ArrivingStream : public net::Stream {
public:
  struct Chunk {
    std::string bytes;
    bool early = false;
  };

  explicit ArrivingStream(std::vector<Chunk> chunks) : m_chunks(chunks.begin(), chunks.end()) {}

  std::size_t read_some(std::span<char> buf) override { return take(buf); }
  std::size_t read_arrived(std::span<char> buf) override
  {
    ++polls;
    if (m_chunks.empty() || !m_chunks.front().early) {
      return 0;
    }
    return take(buf);
  }
  void write(std::string_view data) override { writes.emplace_back(data); }
  void start_tls() override {}
  bool encrypted() const override { return false; }
  std::string tls_description() const override { return ""; }

  bool sent(std::string_view verb) const
  {
    return std::any_of(writes.begin(), writes.end(),
                       [&](const std::string& w) { return w.find(verb) != std::string::npos; });
  }

  std::vector<std::string> writes;
  int polls = 0;

private:
  std::size_t take(std::span<char> buf)
  {
    if (m_chunks.empty()) {
      return 0;
    }
    auto& bytes = m_chunks.front().bytes;
    auto n = std::min(buf.size(), bytes.size());
    std::memcpy(buf.data(), bytes.data(), n);
    bytes.erase(0, n);
    if (bytes.empty()) {
      m_chunks.pop_front();
    }
    return n;
  }

  std::deque<Chunk> m_chunks;
};

const std::string k_capa = "+OK\r\nUSER\r\nUIDL\r\n.\r\n";

ExitCode code_of(const std::function<void()>& f)
{
  try {
    f();
  } catch (const Error& e) {
    return e.code();
  }
  return ExitCode::ok;
}

// DELE 1 and DELE 2 as typed requests; `answered` gets each number once its reply is read.
void dele_both(Client& client, std::vector<std::uint64_t>& answered)
{
  Requests requests(client);
  for (std::uint64_t n : {std::uint64_t{1}, std::uint64_t{2}}) {
    requests.dele(n, [&answered, n](const Status&) { answered.push_back(n); });
  }
  requests.run();
}

}  // namespace

TEST_CASE("lock-step: a doubled +OK that arrived with the reply stops the next command",
          "[pop3-lockstep]")
{
  ArrivingStream stream({{"+OK ready\r\n"},
                         {k_capa},
                         {"+OK\r\n"},
                         {"+OK logged in\r\n"},
                         {"+OK logged in\r\n", true},
                         {"+OK 1 100\r\n"}});
  Client client(stream);
  client.read_greeting();
  client.capa();
  CHECK(code_of([&] { client.login_user("u", Secret("pw")); }) == ExitCode::ok);
  CHECK(code_of([&] { client.stat(); }) == ExitCode::protocol);
  CHECK_FALSE(stream.sent("STAT"));
  // Nor is QUIT sent after that: the leftover reply is still there.
  CHECK(code_of([&] { client.quit(); }) == ExitCode::protocol);
  CHECK_FALSE(stream.sent("QUIT"));
}

TEST_CASE("lock-step pipeline: DELE answered twice, the next DELE and QUIT never go out",
          "[pop3-lockstep]")
{
  ArrivingStream stream({{"+OK ready\r\n"},
                         {k_capa},
                         {"+OK marked\r\n"},
                         {"+OK marked\r\n", true},
                         {"+OK marked\r\n"},
                         {"+OK bye\r\n"}});
  Client client(stream);
  client.set_pipelining(false);
  client.read_greeting();
  client.capa();
  std::vector<std::uint64_t> answered;
  CHECK(code_of([&] { dele_both(client, answered); }) == ExitCode::protocol);
  CHECK(stream.sent("DELE 1"));
  CHECK_FALSE(stream.sent("DELE 2"));
  CHECK(code_of([&] { client.quit(); }) == ExitCode::protocol);
  CHECK_FALSE(stream.sent("QUIT"));
}

TEST_CASE("lock-step: a doubled reply in the same read is found as well", "[pop3-lockstep]")
{
  ArrivingStream stream({{"+OK ready\r\n"}, {k_capa}, {"+OK 1 100\r\n+OK 1 100\r\n"}});
  Client client(stream);
  client.read_greeting();
  client.capa();
  CHECK(client.stat().messages == 1);
  CHECK(code_of([&] { client.list(); }) == ExitCode::protocol);
  CHECK_FALSE(stream.sent("LIST"));
}

TEST_CASE("lock-step: a server that sends nothing extra is asked before every command",
          "[pop3-lockstep]")
{
  ArrivingStream stream({{"+OK ready\r\n"},
                         {k_capa},
                         {"+OK\r\n"},
                         {"+OK\r\n"},
                         {"+OK 2 300\r\n"},
                         {"+OK marked\r\n"},
                         {"+OK marked\r\n"},
                         {"+OK bye\r\n"}});
  Client client(stream);
  client.set_pipelining(false);
  client.read_greeting();
  client.capa();
  client.login_user("u", Secret("pw"));
  CHECK(client.stat().messages == 2);
  std::vector<std::uint64_t> answered;
  dele_both(client, answered);
  CHECK(answered == std::vector<std::uint64_t>{1, 2});
  CHECK(client.quit().ok());
  // CAPA, USER, PASS, STAT, DELE 1, DELE 2, QUIT: each after a look for early replies.
  CHECK(stream.polls == 7);
}
