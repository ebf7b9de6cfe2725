// SPDX-License-Identifier: Apache-2.0
#include "net/connection.hpp"

#include "net/socks5.hpp"
#include "util/error.hpp"
#include "util/text.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <limits>
#include <memory>
#include <optional>
#include <poll.h>
#include <span>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <utility>

namespace mw::net {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

namespace {

std::string hex_colons(const unsigned char* data, unsigned int size)
{
  std::string out;
  for (unsigned int i = 0; i < size; ++i) {
    if (i > 0) {
      out += ':';
    }
    text::append_hex(out, data[i], text::Hex::upper);
  }
  return out;
}

// The text of a BIO written to by OpenSSL.
std::string bio_text(BIO* bio)
{
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  return size > 0 ? std::string(data, static_cast<std::size_t>(size)) : std::string();
}

std::string name_text(const X509_NAME* name)
{
  BIO* bio = BIO_new(BIO_s_mem());
  if (bio == nullptr) {
    return "";
  }
  X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253);
  auto out = bio_text(bio);
  BIO_free(bio);
  return out;
}

std::int64_t epoch_seconds(const ASN1_TIME* time)
{
  std::tm tm{};
  if (time == nullptr || ASN1_TIME_to_tm(time, &tm) != 1) {
    return 0;
  }
  return static_cast<std::int64_t>(::timegm(&tm));
}

std::vector<std::string> alt_names(X509* cert)
{
  std::vector<std::string> out;
  auto* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr) {
    return out;
  }
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    if (name->type == GEN_DNS || name->type == GEN_EMAIL || name->type == GEN_URI) {
      const auto* s = name->d.ia5;
      std::string value(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                        static_cast<std::size_t>(ASN1_STRING_length(s)));
      out.push_back((name->type == GEN_DNS     ? "DNS:"
                     : name->type == GEN_EMAIL ? "email:"
                                               : "URI:") +
                    value);
    } else if (name->type == GEN_IPADD) {
      const auto* ip = name->d.iPAddress;
      const unsigned char* bytes = ASN1_STRING_get0_data(ip);
      const int length = ASN1_STRING_length(ip);
      std::string value;
      if (length == 4) {
        for (int b = 0; b < 4; ++b) {
          value += (b > 0 ? "." : "") + std::to_string(bytes[b]);
        }
      } else {
        for (int b = 0; b < length; ++b) {
          if (b > 0 && b % 2 == 0) {
            value += ':';
          }
          text::append_hex(value, bytes[b], text::Hex::lower);
        }
      }
      out.push_back("IP:" + value);
    }
  }
  GENERAL_NAMES_free(names);
  return out;
}

CertificateFacts facts_of(X509* cert)
{
  CertificateFacts facts;
  facts.subject = name_text(X509_get_subject_name(cert));
  facts.issuer = name_text(X509_get_issuer_name(cert));
  facts.names = alt_names(cert);
  if (EVP_PKEY* key = X509_get0_pubkey(cert); key != nullptr) {
    const char* type = EVP_PKEY_get0_type_name(key);
    facts.key_type = type != nullptr ? type : "unknown";
    facts.key_bits = EVP_PKEY_get_bits(key);
  }
  const int signature = X509_get_signature_nid(cert);
  const char* algorithm = signature != NID_undef ? OBJ_nid2ln(signature) : nullptr;
  facts.signature_algorithm = algorithm != nullptr ? algorithm : "unknown";
  facts.not_before = epoch_seconds(X509_get0_notBefore(cert));
  facts.not_after = epoch_seconds(X509_get0_notAfter(cert));
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (X509_digest(cert, EVP_sha256(), md, &size) == 1) {
    facts.sha256 = hex_colons(md, size);
  }
  return facts;
}

