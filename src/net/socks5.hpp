// SPDX-License-Identifier: Apache-2.0
#pragma once

// The client side of SOCKS version 5 (RFC 1928) as bytes, without I/O: the transport
// (net/connection.cpp) sends and reads them right after connecting to the proxy, before TLS.
// Only the "no authentication required" method and the CONNECT command.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace mw::net::socks5 {

// The method selection message: version 5, one method, 0 (no authentication required).
std::string greeting();

// Checks the proxy's 2-byte method selection reply; throws mw::Error: 77 if the proxy
// requires authentication (0xFF: no acceptable method), 76 if it does not speak SOCKS5.
void check_method(std::string_view reply, std::string_view proxy);

// CONNECT to host:port. An IPv4 or IPv6 address goes as one (ATYP 1 or 4), anything else as
// a domain name (ATYP 3) for the proxy to resolve; throws UsageError for a name over 255 bytes.
std::string connect_request(std::string_view host, std::uint16_t port);

// How many bytes the reply to CONNECT has, from its first 5 bytes (the address type and, for
// a name, its length); throws mw::Error 76 if they are not a SOCKS5 reply.
std::size_t reply_size(std::string_view head, std::string_view proxy);

// Checks the whole reply: returns if the proxy connected (REP 0), else throws mw::Error naming
// the reply code (RFC 1928 section 6): 69 for a refused or unreachable server, a failure of
// the proxy or its rules forbidding it, 68 for a name the proxy could not resolve (host
// unreachable for socks5h), 76 for a command or address type the proxy does not support.
void check_reply(std::string_view reply, std::string_view proxy, std::string_view host,
                 std::uint16_t port);

// RFC 1928's text of a reply code ("connection refused"), or "unknown reply code N".
std::string reply_text(unsigned code);

}  // namespace mw::net::socks5
