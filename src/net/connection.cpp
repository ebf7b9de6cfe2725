#include "net/connection.hpp"

#include "util/error.hpp"
#include "util/text.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <optional>
#include <span>
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
  // The SSL object copies the context's settings when the stream is made, so the context
  // is configured first.
  explicit Impl(const Endpoint& e)
      : endpoint(e), ssl_context(make_context(e.tls)), stream(io, ssl_context),
        wake(io, SignalScope::wake_fd())
  {
    throw_if_signalled();
  }

  std::string where() const { return endpoint.host + ":" + std::to_string(endpoint.port); }

  // Starts a read into `buf`: through TLS once it is on, else from the socket.
  template <typename Handler> void start_read(std::span<char> buf, Handler&& handler)
  {
    auto mutable_buf = asio::buffer(buf.data(), buf.size());
    if (tls_active) {
      stream.async_read_some(mutable_buf, std::forward<Handler>(handler));
    } else {
      stream.next_layer().async_read_some(mutable_buf, std::forward<Handler>(handler));
    }
  }

  // The `bytes` of a read that ended with `ec`. A server that closes without TLS close_notify
  // (or resets) has still closed: `closed` is set; any other error is an Error 74.
  std::size_t read_result(const error_code& ec, std::size_t bytes)
  {
    if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated ||
        ec == asio::error::connection_reset) {
      closed = true;
      return bytes;
    }
    if (ec) {
      throw Error(ExitCode::io, "reading from " + where() + " failed: " + ec.message());
    }
    return bytes;
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
      error_code ignored;
      stream.next_layer().close(ignored);
      io.restart();
      while (result == asio::error::would_block && io.run_one() > 0) {
      }
      throw_if_signalled();
      throw Error(ExitCode::temporary, "timed out after " +
                                           std::to_string(endpoint.timeout.count()) + " s " + what +
                                           " " + where() + " (--timeout sets the limit)");
    }
    return result;
  }

  void connect()
  {
    tcp::resolver resolver(io);
    tcp::resolver::results_type results;
    std::size_t unused = 0;
    error_code ec = run(
        [&](auto handler) {
          resolver.async_resolve(endpoint.host, std::to_string(endpoint.port),
                                 [&results, handler](error_code e, tcp::resolver::results_type r) {
                                   results = std::move(r);
                                   handler(e, 0);
                                 });
        },
        unused, "resolving");
    if (ec) {
      throw Error(ExitCode::no_host, "unknown host '" + endpoint.host + "': " + ec.message());
    }
    ec = run(
        [&](auto handler) {
          asio::async_connect(stream.next_layer(), results,
                              [handler](error_code e, const tcp::endpoint&) { handler(e, 0); });
        },
        unused, "connecting to");
    if (ec) {
      if (ec == asio::error::connection_refused) {
        throw Error(ExitCode::unavailable, "connection refused by " + where() +
                                               " (is the server running, and the port right?)");
      }
      throw Error(ExitCode::unavailable, "cannot connect to " + where() + ": " + ec.message());
    }
    error_code ignored;
    stream.next_layer().set_option(tcp::no_delay(true), ignored);
    // Asio's socket() has no SOCK_CLOEXEC: no program we start may inherit the connection.
    const int fd = stream.next_layer().native_handle();
    ::fcntl(fd, F_SETFD, ::fcntl(fd, F_GETFD) | FD_CLOEXEC);
  }

  static asio::ssl::context make_context(const TlsOptions& tls)
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

  void handshake()
  {
    SSL* ssl = stream.native_handle();
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
      stream.set_verify_callback([this](bool preverified, asio::ssl::verify_context& context) {
        if (!preverified) {
          X509_STORE_CTX* store = context.native_handle();
          VerifyProblem problem;
          problem.depth = X509_STORE_CTX_get_error_depth(store);
          problem.code = X509_STORE_CTX_get_error(store);
          problem.reason = X509_verify_cert_error_string(problem.code);
          problem.name = problem.code == X509_V_ERR_HOSTNAME_MISMATCH ||
                         problem.code == X509_V_ERR_IP_ADDRESS_MISMATCH;
          const bool seen =
              std::any_of(problems.begin(), problems.end(), [&](const VerifyProblem& p) {
                return p.code == problem.code && p.depth == problem.depth;
              });
          if (!seen) {
            problems.push_back(std::move(problem));
          }
        }
        return true;
      });
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
    std::size_t unused = 0;
    error_code ec = run(
        [&](auto handler) {
          stream.async_handshake(asio::ssl::stream_base::client,
                                 [handler](error_code e) { handler(e, 0); });
        },
        unused, "in the TLS handshake with");
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
    X509* cert = SSL_get0_peer_certificate(
        const_cast<asio::ssl::stream<tcp::socket>&>(stream).native_handle());
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
  asio::ssl::stream<tcp::socket> stream;
  asio::posix::stream_descriptor wake;  // readable once a signal is noted
  bool waking = false;                  // a wait on `wake` is pending
  bool tls_active = false;
  bool closed = false;
  std::vector<VerifyProblem> problems;  // with TlsOptions::inspect
};