bool is_ip_address(const std::string& host)
{
  error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

// What OpenSSL's security level 2 asks of a certificate: 112 bits of security, i.e. RSA, DSA
// and DH keys of 2048 bits or more, elliptic curves of 224 bits or more, no SHA-1 or MD5
// signature.
constexpr int k_security_floor_bits = 112;

// Why the server's own certificate falls below the floor, or "" if it does not. Chain
// verification checks this for every certificate of the chain; a pinned certificate skips
// chain verification, so its key and signature are checked here (a pin says which
// certificate, not that its key cannot be broken).
std::string below_security_floor(X509* cert)
{
  EVP_PKEY* key = X509_get0_pubkey(cert);
  if (key == nullptr) {
    return "its public key cannot be read";
  }
  if (EVP_PKEY_get_security_bits(key) < k_security_floor_bits) {
    const char* type = EVP_PKEY_get0_type_name(key);
    return "its " + std::string(type != nullptr ? type : "public") + " key of " +
           std::to_string(EVP_PKEY_get_bits(key)) +
           " bits is too weak (at least 2048 bits are required, 224 for elliptic curves)";
  }
  int digest = NID_undef;
  int security_bits = 0;
  if (X509_get_signature_info(cert, &digest, nullptr, &security_bits, nullptr) != 1) {
    return "its signature algorithm is unknown";
  }
  if (security_bits < k_security_floor_bits) {
    const char* name = digest != NID_undef ? OBJ_nid2sn(digest) : nullptr;
    return "it is signed with " + std::string(name != nullptr ? name : "a digest") +
           ", which is too weak a signature (SHA-256 or better is required)";
  }
  return "";
}

// SIGHUP, SIGINT and SIGTERM while a connection is open (a logout, Ctrl-C, timeout(1) in cron):
// the handler only notes the first signal and wakes the I/O loop through a pipe; the operation
// under way is abandoned, nothing more is sent, and the Error (exit 128 + signal) unwinds the
// command, whose sinks remove what is unfinished (a cut-back mbox, its dot-lock, temporary
// files). Outside a connection the signals keep their usual effect.
constexpr int k_signals[] = {SIGHUP, SIGINT, SIGTERM};
volatile std::sig_atomic_t g_signal = 0;
int g_wake[2] = {-1, -1};
int g_connections = 0;
struct sigaction g_previous[std::size(k_signals)];
bool g_installed[std::size(k_signals)] = {};

extern "C" void note_signal(int signal)
{
  const int saved = errno;
  if (g_signal == 0) {
    g_signal = signal;
  }
  [[maybe_unused]] const ssize_t ignored = ::write(g_wake[1], "", 1);
  errno = saved;
}

// Installs the handlers while at least one Connection exists.
class SignalScope {
public:
  SignalScope()
  {
    if (g_wake[0] < 0 && ::pipe2(g_wake, O_CLOEXEC | O_NONBLOCK) != 0) {
      throw Error(ExitCode::software, std::string("cannot create a pipe: ") + std::strerror(errno));
    }
    if (g_connections++ == 0) {
      struct sigaction action {};
      action.sa_handler = note_signal;
      action.sa_flags = SA_RESTART;
      sigemptyset(&action.sa_mask);
      for (std::size_t i = 0; i < std::size(k_signals); ++i) {
        // A signal ignored when we were started (nohup(1) for SIGHUP) stays ignored.
        g_installed[i] = ::sigaction(k_signals[i], nullptr, &g_previous[i]) == 0 &&
                         g_previous[i].sa_handler != SIG_IGN &&
                         ::sigaction(k_signals[i], &action, nullptr) == 0;
      }
    }
  }
  SignalScope(const SignalScope&) = delete;
  SignalScope& operator=(const SignalScope&) = delete;
  ~SignalScope()
  {
    if (--g_connections == 0) {
      for (std::size_t i = 0; i < std::size(k_signals); ++i) {
        if (g_installed[i]) {
          ::sigaction(k_signals[i], &g_previous[i], nullptr);
        }
      }
    }
  }

  // A descriptor that becomes readable when a signal is noted.
  static int wake_fd() { return ::fcntl(g_wake[0], F_DUPFD_CLOEXEC, 0); }
};

// The Error for a noted signal, if one was.
void throw_if_signalled()
{
  const int signal = g_signal;
  if (signal == 0) {
    return;
  }
  const char* name = signal == SIGHUP ? "SIGHUP" : signal == SIGINT ? "SIGINT" : "SIGTERM";
  throw Error(static_cast<ExitCode>(128 + signal),
              std::string("interrupted by ") + name + "; nothing more was sent to the server");
}

// What the socket BIO reads ahead in one recv(2): many TLS records (of at most 16 KB of data
// each) per system call, instead of a header and a body per record. A constant per connection.
// The read-ahead is the BIO's, not OpenSSL's (SSL_set_read_ahead): OpenSSL moves what is unread
// in its read-ahead buffer to the front before every record, so a client that had fallen behind
// by R bytes in records of r moved about R*R/2r bytes (bench/NOTES-wire-profile.md: 85-120 KB
// per 10 KB message with 128 KB); here each byte is copied once, to OpenSSL's record buffer.
constexpr std::size_t k_read_ahead_bytes = 128 * 1024;

// The socket under OpenSSL: a BIO of our own rather than BIO_s_socket, for send(2) with
// MSG_NOSIGNAL (a server gone away is an error to report, never SIGPIPE), for one recv(2) of
// many records (the read-ahead above), and so that the transport sees how each call ended (end
// of stream, errno). The socket is non-blocking: a call that would wait sets the BIO's retry
// flag, and the caller waits (Impl::wait_for) - which happens only when nothing is read ahead.
struct SocketBioState {
  int fd = -1;
  bool eof = false;  // recv(2) returned 0: the peer closed its side
  int error = 0;     // errno of the last failed call, 0 after a success
  std::unique_ptr<char[]> ahead = std::make_unique_for_overwrite<char[]>(k_read_ahead_bytes);
  std::size_t begin = 0;  // ahead[begin, end) is read from the socket, not yet by OpenSSL
  std::size_t end = 0;

  std::size_t buffered() const { return end - begin; }
};

int socket_bio_read(BIO* bio, char* out, int size)
{
  auto* state = static_cast<SocketBioState*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  if (size <= 0) {
    return 0;
  }
  while (state->buffered() == 0) {
    const ssize_t n = ::recv(state->fd, state->ahead.get(), k_read_ahead_bytes, 0);
    if (n > 0) {
      state->error = 0;
      state->begin = 0;
      state->end = static_cast<std::size_t>(n);
      break;
    }
    if (n == 0) {
      state->eof = true;
      state->error = 0;
      return 0;
    }
    if (errno == EINTR) {
      continue;
    }
    state->error = errno == EAGAIN || errno == EWOULDBLOCK ? 0 : errno;
    if (state->error == 0) {
      BIO_set_retry_read(bio);
    }
    return -1;
  }
  const std::size_t n = std::min(static_cast<std::size_t>(size), state->buffered());
  std::memcpy(out, state->ahead.get() + state->begin, n);
  state->begin += n;
  return static_cast<int>(n);
}

int socket_bio_write(BIO* bio, const char* data, int size)
{
  auto* state = static_cast<SocketBioState*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  if (size <= 0) {
    return 0;
  }
  for (;;) {
    const ssize_t n = ::send(state->fd, data, static_cast<std::size_t>(size), MSG_NOSIGNAL);
    if (n >= 0) {
      state->error = 0;
      return static_cast<int>(n);
    }
    if (errno == EINTR) {
      continue;
    }
    state->error = errno == EAGAIN || errno == EWOULDBLOCK ? 0 : errno;
    if (state->error == 0) {
      BIO_set_retry_write(bio);
    }
    return -1;
  }
}

long socket_bio_ctrl(BIO* bio, int command, long /*number*/, void* /*pointer*/)
{
  switch (command) {
  case BIO_CTRL_FLUSH: return 1;
  case BIO_CTRL_EOF: {
    const auto* state = static_cast<SocketBioState*>(BIO_get_data(bio));
    return state->buffered() == 0 && state->eof ? 1 : 0;
  }
  case BIO_CTRL_PENDING:
    return static_cast<long>(static_cast<SocketBioState*>(BIO_get_data(bio))->buffered());
  default: return 0;
  }
}

int socket_bio_create(BIO* bio)
{
  BIO_set_init(bio, 1);
  return 1;
}

const BIO_METHOD* socket_bio_method()
{
  static BIO_METHOD* const method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "mailwrench socket");
    if (m == nullptr || BIO_meth_set_read(m, socket_bio_read) != 1 ||
        BIO_meth_set_write(m, socket_bio_write) != 1 ||
        BIO_meth_set_ctrl(m, socket_bio_ctrl) != 1 ||
        BIO_meth_set_create(m, socket_bio_create) != 1) {
      throw Error(ExitCode::software, "cannot set up OpenSSL's socket BIO");
    }
    return m;
  }();
  return method;
}

}  // namespace

