// SPDX-License-Identifier: Apache-2.0
#pragma once

// Host names, addresses and proxy URLs as the user writes them (no I/O: part of the core, unit
// tested in tests/unit/network_test.cpp).

#include "util/secret.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mw::net {

// A host as given to --host: "mail.example.org", "192.0.2.1", "::1", "[::1]", with an
// optional port written with it: "mail.example.org:995", "[::1]:995" (an IPv6 address takes
// its port only in brackets; "::1" alone is an address without a port).
struct HostPort {
  std::string host;  // without brackets
  std::optional<std::uint16_t> port;
};

// Splits `text` as above; throws UsageError (naming `what`, e.g. "--host") if it is empty, a
// bracketed part is not an IPv6 address, or the port is not 1-65535.
HostPort split_host_port(std::string_view text, std::string_view what);

// True if `text` is an IPv4 or IPv6 address (not a name; no brackets, no port).
bool is_ip_literal(std::string_view text);
bool is_ipv6_literal(std::string_view text);

// A SOCKS5 proxy (RFC 1928): socks5h resolves the server's name at the proxy (the name is
// sent), socks5 resolves it here (an address is sent).
enum class ProxyKind { none, socks5, socks5h };
struct Proxy {
  ProxyKind kind = ProxyKind::none;
  std::string host;
  std::uint16_t port = 1080;
  std::string user;  // RFC 1929's user name, or "" (no authentication offered)
  Secret password;   // its password (never from the URL)
};

// Parses "socks5h://[USER@]HOST:PORT" or "socks5://[USER@]HOST[:PORT]" (IPv6 in brackets; port
// 1080 if none; USER percent-encoded as in any URL); "" is no proxy. Throws UsageError naming
// `what` for anything else, including a password in the URL (secrets never go in argv).
Proxy parse_proxy(std::string_view url, std::string_view what);

}  // namespace mw::net
