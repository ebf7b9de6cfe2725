// SPDX-License-Identifier: Apache-2.0
// net::Connection's reads and writes against an in-process OpenSSL server on loopback: many
// TLS records per read, records larger than the caller's buffer, close_notify and truncated
// closes, a record cut off mid-way (timeout; SIGTERM), TLS 1.3 KeyUpdate both ways,
// read_arrived(), a TLS error after data, and STLS-style upgrade in place (issue 16.3).
#define CATCH_CONFIG_MAIN
#include "net/connection.hpp"
#include "util/error.hpp"

#include <catch2/catch.hpp>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <arpa/inet.h>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <functional>
#include <memory>
#include <mutex>
#include <netinet/in.h>
#include <poll.h>
#include <stdexcept>
#include <string>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

using mw::net::Connection;
using namespace std::chrono_literals;

// A self-signed P-256 certificate and the server context, made once.
SSL_CTX* server_context()
{
  static SSL_CTX* const context = [] {
    EVP_PKEY* key = EVP_EC_gen("P-256");
    X509* cert = X509_new();
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), 0);
    X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
    X509_set_pubkey(cert, key);
    X509_NAME* name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
    X509_set_issuer_name(cert, name);
    X509_sign(cert, key, EVP_sha256());
    SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
    SSL_CTX_use_certificate(ctx, cert);
    SSL_CTX_use_PrivateKey(ctx, key);
    SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
    X509_free(cert);
    EVP_PKEY_free(key);
    return ctx;
  }();
  return context;
}

// A one-shot flag one thread waits for (at most 10 s, then the test fails).
class Gate {
public:
  void open()
  {
    std::lock_guard lock(m_mutex);
    m_open = true;
    m_cv.notify_all();
  }
  bool wait()
  {
    std::unique_lock lock(m_mutex);
    return m_cv.wait_for(lock, 10s, [this] { return m_open; });
  }

private:
  std::mutex m_mutex;
  std::condition_variable m_cv;
  bool m_open = false;
};

// The server's end of one connection (blocking socket, 10 s receive limit).
struct Session {
  int fd = -1;
  SSL* ssl = nullptr;

  void start_tls()
  {
    ssl = SSL_new(server_context());
    SSL_set_fd(ssl, fd);
    if (SSL_accept(ssl) != 1) {
      throw std::runtime_error("SSL_accept failed");
    }
  }
  void write(std::string_view data) const
  {
    std::size_t n = 0;
    if (SSL_write_ex(ssl, data.data(), data.size(), &n) != 1 || n != data.size()) {
      throw std::runtime_error("SSL_write failed");
    }
  }
  std::string read(std::size_t size) const
  {
    std::string out(size, '\0');
    std::size_t got = 0;
    while (got < size) {
      std::size_t n = 0;
      if (SSL_read_ex(ssl, out.data() + got, size - got, &n) != 1) {
        throw std::runtime_error("SSL_read failed after " + std::to_string(got) + " bytes");
      }
      got += n;
    }
    return out;
  }
  void send_raw(std::string_view data) const
  {
    if (::send(fd, data.data(), data.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(data.size())) {
      throw std::runtime_error("send failed");
    }
  }
  std::string recv_line() const
  {
    std::string line;
    char c = 0;
    while (::recv(fd, &c, 1, 0) == 1) {
      line += c;
      if (c == '\n') {
        break;
      }
    }
    return line;
  }
  // The records `write` makes, encrypted, instead of sending them.
  std::string encrypted(std::string_view data)
  {
    BIO* socket_bio = SSL_get_wbio(ssl);
    BIO_up_ref(socket_bio);
    BIO* memory = BIO_new(BIO_s_mem());
    SSL_set0_wbio(ssl, memory);
    write(data);
    char* bytes = nullptr;
    const long size = BIO_get_mem_data(memory, &bytes);
    std::string out(bytes, static_cast<std::size_t>(size));
    SSL_set0_wbio(ssl, socket_bio);
    return out;
  }
};

// A TLS (or, with implicit_tls = false, plain-first) server for one connection on a free
// loopback port, running `script` in its own thread.
class TestServer {
public:
  using Script = std::function<void(Session&)>;