std::string normalize_fingerprint(std::string_view fingerprint)
{
  std::string out;
  for (char c : fingerprint) {
    if (c == ':' || c == ' ') {
      continue;
    }
    if (!std::isxdigit(static_cast<unsigned char>(c))) {
      out.clear();
      break;
    }
    out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  if (fingerprint.starts_with("sha256/") || fingerprint.starts_with("SHA256:")) {
    throw UsageError("--fingerprint takes the SHA-256 fingerprint as hex digits, e.g. "
                     "'openssl x509 -noout -fingerprint -sha256' prints it");
  }
  if (out.size() != 64) {
    throw UsageError("invalid --fingerprint '" + std::string(fingerprint) +
                     "' (expected 64 hex digits of a SHA-256 fingerprint, colons allowed)");
  }
  return out;
}

struct Connection::Impl {
  // The SSL object copies the context's settings when it is made (make_session()), so the
  // context is configured first.
  explicit Impl(const Endpoint& e)
      : endpoint(e), ssl_context(make_context(e.tls)), socket(io), wake(io, SignalScope::wake_fd())
  {
    throw_if_signalled();
  }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  ~Impl() { SSL_free(ssl); }

  // "host:port" of the server ("[::1]:995"), or of the proxy during the SOCKS5 handshake.
  // A host that is a path ("/run/dovecot/lmtp") is a Unix-domain socket.
  bool local() const { return endpoint.host.starts_with('/'); }

  std::string where() const
  {
    if (!proxy_stage.empty()) {
      return proxy_stage;
    }
    return local() ? "socket " + endpoint.host : host_port(endpoint.host, endpoint.port);
  }

  static std::string host_port(const std::string& host, std::uint16_t port)
  {
    return (is_ipv6_literal(host) ? "[" + host + "]" : host) + ":" + std::to_string(port);
  }

  // How one step of a non-blocking read, write or handshake ended.
  enum class Step { done, want_read, want_write, failed };
  using Clock = std::chrono::steady_clock;

  // The Step of an OpenSSL call that failed with SSL_get_error() `code`, and for `failed` its
  // error as Asio's SSL stream reported it (so that messages and the close semantics of
  // read() stay what they were): close_notify is end of file, a close without it is a
  // truncated stream, a socket error is its errno, a TLS error OpenSSL's reason.
  Step tls_step(int code, error_code& ec)
  {
    const unsigned long queued = ERR_get_error();
    ERR_clear_error();
    switch (code) {
    case SSL_ERROR_WANT_READ: return Step::want_read;
    case SSL_ERROR_WANT_WRITE: return Step::want_write;
    case SSL_ERROR_ZERO_RETURN: ec = asio::error::eof; return Step::failed;
    default: break;
    }
    if (bio_state.error != 0) {
      ec = error_code(bio_state.error, boost::system::system_category());
    } else if (bio_state.eof) {
      ec = asio::ssl::error::stream_truncated;
    } else if (queued != 0) {
      ec = error_code(static_cast<int>(queued), asio::error::get_ssl_category());
    } else if (code == SSL_ERROR_SYSCALL) {
      ec = asio::ssl::error::unspecified_system_error;
    } else {
      ec = asio::ssl::error::unexpected_result;
    }
    return Step::failed;
  }

  // The Step of a socket call that returned -1 with errno.
  static Step socket_step(short wanted, error_code& ec)
  {
    if (errno == EINTR) {
      return Step::done;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      return wanted == POLLIN ? Step::want_read : Step::want_write;
    }
    ec = error_code(errno, boost::system::system_category());
    return Step::failed;
  }

  // One read of what is there, without waiting: a TLS record's data (OpenSSL reads ahead many
  // records per recv(2) and consumes post-handshake messages on the way), or what the socket
  // holds.
  Step read_step(std::span<char> buf, std::size_t& bytes, error_code& ec)
  {
    bytes = 0;
    if (tls_active) {
      // The error queue is empty here (read() clears it, tls_step() after every failure), as
      // SSL_get_error() needs; clearing it before every record cost more than the check.
      if (SSL_read_ex(ssl, buf.data(), buf.size(), &bytes) == 1) {
        return Step::done;
      }
      return tls_step(SSL_get_error(ssl, 0), ec);
    }
    const ssize_t n = ::recv(socket.native_handle(), buf.data(), buf.size(), 0);
    if (n > 0) {
      bytes = static_cast<std::size_t>(n);
      return Step::done;
    }
    if (n == 0) {
      ec = asio::error::eof;
      return Step::failed;
    }
    return socket_step(POLLIN, ec);
  }

  // Reads into `buf` as much as it holds of what has arrived: with TLS, every record OpenSSL
  // has read ahead, so that one call returns many records' data for one system call. Waits
  // (until the deadline, or a signal) only while nothing at all has arrived, and not at all
  // unless `wait`. A server that closes (with TLS close_notify or without, or resets) has
  // closed: `closed` is set and what was read before is returned; any other error is an
  // Error 74, at once if nothing was read, else by the next read.
  std::size_t read(std::span<char> buf, bool wait)
  {
    if (!read_error.empty()) {
      const std::string message = std::move(read_error);
      read_error.clear();
      throw Error(ExitCode::io, "reading from " + where() + " failed: " + message);
    }
    if (closed || buf.empty()) {
      return 0;
    }
    if (wait) {
      throw_if_signalled();
    }
    const auto deadline = Clock::now() + endpoint.timeout;
    ERR_clear_error();
    std::size_t total = 0;
    while (total < buf.size()) {
      std::size_t bytes = 0;
      error_code ec;
      const Step step = read_step(buf.subspan(total), bytes, ec);
      if (step == Step::done) {
        total += bytes;
        // Without TLS one recv(2) took all that had arrived; with TLS, stop where the
        // read-ahead runs out rather than make a system call that would find nothing.
        if (total > 0 &&
            (!tls_active || (SSL_has_pending(ssl) == 0 && bio_state.buffered() == 0))) {
          break;
        }
      } else if (step == Step::want_read) {
        if (total > 0 || !wait) {
          break;
        }
        wait_for(POLLIN, deadline, "waiting for");
      } else if (step == Step::want_write) {
        // A TLS 1.3 KeyUpdate asked of us is answered while reading.
        wait_for(POLLOUT, deadline, "waiting for");
      } else if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated ||
                 ec == asio::error::connection_reset) {
        closed = true;
        break;
      } else if (total > 0) {
        read_error = ec.message();
        break;
      } else {
        throw Error(ExitCode::io, "reading from " + where() + " failed: " + ec.message());
      }
    }
    return total;
  }

  // Writes all of `data` (until the deadline, or a signal).
  void write(std::string_view data)
  {
    throw_if_signalled();
    const auto deadline = Clock::now() + endpoint.timeout;
    while (!data.empty()) {
      std::size_t bytes = 0;
      error_code ec;
      Step step = Step::done;
      if (tls_active) {
        ERR_clear_error();
        if (SSL_write_ex(ssl, data.data(), data.size(), &bytes) != 1) {
          step = tls_step(SSL_get_error(ssl, 0), ec);
        }
      } else if (const ssize_t n =
                     ::send(socket.native_handle(), data.data(), data.size(), MSG_NOSIGNAL);
                 n >= 0) {
        bytes = static_cast<std::size_t>(n);
      } else {
        step = socket_step(POLLOUT, ec);
      }
      if (step == Step::done) {
        data.remove_prefix(bytes);
      } else if (step == Step::want_write) {
        wait_for(POLLOUT, deadline, "sending to");
      } else if (step == Step::want_read) {
        wait_for(POLLIN, deadline, "sending to");
      } else {
        throw Error(ExitCode::io, "sending to " + where() + " failed: " + ec.message());
      }
    }
  }

  // Closes the socket: after a timeout or a signal nothing more goes out.
  void abandon()
  {
    error_code ignored;
    socket.close(ignored);
  }

  [[noreturn]] void timed_out(const char* what)
  {
    throw Error(ExitCode::temporary, "timed out after " + std::to_string(endpoint.timeout.count()) +
                                         " s " + what + " " + where() +
                                         " (--timeout sets the limit)");
  }

  // Waits until the socket is ready for `events` (POLLIN or POLLOUT), or throws: Error 75 at
  // the deadline, the signal's Error when one is noted (the wake-up pipe is polled too). Both
  // close the connection first.
  void wait_for(short events, Clock::time_point deadline, const char* what)
  {
    for (;;) {
      if (g_signal != 0) {
        abandon();
        throw_if_signalled();
      }
      const auto left = deadline - Clock::now();
      if (left <= Clock::duration::zero()) {
        abandon();
        timed_out(what);
      }
      // Rounded up, so that a wait never ends just before the deadline and spins.
      const auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
      pollfd fds[2] = {{socket.native_handle(), events, 0}, {wake.native_handle(), POLLIN, 0}};
      const int ready = ::poll(fds, 2, static_cast<int>(std::min<decltype(ms)>(ms, 1 << 30)));
      if (ready < 0 && errno != EINTR) {
        throw Error(ExitCode::io, "waiting for " + where() + " failed: " + std::strerror(errno));
      }
      if (ready > 0 && fds[0].revents != 0 && g_signal == 0) {
        return;
      }
    }
  }

  // Runs one asynchronous operation to completion or until the deadline, or until a signal
  // (then the connection is closed, and nothing more goes out).
  template <typename Start> error_code run(Start&& start, std::size_t& bytes, const char* what)
  {
    throw_if_signalled();
    error_code result = asio::error::would_block;
    start([&](error_code ec, std::size_t n) {
      result = ec;
      bytes = n;
    });
    if (!waking) {
      waking = true;
      wake.async_wait(asio::posix::descriptor_base::wait_read,
                      [this](error_code) { waking = false; });
    }
    io.restart();
    const auto deadline = std::chrono::steady_clock::now() + endpoint.timeout;
    while (result == asio::error::would_block && g_signal == 0 && io.run_one_until(deadline) > 0) {
    }
    if (result == asio::error::would_block || g_signal != 0) {
      abandon();
      io.restart();
      while (result == asio::error::would_block && io.run_one() > 0) {
      }
      throw_if_signalled();
      timed_out(what);
    }
    return result;
  }

  // The addresses of host:port (68 if there are none).
  tcp::resolver::results_type resolve(const std::string& host, std::uint16_t port, const char* what)
  {
    tcp::resolver resolver(io);
    tcp::resolver::results_type results;
    std::size_t unused = 0;
    error_code ec = run(
        [&](auto handler) {
          resolver.async_resolve(host, std::to_string(port),
                                 [&results, handler](error_code e, tcp::resolver::results_type r) {
                                   results = std::move(r);
                                   handler(e, 0);
                                 });
        },
        unused, "resolving");
    if (ec) {
      throw Error(ExitCode::no_host,
                  std::string("unknown ") + what + " '" + host + "': " + ec.message());
    }
    return results;
  }

  // Connects to the first of `results` that accepts, from --source-address if given: only
  // addresses of its family are tried, each on a socket bound to it first.
  error_code connect_any(const tcp::resolver::results_type& results)
  {
    std::size_t unused = 0;
    if (endpoint.source_address.empty()) {
      return run(
          [&](auto handler) {
            asio::async_connect(socket, results,
                                [handler](error_code e, const tcp::endpoint&) { handler(e, 0); });
          },
          unused, "connecting to");
    }
    error_code ec;
    const auto source = asio::ip::make_address(endpoint.source_address, ec);
    if (ec) {
      throw UsageError("invalid --source-address '" + endpoint.source_address +
                       "' (expected an IPv4 or IPv6 address of this machine)");
    }
    bool tried = false;
    ec = asio::error::host_not_found;
    for (const auto& entry : results) {
      const tcp::endpoint target = entry.endpoint();
      if (target.address().is_v6() != source.is_v6()) {
        continue;
      }
      tried = true;
      error_code ignored;
      socket.close(ignored);
      socket.open(target.protocol(), ec);
      if (!ec) {
        socket.bind(tcp::endpoint(source, 0), ec);
        if (ec) {
          throw Error(ExitCode::unavailable, "cannot connect from --source-address " +
                                                 endpoint.source_address + ": " + ec.message() +
                                                 " (is it an address of this machine?)");
        }
        ec = run(
            [&](auto handler) {
              socket.async_connect(target, [handler](error_code e) { handler(e, 0); });
            },
            unused, "connecting to");
      }
      if (!ec) {
        break;
      }
    }
    if (!tried) {
      throw Error(ExitCode::unavailable, where() + " has no " + (source.is_v6() ? "IPv6" : "IPv4") +
                                             " address to connect to from --source-address " +
                                             endpoint.source_address);
    }
    return ec;
  }

  // Connects to the Unix-domain socket at endpoint.host. The descriptor is handed to the
  // tcp::socket, which the rest of the transport uses only for its descriptor (recv, send,
  // poll, close): what is said on it does not depend on the address family.
  void connect_local()
  {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    const auto& path = endpoint.host;
    if (path.size() >= sizeof address.sun_path) {
      throw UsageError("the socket path '" + path + "' is too long (at most " +
                       std::to_string(sizeof address.sun_path - 1) + " octets)");
    }
    std::memcpy(address.sun_path, path.data(), path.size());
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
      throw Error(ExitCode::io, "cannot create a socket: " + std::string(std::strerror(errno)));
    }
    error_code ec;
    socket.assign(tcp::v4(), fd, ec);
    if (ec) {
      ::close(fd);
      throw Error(ExitCode::io, "cannot use the " + where() + ": " + ec.message());
    }
    int result = 0;
    do {
      result = ::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address);
    } while (result != 0 && errno == EINTR);
    if (result == 0) {
      return;
    }
    const int error = errno;
    if (error == EAGAIN) {
      throw Error(ExitCode::temporary, "the " + where() + " accepts no more connections now");
    }
    if (error == EACCES || error == EPERM) {
      throw Error(ExitCode::permission, "no permission to connect to the " + where());
    }
    throw Error(ExitCode::unavailable, "cannot connect to the " + where() + ": " +
                                           std::strerror(error) +
                                           " (is the server running, and the path right?)");
  }

  void connect()
  {
    if (local()) {
      connect_local();
      return;
    }
    if (endpoint.proxy.kind == ProxyKind::none) {
      open_socket(resolve(endpoint.host, endpoint.port, "host"), false);
      return;
    }
    // socks5:// sends an address resolved here: each of the server's in turn (a proxy without
    // IPv6 says "network unreachable" for ::1), on a new connection to the proxy each time.
    std::vector<std::string> targets;
    if (endpoint.proxy.kind == ProxyKind::socks5 && !is_ip_literal(endpoint.host)) {
      for (const auto& entry : resolve(endpoint.host, endpoint.port, "host")) {
        auto address = entry.endpoint().address().to_string();
        if (std::find(targets.begin(), targets.end(), address) == targets.end()) {
          targets.push_back(std::move(address));
        }
      }
    } else {
      targets.push_back(endpoint.host);
    }
    const auto proxy = host_port(endpoint.proxy.host, endpoint.proxy.port);
    for (std::size_t i = 0; i < targets.size(); ++i) {
      proxy_stage = "the SOCKS5 proxy " + proxy;
      open_socket(resolve(endpoint.proxy.host, endpoint.proxy.port, "proxy host"), true);
      if (socks_handshake(targets[i], i + 1 == targets.size())) {
        proxy_stage.clear();
        proxy_address = proxy;
        return;
      }
      error_code ignored;
      socket.close(ignored);
    }
  }

  // Connects to one of `results` (the server's addresses, or the proxy's) and readies the
  // socket.
  void open_socket(const tcp::resolver::results_type& results, bool proxied)
  {
    error_code ec = connect_any(results);
    if (ec) {
      if (ec == asio::error::connection_refused) {
        throw Error(ExitCode::unavailable,
                    "connection refused by " + where() +
                        (proxied ? " (is the proxy running, and its port right?)"
                                 : " (is the server running, and the port right?)"));
      }
      throw Error(ExitCode::unavailable, "cannot connect to " + where() + ": " + ec.message());
    }
    error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    // Reads and writes never block: they wait in wait_for(), with the deadline and the signals.
    socket.non_blocking(true, ec);
    if (ec) {
      throw Error(ExitCode::io, "cannot use the connection to " + where() + ": " + ec.message());
    }
    // Asio's socket() has no SOCK_CLOEXEC: no program we start may inherit the connection.
    const int fd = socket.native_handle();
    ::fcntl(fd, F_SETFD, ::fcntl(fd, F_GETFD) | FD_CLOEXEC);
  }

  // Reads exactly `size` bytes of the proxy's answer (never more: the server's first bytes
  // may follow at once).
  std::string read_exactly(std::size_t size)
  {
    std::string out(size, '\0');
    std::size_t got = 0;
    while (got < size) {
      const std::size_t n = read(std::span<char>(out).subspan(got), true);
      if (n == 0) {
        throw Error(ExitCode::unavailable,
                    where() + " closed the connection in the SOCKS5 handshake");
      }
      got += n;
    }
    return out;
  }

  // RFC 1928: the methods (RFC 1929's username/password too when the URL names a user), then
  // CONNECT to `target`: the server's name with socks5h (the proxy resolves it), an address
  // resolved here with socks5. False if the proxy could not reach that address but another
  // may do and `last` is false; throws on any other failure.
  bool socks_handshake(const std::string& target, bool last)
  {
    const auto proxy = host_port(endpoint.proxy.host, endpoint.proxy.port);
    const auto request = socks5::connect_request(target, endpoint.port);
    const bool login = !endpoint.proxy.user.empty();
    write(socks5::greeting(login));
    if (socks5::check_method(read_exactly(2), proxy, login) == 2) {
      auto credentials = socks5::login_request(endpoint.proxy.user, endpoint.proxy.password);
      write(credentials);
      wipe_string(credentials);
      socks5::check_login(read_exactly(2), proxy, endpoint.proxy.user);
    }
    write(request);
    auto reply = read_exactly(5);
    reply += read_exactly(socks5::reply_size(reply, proxy) - reply.size());
    if (!last && reply[1] != 0 && socks5::another_address_may_do(reply)) {
      return false;
    }
    socks5::check_reply(reply, proxy, target, endpoint.port);
    return true;
  }

  static asio::ssl::context make_context(const TlsOptions& tls)
  {
    auto context = make_base_context(tls);
    use_client_certificate(context, tls);
    return context;
  }

  // Tells OpenSSL that there is no passphrase, noting that one was asked for: an encrypted
  // key is refused, never prompted for (mailwrench runs from cron as often as by hand).
  static int no_passphrase(char* /*buf*/, int /*size*/, int /*rwflag*/, void* asked)
  {
    *static_cast<bool*>(asked) = true;
    return -1;
  }

  // The client certificate and its key, checked as ssh checks a private key: a key file
  // that its group or others may read or write is refused (77), before it is read.
  static void use_client_certificate(asio::ssl::context& context, const TlsOptions& tls)
  {
    if (tls.client_cert.empty()) {
      return;
    }
    const std::string& cert = tls.client_cert;
    const std::string& key = tls.client_key.empty() ? cert : tls.client_key;
    for (const auto* file : {&cert, &key}) {
      if (::access(file->c_str(), R_OK) != 0) {
        throw Error(ExitCode::no_input, "cannot read the client " +
                                            std::string(file == &cert ? "certificate" : "key") +
                                            " '" + *file + "': " + std::strerror(errno));
      }
    }
    struct stat st {};
    if (::stat(key.c_str(), &st) != 0) {
      throw Error(ExitCode::no_input,
                  "cannot read the client key '" + key + "': " + std::strerror(errno));
    }
    if ((st.st_mode & 077) != 0) {
      char mode[8];
      std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
      throw Error(ExitCode::permission, "the client key '" + key +
                                            "' may be read by others than its owner (mode " + mode +
                                            "); refusing to use it: chmod 600 '" + key + "'");
    }
    SSL_CTX* native = context.native_handle();
    ERR_clear_error();
    if (SSL_CTX_use_certificate_chain_file(native, cert.c_str()) != 1) {
      ERR_clear_error();
      throw Error(ExitCode::config, "no usable PEM certificate in '" + cert +
                                        "' (--tls-cert takes the client certificate as PEM)");
    }
    bool asked = false;
    EVP_PKEY* pkey = nullptr;
    if (BIO* bio = BIO_new_file(key.c_str(), "r"); bio != nullptr) {
      pkey = PEM_read_bio_PrivateKey(bio, nullptr, no_passphrase, &asked);
      BIO_free(bio);
    }
    ERR_clear_error();
    if (pkey == nullptr) {
      if (asked) {
        throw Error(ExitCode::config,
                    "the client key '" + key +
                        "' is protected by a passphrase, which mailwrench does not ask for: "
                        "keep a decrypted copy (openssl pkey -in KEY -out NEW; chmod 600 NEW)");
      }
      throw Error(ExitCode::config, "no usable PEM private key in '" + key +
                                        "' (--tls-key takes the client key as PEM)");
    }
    const int used = SSL_CTX_use_PrivateKey(native, pkey);
    EVP_PKEY_free(pkey);
    if (used != 1 || SSL_CTX_check_private_key(native) != 1) {
      ERR_clear_error();
      throw Error(ExitCode::config, "the client key '" + key +
                                        "' does not belong to the certificate in '" + cert + "'");
    }
  }

  static asio::ssl::context make_base_context(const TlsOptions& tls)
  {
    asio::ssl::context context(asio::ssl::context::tls_client);
    if (tls.legacy_only) {
      context.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                          asio::ssl::context::no_sslv3);
      SSL_CTX* native = context.native_handle();
      SSL_CTX_set_security_level(native, 0);
      SSL_CTX_set_min_proto_version(native, TLS1_VERSION);
      SSL_CTX_set_max_proto_version(native, TLS1_1_VERSION);
      SSL_CTX_set_cipher_list(native, "DEFAULT:@SECLEVEL=0");
      context.set_verify_mode(asio::ssl::verify_none);
      return context;
    }
    context.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                        asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                        asio::ssl::context::no_tlsv1_1);
    // Level 2 (RSA and DH keys of 2048 bits or more, no SHA-1 signatures) whatever the
    // system's OpenSSL defaults to: a weak server key is refused before a password is sent.
    SSL_CTX_set_security_level(context.native_handle(), 2);
    // A pinned fingerprint replaces chain verification (as in mpop and msmtp).
    if (!tls.inspect && (tls.insecure || !tls.fingerprint.empty())) {
      context.set_verify_mode(asio::ssl::verify_none);
      return context;
    }
    context.set_verify_mode(asio::ssl::verify_peer);
    error_code ec;
    if (!tls.cacert.empty()) {
      if (::access(tls.cacert.c_str(), R_OK) != 0) {
        throw Error(ExitCode::no_input, "cannot read CA certificates from '" + tls.cacert +
                                            "': " + std::strerror(errno));
      }
      context.load_verify_file(tls.cacert, ec);
      if (ec) {
        throw Error(ExitCode::no_input, "no usable PEM certificate in '" + tls.cacert +
                                            "' (--cacert takes a PEM file of CA certificates)");
      }
    } else {
      context.set_default_verify_paths(ec);
    }
    return context;
  }

  // Notes every problem chain verification finds, and lets the handshake go on (inspect).
  static int note_problem(int preverified, X509_STORE_CTX* store)
  {
    auto* tls =
        static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
    auto* self = tls != nullptr ? static_cast<Impl*>(SSL_get_app_data(tls)) : nullptr;
    if (preverified == 0 && self != nullptr) {
      VerifyProblem problem;
      problem.depth = X509_STORE_CTX_get_error_depth(store);
      problem.code = X509_STORE_CTX_get_error(store);
      problem.reason = X509_verify_cert_error_string(problem.code);
      problem.name = problem.code == X509_V_ERR_HOSTNAME_MISMATCH ||
                     problem.code == X509_V_ERR_IP_ADDRESS_MISMATCH;
      auto& problems = self->problems;
      const bool seen = std::any_of(problems.begin(), problems.end(), [&](const VerifyProblem& p) {
        return p.code == problem.code && p.depth == problem.depth;
      });
      if (!seen) {
        problems.push_back(std::move(problem));
      }
    }
    return 1;
  }

  // The TLS session over the connected socket, as the context says, reading ahead (in the BIO).
  void make_session()
  {
    SSL_free(ssl);
    ssl = SSL_new(ssl_context.native_handle());
    BIO* bio = BIO_new(socket_bio_method());
    if (ssl == nullptr || bio == nullptr) {
      BIO_free(bio);
      throw Error(ExitCode::software, "cannot start TLS: out of memory");
    }
    bio_state = SocketBioState{};
    bio_state.fd = socket.native_handle();
    BIO_set_data(bio, &bio_state);
    SSL_set_bio(ssl, bio, bio);
    SSL_set_app_data(ssl, this);
    SSL_set_mode(ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  }

  void handshake()
  {
    make_session();
    const auto& host = endpoint.host;
    bool ip = is_ip_address(host);
    if (!ip) {
      // SNI (RFC 6066 section 3) is sent for names only.
      // SSL_set_tlsext_host_name is a macro with a C-style cast; call what it expands to.
      SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
               const_cast<char*>(host.c_str()));
    }
    const bool inspect = endpoint.tls.inspect && !endpoint.tls.legacy_only;
    if (inspect) {
      // Every problem is noted, none ends the handshake.
      SSL_set_verify(ssl, SSL_get_verify_mode(ssl), note_problem);
    }
    if (inspect ||
        (!endpoint.tls.insecure && endpoint.tls.fingerprint.empty() && !endpoint.tls.legacy_only)) {
      X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
      X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      if (ip) {
        X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str());
      } else {
        X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size());
      }
    }
    throw_if_signalled();
    const auto deadline = Clock::now() + endpoint.timeout;
    error_code ec;
    for (;;) {
      ERR_clear_error();
      const int result = SSL_connect(ssl);
      if (result == 1) {
        break;
      }
      const Step step = tls_step(SSL_get_error(ssl, result), ec);
      if (step == Step::failed) {
        break;
      }
      wait_for(step == Step::want_read ? POLLIN : POLLOUT, deadline, "in the TLS handshake with");
    }
    if (ec) {
      long verify = SSL_get_verify_result(ssl);
      if (verify != X509_V_OK) {
        std::string reason = X509_verify_cert_error_string(verify);
        if (verify == X509_V_ERR_HOSTNAME_MISMATCH || verify == X509_V_ERR_IP_ADDRESS_MISMATCH) {
          throw Error(ExitCode::permission, "the certificate of " + where() +
                                                " does not match the host name '" + host + "'");
        }
        throw Error(ExitCode::permission,
                    "the certificate of " + where() + " is not trusted: " + reason +
                        " (--cacert FILE trusts a private CA; --fingerprint pins one certificate)");
      }
      if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) {
        throw Error(ExitCode::protocol, "the server closed the connection during the TLS "
                                        "handshake with " +
                                            where() + " (is this a TLS port?)");
      }
      throw Error(ExitCode::protocol, "TLS handshake with " + where() + " failed: " + ec.message() +
                                          " (is this a TLS port?)");
    }
    tls_active = true;
    if (inspect) {
      X509* cert = SSL_get0_peer_certificate(ssl);
      auto why = cert == nullptr ? std::string("there is none") : below_security_floor(cert);
      if (!why.empty()) {
        problems.push_back({0, -1, "the certificate is refused: " + why, false});
      }
      return;
    }
    if (endpoint.tls.legacy_only) {
      return;
    }
    if (!endpoint.tls.insecure && endpoint.tls.fingerprint.empty() &&
        (SSL_get_verify_result(ssl) != X509_V_OK || SSL_get0_peer_certificate(ssl) == nullptr)) {
      // Belt and braces: verify_peer should have failed the handshake already.
      throw Error(ExitCode::permission, "the certificate of " + where() + " was not verified");
    }
    if (!endpoint.tls.fingerprint.empty() && !endpoint.tls.insecure) {
      auto expected = normalize_fingerprint(endpoint.tls.fingerprint);
      auto actual = fingerprint();
      std::string bare;
      for (char c : actual) {
        if (c != ':') {
          bare += c;
        }
      }
      if (bare != expected) {
        throw Error(ExitCode::permission, "the certificate of " + where() +
                                              " has SHA-256 fingerprint " + actual +
                                              ", not the one given with --fingerprint");
      }
    }
    if (!endpoint.tls.insecure) {
      X509* cert = SSL_get0_peer_certificate(ssl);
      auto why = cert == nullptr ? std::string("there is none") : below_security_floor(cert);
      if (!why.empty()) {
        throw Error(ExitCode::permission,
                    "the certificate of " + where() + " is refused: " + why +
                        (endpoint.tls.fingerprint.empty()
                             ? ""
                             : " (--fingerprint replaces the chain and host name checks, "
                               "not the security floor)"));
      }
    }
  }

  std::string fingerprint() const
  {
    if (!tls_active) {
      return "";
    }
    X509* cert = SSL_get0_peer_certificate(ssl);
    if (cert == nullptr) {
      return "";
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    if (X509_digest(cert, EVP_sha256(), md, &size) != 1) {
      return "";
    }
    return hex_colons(md, size);
  }

  SignalScope signals;  // before the io_context: outlives every handler
  Endpoint endpoint;
  asio::io_context io;
  asio::ssl::context ssl_context;
  tcp::socket socket;                   // non-blocking once connected
  asio::posix::stream_descriptor wake;  // readable once a signal is noted
  bool waking = false;                  // a wait on `wake` is pending
  SSL* ssl = nullptr;                   // the TLS session, from the handshake on
  SocketBioState bio_state;             // the socket under `ssl`
  bool tls_active = false;
  bool closed = false;
  std::string read_error;  // an error met after data was read: the next read reports it
  std::vector<VerifyProblem> problems;  // with TlsOptions::inspect
  std::string proxy_stage;              // "the SOCKS5 proxy HOST:PORT" while talking to it
  std::string proxy_address;            // "HOST:PORT" of the proxy connected through, or ""
};