Connection::Connection(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}

Connection::~Connection()
{
  error_code ignored;
  m_impl->stream.next_layer().close(ignored);
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
  auto& d = *m_impl;
  if (d.closed) {
    return 0;
  }
  std::size_t bytes = 0;
  const error_code ec =
      d.run([&](auto handler) { d.start_read(buf, std::move(handler)); }, bytes, "waiting for");
  return d.read_result(ec, bytes);
}

std::size_t Connection::read_arrived(std::span<char> buf)
{
  auto& d = *m_impl;
  if (d.closed || buf.empty()) {
    return 0;
  }
  // A read that runs only as far as it can without waiting: what the kernel (or, with TLS, the
  // records it holds) already has; TLS records that carry no data (session tickets) are
  // consumed on the way. A read still waiting after that is cancelled.
  bool done = false;
  error_code result;
  std::size_t bytes = 0;
  auto handler = [&](error_code ec, std::size_t n) {
    done = true;
    result = ec;
    bytes = n;
  };
  d.start_read(buf, handler);
  d.io.restart();
  while (!done && d.io.poll() > 0) {
  }
  if (!done) {
    error_code ignored;
    d.stream.next_layer().cancel(ignored);
    d.io.restart();
    // Until this read's handler has run, not until the io_context is out of work: the wait for
    // a signal (Impl::wake) stays pending for the connection's lifetime.
    const auto deadline = std::chrono::steady_clock::now() + d.endpoint.timeout;
    while (!done && d.io.run_one_until(deadline) > 0) {
    }
    if (!done) {
      d.stream.next_layer().close(ignored);
      d.io.restart();
      while (!done && d.io.run_one() > 0) {
      }
      throw Error(ExitCode::io, "reading from " + d.where() + " could not be cancelled");
    }
  }
  if (result == asio::error::operation_aborted) {
    return bytes;
  }
  return d.read_result(result, bytes);
}

void Connection::write(std::string_view data)
{
  auto& d = *m_impl;
  std::size_t bytes = 0;
  auto buffer = asio::buffer(data.data(), data.size());
  error_code ec;
  if (d.tls_active) {
    ec = d.run([&](auto handler) { asio::async_write(d.stream, buffer, handler); }, bytes,
               "sending to");
  } else {
    ec = d.run([&](auto handler) { asio::async_write(d.stream.next_layer(), buffer, handler); },
               bytes, "sending to");
  }
  if (ec) {
    throw Error(ExitCode::io, "sending to " + d.where() + " failed: " + ec.message());
  }
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
  SSL* ssl = m_impl->stream.native_handle();
  return std::string(SSL_get_version(ssl)) + " " + SSL_get_cipher_name(ssl);
}

TlsSession Connection::tls_session() const
{
  TlsSession session;
  if (!m_impl->tls_active) {
    return session;
  }
  SSL* ssl = m_impl->stream.native_handle();
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
  error_code ec;
  auto ep = m_impl->stream.next_layer().remote_endpoint(ec);
  if (ec) {
    return m_impl->where();
  }
  auto address = ep.address().to_string();
  if (ep.address().is_v6()) {
    address = "[" + address + "]";
  }
  return address + ":" + std::to_string(ep.port());
}

}  // namespace mw::net
