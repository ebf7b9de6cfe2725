// SPDX-License-Identifier: Apache-2.0
#pragma once

// The client side of SOCKS version 5 (RFC 1928) as bytes, without I/O: the transport
// (net/connection.cpp) sends and reads them right after connecting to the proxy, before TLS.
// The methods "no authentication required" and "username/password" (RFC 1929), and the
// CONNECT command.

#include "util/secret.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace mw::net::socks5 {

// The method selection message (RFC 1928 section 3): version 5 and the methods offered, 0 (no
// authentication required) and, with `login`, 2 (username/password).
std::string greeting(bool login);

// Checks the proxy's 2-byte method selection reply and returns the method chosen (0 or 2);
// throws mw::Error: 77 if the proxy accepts none of those offered (0xFF), 76 if it does not
// speak SOCKS5 or chose a method not offered.
unsigned check_method(std::string_view reply, std::string_view proxy, bool login_offered);

// The username/password request (RFC 1929 section 2): version 1, the user name and the
// password, each 1 to 255 octets (else mw::Error 78). It holds the password: wipe it once sent.
std::string login_request(std::string_view user, const Secret& password);

// Checks the 2-byte answer to the login: returns on success (STATUS 0), throws mw::Error 77 for
// a refusal (naming the user, never the password), 76 if it is not such an answer.
void check_login(std::string_view reply, std::string_view proxy, std::string_view user);

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

// Whether a failed CONNECT reply (RFC 1928 section 6) may succeed with another address of the
// same server: after "network/host unreachable", "connection refused" or "TTL expired", not
// after a failure of the proxy itself or its rules.
bool another_address_may_do(std::string_view reply);

// RFC 1928's text of a reply code ("connection refused"), or "unknown reply code N".
std::string reply_text(unsigned code);

}  // namespace mw::net::socks5
