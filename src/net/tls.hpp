// SPDX-License-Identifier: Apache-2.0
#pragma once

// What a TLS session looked like, as plain data (no Asio, no OpenSSL types): the transport
// (net/connection.cpp) fills it in, `mailwrench info` reports and judges it.

#include <cstdint>
#include <string>
#include <vector>

namespace mw::net {

// One certificate as the server sent it.
struct CertificateFacts {
  std::string subject;  // RFC 2253 form: "CN=localhost,O=Lab"
  std::string issuer;
  std::vector<std::string> names;  // subjectAltName: "DNS:localhost", "IP:127.0.0.1"
  std::string key_type;            // "RSA", "EC", "ED25519", ...
  int key_bits = 0;
  std::string signature_algorithm;  // "sha256WithRSAEncryption"
  std::int64_t not_before = 0;      // seconds since the epoch (UTC)
  std::int64_t not_after = 0;
  std::string sha256;  // fingerprint, upper-case hex with colons
};

// One problem chain verification found (OpenSSL's X509_V_ERR_* code and its text).
struct VerifyProblem {
  int depth = 0;  // 0 = the server's own certificate
  int code = 0;   // -1: below the security floor (weak key or signature)
  std::string reason;
  bool name = false;  // a host-name (or IP address) mismatch
};

// The TLS session of a connection and the verdict on its certificate (chain and host name,
// RFC 6125), whether or not the connection was allowed to go on.
struct TlsSession {
  std::string protocol;                 // "TLSv1.3"
  std::string cipher;                   // "TLS_AES_256_GCM_SHA384"
  std::vector<CertificateFacts> chain;  // the server's certificate first
  std::vector<VerifyProblem> problems;  // empty: trusted, and the name matches
  bool name_mismatch = false;           // among the problems: the host name does not match

  bool verified() const { return problems.empty(); }
};

}  // namespace mw::net
