// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

namespace mw::net {

// A connected byte stream to a server, plain or TLS. Protocol clients talk to this
// interface only, so they can be tested against a scripted in-memory stream.
// Every operation has a deadline; failures throw mw::Error with the exit code class
// (74 I/O, 75 timeout, 77 certificate).
class Stream {
public:
  virtual ~Stream() = default;

  // Reads at least one byte into buf; returns 0 when the peer closed the connection.
  virtual std::size_t read_some(std::span<char> buf) = 0;

  // Writes all of data.
  virtual void write(std::string_view data) = 0;

  // Reads into buf what has already arrived, without waiting: 0 when nothing has (or the peer
  // closed). A client in lock-step (RFC 1939, RFC 5321 without PIPELINING) calls it before a
  // command to find replies that no command asked for.
  virtual std::size_t read_arrived(std::span<char> /*buf*/) { return 0; }

  // Upgrades the connection in place to TLS (POP3 STLS, RFC 2595; SMTP STARTTLS, RFC 3207).
  virtual void start_tls() = 0;

  // True once the stream is TLS (implicit or after start_tls()).
  virtual bool encrypted() const = 0;

  // A short description of the TLS session ("TLSv1.3 TLS_AES_256_GCM_SHA384"), or "".
  virtual std::string tls_description() const = 0;
};

}  // namespace mw::net