Connection::Connection(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}

Connection::~Connection()
{
  m_impl->abandon();
}

std::unique_ptr<Connection> Connection::open(const Endpoint& endpoint)
{
  auto impl = std::make_unique<Impl>(endpoint);
  impl->connect();
  if (endpoint.implicit_tls) {
    impl->handshake();
  }
  return std::unique_ptr<Connection>(new Connection(std::move(impl)));
}

std::size_t Connection::read_some(std::span<char> buf)
{
  return m_impl->read(buf, true);
}

std::size_t Connection::read_arrived(std::span<char> buf)
{
  // Only as far as it can go without waiting: what the kernel (or, with TLS, the records it
  // holds) already has; TLS records that carry no data (session tickets) are consumed on the
  // way.
  return m_impl->read(buf, false);
}

void Connection::write(std::string_view data)
{
  m_impl->write(data);
}

void Connection::start_tls()
{
  m_impl->handshake();
}

bool Connection::encrypted() const
{
  return m_impl->tls_active;
}

std::string Connection::tls_description() const
{
  if (!m_impl->tls_active) {
    return "";
  }
  SSL* ssl = m_impl->ssl;
  return std::string(SSL_get_version(ssl)) + " " + SSL_get_cipher_name(ssl);
}

TlsSession Connection::tls_session() const
{
  TlsSession session;
  if (!m_impl->tls_active) {
    return session;
  }
  SSL* ssl = m_impl->ssl;
  session.protocol = SSL_get_version(ssl);
  session.cipher = SSL_get_cipher_name(ssl);
  // The client's view of the peer's chain includes the server's own certificate first.
  if (STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl); chain != nullptr) {
    for (int i = 0; i < sk_X509_num(chain); ++i) {
      session.chain.push_back(facts_of(sk_X509_value(chain, i)));
    }
  } else if (X509* cert = SSL_get0_peer_certificate(ssl); cert != nullptr) {
    session.chain.push_back(facts_of(cert));
  }
  session.problems = m_impl->problems;
  session.name_mismatch = std::any_of(session.problems.begin(), session.problems.end(),
                                      [](const VerifyProblem& p) { return p.name; });
  return session;
}

std::chrono::seconds Connection::timeout() const
{
  return m_impl->endpoint.timeout;
}

void Connection::set_timeout(std::chrono::seconds limit)
{
  m_impl->endpoint.timeout = limit;
}

std::string Connection::peer() const
{
  if (m_impl->local()) {
    return m_impl->where();
  }
  error_code ec;
  auto ep = m_impl->socket.remote_endpoint(ec);
  if (ec) {
    return m_impl->where();
  }
  auto address = ep.address().to_string();
  if (ep.address().is_v6()) {
    address = "[" + address + "]";
  }
  address += ":" + std::to_string(ep.port());
  if (!m_impl->proxy_address.empty()) {
    // The socket's peer is the proxy; the server is reached through it.
    return m_impl->where() + " via SOCKS5 proxy " + address;
  }
  return address;
}

}  // namespace mw::net
