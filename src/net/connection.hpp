// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "net/address.hpp"
#include "net/stream.hpp"
#include "net/tls.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace mw::net {

// How the TLS layer is set up and what it must accept (RFC 8314, RFC 2595 section 2.4,
// RFC 6125 host-name checks).
struct TlsOptions {
  std::string cacert;       // PEM file of trusted CAs; "" = the system store
  std::string fingerprint;  // SHA-256 of the server certificate, hex with or without colons
  bool insecure = false;    // skip every check (the caller warns the user)
  // Finish the handshake whatever the certificate (chain and host name are still checked
  // against `cacert` or the system store, ignoring `fingerprint` and `insecure`):
  // Connection::tls_session() tells what verification found (mailwrench info).
  bool inspect = false;
  // Offer only TLS 1.0 and 1.1, at any security level, and check nothing: a probe of whether
  // the server still accepts them (mailwrench info --check).
  bool legacy_only = false;
  // A client certificate (PEM, with its chain) and its key (PEM, unencrypted, not readable by
  // group or others; "" = in client_cert's file), for servers that require one.
  std::string client_cert;
  std::string client_key;
};

// Where to connect and how.
struct Endpoint {
  std::string host;
  std::uint16_t port = 0;
  bool implicit_tls = false;  // TLS from the first byte (POP3S 995, SMTPS 465)
  std::chrono::seconds timeout{30};
  TlsOptions tls;
  std::string source_address;  // an address of this machine to connect from ("" = any)
  Proxy proxy;                 // a SOCKS5 proxy to connect through
};

// A TCP connection (every resolved address, IPv4 and IPv6, in order) with a deadline on
// connect and on every read and write, optionally through a SOCKS5 proxy (RFC 1928, right
// after connecting and before TLS), optionally TLS with OpenSSL 3. Throws mw::Error:
// 68 unknown host, 69 refused/unreachable (also by the proxy), 74 I/O error, 75 timeout,
// 76 TLS handshake failure or a proxy that is not SOCKS5, 77 certificate rejected.
class Connection : public Stream {
public:
  static std::unique_ptr<Connection> open(const Endpoint& endpoint);
  ~Connection() override;

  std::size_t read_some(std::span<char> buf) override;
  void write(std::string_view data) override;
  std::size_t read_arrived(std::span<char> buf) override;
  void start_tls() override;
  bool encrypted() const override;
  std::string tls_description() const override;

  // The TLS session and its certificate chain (protocol "" before TLS); with
  // TlsOptions::inspect also every problem verification found.
  TlsSession tls_session() const;

  // "127.0.0.1:995" of the address actually connected to.
  std::string peer() const;

  // The deadline of each read and write from now on (Endpoint::timeout at first).
  std::chrono::seconds timeout() const;
  void set_timeout(std::chrono::seconds limit);

private:
  struct Impl;
  explicit Connection(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> m_impl;
};

// Normalises a user-given fingerprint to upper-case hex without separators; throws
// UsageError if it is not 64 hex digits.
std::string normalize_fingerprint(std::string_view fingerprint);

}  // namespace mw::net