  // Listens at once; serves from a thread, started now or, with `later`, by start() (a test
  // that forks must do so while it has no other thread: a thread holding a lock of the
  // allocator at fork() leaves the child stuck on it, as one was under ASan).
  struct Later {};
  TestServer(Script script, Later) : TestServer(std::move(script), true, false) {}
  explicit TestServer(Script script, bool implicit_tls = true, bool now = true)
      : m_script(std::move(script)), m_implicit_tls(implicit_tls)
  {
    m_listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (::bind(m_listener, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
        ::listen(m_listener, 1) != 0 ||
        ::getsockname(m_listener, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      throw std::runtime_error("cannot listen on loopback");
    }
    m_port = ntohs(address.sin_port);
    if (now) {
      start();
    }
  }

  void start()
  {
    m_thread = std::thread([this, script = std::move(m_script), implicit_tls = m_implicit_tls] {
      Session session;
      try {
        pollfd ready{m_listener, POLLIN, 0};
        if (::poll(&ready, 1, 10000) != 1) {
          throw std::runtime_error("no connection");
        }
        session.fd = ::accept4(m_listener, nullptr, nullptr, SOCK_CLOEXEC);
        timeval limit{10, 0};
        ::setsockopt(session.fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
        if (implicit_tls) {
          session.start_tls();
        }
        script(session);
      } catch (const std::exception& e) {
        m_error = e.what();
      }
      SSL_free(session.ssl);
      if (session.fd >= 0) {
        ::close(session.fd);
      }
    });
  }
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;
  ~TestServer()
  {
    if (m_thread.joinable()) {
      m_thread.join();
    }
    ::close(m_listener);
  }

  std::uint16_t port() const { return m_port; }

  // Waits for the script to end; what went wrong in it, or "".
  std::string finish()
  {
    m_thread.join();
    return m_error;
  }

private:
  Script m_script;
  bool m_implicit_tls = true;
  int m_listener = -1;
  std::uint16_t m_port = 0;
  std::thread m_thread;
  std::string m_error;
};

std::unique_ptr<Connection> connect(const TestServer& server, bool implicit_tls = true)
{
  mw::net::Endpoint endpoint;
  endpoint.host = "127.0.0.1";
  endpoint.port = server.port();
  endpoint.implicit_tls = implicit_tls;
  endpoint.timeout = 5s;
  endpoint.tls.insecure = true;  // the certificate is made up; verification has its own tests
  return Connection::open(endpoint);
}

std::string pattern(std::size_t size, std::size_t offset = 0)
{
  std::string out(size, '\0');
  for (std::size_t i = 0; i < size; ++i) {
    out[i] = static_cast<char>('a' + (offset + i) % 26);
  }
  return out;
}

// Reads until `size` bytes came or the server closed.
std::string read_all(Connection& connection, std::size_t size, std::size_t chunk)
{
  std::string out;
  std::vector<char> buf(chunk);
  while (out.size() < size) {
    const std::size_t n = connection.read_some(buf);
    if (n == 0) {
      break;
    }
    REQUIRE(n <= chunk);
    out.append(buf.data(), n);
  }
  return out;
}

}  // namespace

TEST_CASE("one read returns the data of every TLS record that has arrived")
{
  Gate written;
  Gate done;
  TestServer server([&](Session& s) {
    for (int i = 0; i < 1000; ++i) {
      s.write(pattern(10, static_cast<std::size_t>(i) * 10));  // one record each
    }
    written.open();
    done.wait();
  });
  auto connection = connect(server);
  REQUIRE(written.wait());
  std::this_thread::sleep_for(50ms);
  std::vector<char> buf(64 * 1024);
  const std::size_t n = connection->read_some(buf);
  done.open();
  // Asio's SSL stream returned one record (10 bytes) per read.
  CHECK(n == 10000);
  CHECK(std::string(buf.data(), n) == pattern(n));
  CHECK(server.finish().empty());
}

TEST_CASE("a record larger than the read buffer comes out in pieces, in order")
{
  TestServer server([](Session& s) {
    s.write(pattern(16384));
    s.write(pattern(40000, 16384));  // three records
    SSL_shutdown(s.ssl);
  });
  auto connection = connect(server);
  CHECK(read_all(*connection, 100000, 100) == pattern(56384));
  std::vector<char> buf(100);
  CHECK(connection->read_some(buf) == 0);
  CHECK(server.finish().empty());
}

TEST_CASE("a large transfer arrives whole through a 256 KB buffer")
{
  constexpr std::size_t k_writes = 800;
  constexpr std::size_t k_size = 10000;
  TestServer server([&](Session& s) {
    for (std::size_t i = 0; i < k_writes; ++i) {
      s.write(pattern(k_size, i * k_size));
    }
    SSL_shutdown(s.ssl);
  });
  auto connection = connect(server);
  const auto data = read_all(*connection, 2 * k_writes * k_size, 256 * 1024);
  CHECK(data.size() == k_writes * k_size);
  CHECK(data == pattern(k_writes * k_size));
  CHECK(server.finish().empty());
}

TEST_CASE("data and close_notify in one segment: the data, then 0, no error")
{
  Gate sent;
  TestServer server([&](Session& s) {
    auto bytes = s.encrypted("+OK bye\r\n");
    BIO* socket_bio = SSL_get_wbio(s.ssl);
    BIO_up_ref(socket_bio);
    BIO* memory = BIO_new(BIO_s_mem());
    SSL_set0_wbio(s.ssl, memory);
    SSL_shutdown(s.ssl);
    char* alert = nullptr;
    const long size = BIO_get_mem_data(memory, &alert);
    bytes.append(alert, static_cast<std::size_t>(size));
    SSL_set0_wbio(s.ssl, socket_bio);
    s.send_raw(bytes);
    sent.open();
  });
  auto connection = connect(server);
  REQUIRE(sent.wait());
  CHECK(server.finish().empty());
  std::vector<char> buf(1024);
  const std::size_t n = connection->read_some(buf);
  CHECK(std::string(buf.data(), n) == "+OK bye\r\n");
  CHECK(connection->read_some(buf) == 0);
  CHECK(connection->read_arrived(buf) == 0);
}

TEST_CASE("a close without close_notify after data: the data, then 0, no error")
{
  TestServer server([](Session& s) {
    s.write("+OK\r\n");
    ::shutdown(s.fd, SHUT_RDWR);
  });
  auto connection = connect(server);
  CHECK(server.finish().empty());
  CHECK(read_all(*connection, 100, 1024) == "+OK\r\n");
  std::vector<char> buf(16);
  CHECK(connection->read_some(buf) == 0);
}

TEST_CASE("a server that stops in the middle of a record: Error 75 at the deadline")
{
  Gate done;
  TestServer server([&](Session& s) {
    const auto records = s.encrypted(pattern(1000));
    s.send_raw(records.substr(0, records.size() / 2));
    done.wait();
  });
  auto connection = connect(server);
  connection->set_timeout(1s);
  std::vector<char> buf(4096);
  const auto start = std::chrono::steady_clock::now();
  try {
    connection->read_some(buf);
    FAIL("read_some returned");
  } catch (const mw::Error& e) {
    CHECK(e.code() == mw::ExitCode::temporary);
    CHECK(std::string(e.what()).find("timed out after 1 s waiting for 127.0.0.1:") == 0);
  }
  const auto waited = std::chrono::steady_clock::now() - start;
  CHECK(waited >= 1s);
  CHECK(waited < 4s);
  done.open();
  CHECK(server.finish().empty());
}

TEST_CASE("a TLS error after data: the data first, then Error 74")
{
  TestServer server([](Session& s) {
    auto good = s.encrypted("+OK good\r\n");
    auto bad = s.encrypted("+OK forged\r\n");
    bad[bad.size() - 3] = static_cast<char>(bad[bad.size() - 3] ^ 1);  // the tag no longer fits
    s.send_raw(good + bad);
    s.recv_line();  // until the client closes
  });
  auto connection = connect(server);
  std::vector<char> buf(1024);
  std::string got;
  try {
    for (;;) {
      const std::size_t n = connection->read_some(buf);
      REQUIRE(n > 0);
      got.append(buf.data(), n);
    }
  } catch (const mw::Error& e) {
    CHECK(e.code() == mw::ExitCode::io);
    CHECK(std::string(e.what()).find("reading from 127.0.0.1:") == 0);
  }
  CHECK(got == "+OK good\r\n");
  connection.reset();
  CHECK(server.finish().empty());
}

TEST_CASE("TLS 1.3 KeyUpdate from the server, with an update asked of the client")
{
  TestServer server([](Session& s) {
    s.write("one;");
    if (SSL_key_update(s.ssl, SSL_KEY_UPDATE_REQUESTED) != 1) {
      throw std::runtime_error("SSL_key_update failed");
    }
    s.write("two;");
    // The client's next record is readable only under its new key.
    if (s.read(5) != "ping;") {
      throw std::runtime_error("the client's data after the KeyUpdate differs");
    }
    s.write("pong;");
    if (s.read(5) != "quit;") {
      throw std::runtime_error("the client's second message differs");
    }
    SSL_shutdown(s.ssl);
  });
  auto connection = connect(server);
  CHECK(read_all(*connection, 8, 3) == "one;two;");
  connection->write("ping;");
  CHECK(read_all(*connection, 5, 1024) == "pong;");
  connection->write("quit;");
  std::vector<char> buf(16);
  CHECK(connection->read_some(buf) == 0);
  CHECK(server.finish().empty());
}

TEST_CASE("read_arrived takes what has arrived and never waits")
{
  Gate greeted;
  Gate written;
  Gate done;
  TestServer server([&](Session& s) {
    greeted.open();  // the session tickets went out with the handshake
    done.wait();
    s.write("+OK one\r\n");
    s.write("+OK two\r\n");
    written.open();
    if (s.read(6) != "QUIT\r\n") {
      throw std::runtime_error("no QUIT");
    }
  });
  auto connection = connect(server);
  REQUIRE(greeted.wait());
  std::this_thread::sleep_for(50ms);
  std::vector<char> buf(1024);
  const auto start = std::chrono::steady_clock::now();
  CHECK(connection->read_arrived(buf) == 0);  // tickets only: no data, and no wait
  CHECK(std::chrono::steady_clock::now() - start < 1s);
  done.open();
  REQUIRE(written.wait());
  std::this_thread::sleep_for(50ms);
  const std::size_t n = connection->read_arrived(buf);
  CHECK(std::string(buf.data(), n) == "+OK one\r\n+OK two\r\n");
  CHECK(connection->read_arrived(buf) == 0);
  connection->write("QUIT\r\n");
  CHECK(server.finish().empty());
}

TEST_CASE("STLS upgrades the connection in place")
{
  TestServer server(
      [](Session& s) {
        s.send_raw("+OK ready\r\n");
        if (s.recv_line() != "STLS\r\n") {
          throw std::runtime_error("no STLS");
        }
        s.send_raw("+OK begin TLS\r\n");
        s.start_tls();
        s.write("+OK secure\r\n");
        if (s.read(6) != "QUIT\r\n") {
          throw std::runtime_error("no QUIT over TLS");
        }
        s.write("+OK bye\r\n");
        SSL_shutdown(s.ssl);
      },
      false);
  auto connection = connect(server, false);
  CHECK_FALSE(connection->encrypted());
  CHECK(read_all(*connection, 11, 1024) == "+OK ready\r\n");
  connection->write("STLS\r\n");
  CHECK(read_all(*connection, 15, 1024) == "+OK begin TLS\r\n");
  connection->start_tls();
  CHECK(connection->encrypted());
  CHECK(connection->tls_description().rfind("TLSv1.3 ", 0) == 0);
  CHECK(read_all(*connection, 12, 1024) == "+OK secure\r\n");
  connection->write("QUIT\r\n");
  CHECK(read_all(*connection, 100, 1024) == "+OK bye\r\n");
  CHECK(server.finish().empty());
}

TEST_CASE("SIGTERM while a TLS read waits mid-record: the signal's Error at once")
{
  // In a child process: the signal is noted for good in the process that receives it.
  Gate accepted;
  Gate done;
  TestServer server(
      [&](Session& s) {
        const auto records = s.encrypted(pattern(1000));
        s.send_raw(records.substr(0, records.size() / 2));
        accepted.open();
        done.wait();
      },
      TestServer::Later{});
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    int status = 3;
    try {
      auto connection = connect(server);  // 5 s timeout
      std::vector<char> buf(4096);
      connection->read_some(buf);
      status = 1;  // returned
    } catch (const mw::Error& e) {
      const std::string what = e.what();
      status = e.code() == static_cast<mw::ExitCode>(128 + SIGTERM) &&
                       what.find("interrupted by SIGTERM") != std::string::npos
                   ? 0
                   : 2;
    } catch (...) {
    }
    ::_exit(status);
  }
  // A failed REQUIRE below must not leave the child running (it would hold ctest's pipe).
  struct Reaper {
    pid_t pid;
    ~Reaper()
    {
      if (pid > 0) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
      }
    }
  } reaper{child};
  server.start();
  REQUIRE(accepted.wait());
  std::this_thread::sleep_for(300ms);  // the child is in read_some, waiting for the record's end
  const auto start = std::chrono::steady_clock::now();
  ::kill(child, SIGTERM);
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  reaper.pid = 0;
  CHECK(std::chrono::steady_clock::now() - start < 2s);  // not at the 5 s deadline
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  done.open();
  CHECK(server.finish().empty());
}
