// SPDX-License-Identifier: Apache-2.0
#include "net/socks5.hpp"

#include "net/address.hpp"
#include "util/error.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

namespace mw::net::socks5 {

namespace {

constexpr char k_version = 5;
constexpr char k_login_version = 1;  // RFC 1929's subnegotiation

[[noreturn]] void not_socks5(std::string_view proxy)
{
  throw Error(ExitCode::protocol, "the proxy " + std::string(proxy) +
                                      " does not answer as a SOCKS5 proxy (is it one, and the "
                                      "port right?)");
}

}  // namespace

std::string greeting(bool login)
{
  return login ? std::string{k_version, 2, 0, 2} : std::string{k_version, 1, 0};
}

unsigned check_method(std::string_view reply, std::string_view proxy, bool login_offered)
{
  if (reply.size() != 2 || reply[0] != k_version) {
    not_socks5(proxy);
  }
  const auto method = static_cast<unsigned char>(reply[1]);
  if (method == 0xFF) {
    if (login_offered) {
      throw Error(ExitCode::permission,
                  "the SOCKS5 proxy " + std::string(proxy) +
                      " accepts neither no authentication nor a user name and password");
    }
    throw Error(ExitCode::permission,
                "the SOCKS5 proxy " + std::string(proxy) +
                    " requires authentication: name the user in the URL (socks5h://USER@HOST:PORT) "
                    "and put the password in MAILWRENCH_PROXY_PASSWORD");
  }
  if (method != 0 && !(method == 2 && login_offered)) {
    not_socks5(proxy);
  }
  return method;
}

std::string login_request(std::string_view user, const Secret& password)
{
  const auto& secret = password.reveal();
  if (user.empty() || user.size() > 255 || secret.empty() || secret.size() > 255) {
    throw Error(ExitCode::config, "a SOCKS5 user name and password are 1 to 255 octets each "
                                  "(RFC 1929); the user name is " +
                                      std::to_string(user.size()) + " octets, the password " +
                                      std::to_string(secret.size()));
  }
  std::string out{k_login_version};
  out += static_cast<char>(user.size());
  out += user;
  out += static_cast<char>(secret.size());
  out += secret;
  return out;
}

void check_login(std::string_view reply, std::string_view proxy, std::string_view user)
{
  // RFC 1929 says VER 1; some proxies answer with the SOCKS version, 5.
  if (reply.size() != 2 || (reply[0] != k_login_version && reply[0] != k_version)) {
    not_socks5(proxy);
  }
  if (reply[1] != 0) {
    throw Error(ExitCode::permission, "the SOCKS5 proxy " + std::string(proxy) +
                                          " refused the user name '" + std::string(user) +
                                          "' or its password (MAILWRENCH_PROXY_PASSWORD)");
  }
}

std::string connect_request(std::string_view host, std::uint16_t port)
{
  std::string out{k_version, 1, 0};  // CONNECT, reserved
  const std::string name(host);
  in_addr v4{};
  in6_addr v6{};
  if (::inet_pton(AF_INET, name.c_str(), &v4) == 1) {
    out += '\x01';
    out.append(reinterpret_cast<const char*>(&v4), 4);
  } else if (::inet_pton(AF_INET6, name.c_str(), &v6) == 1) {
    out += '\x04';
    out.append(reinterpret_cast<const char*>(&v6), 16);
  } else {
    if (name.empty() || name.size() > 255) {
      throw UsageError("the host name '" + name + "' cannot go to a SOCKS5 proxy (1 to 255 bytes)");
    }
    out += '\x03';
    out += static_cast<char>(name.size());
    out += name;
  }
  out += static_cast<char>(port >> 8);
  out += static_cast<char>(port & 0xFF);
  return out;
}

std::size_t reply_size(std::string_view head, std::string_view proxy)
{
  if (head.size() < 5 || head[0] != k_version || head[2] != 0) {
    not_socks5(proxy);
  }
  switch (head[3]) {
  case 1: return 4 + 4 + 2;
  case 4: return 4 + 16 + 2;
  case 3: return 4 + 1 + static_cast<unsigned char>(head[4]) + 2;
  default: not_socks5(proxy);
  }
}

bool another_address_may_do(std::string_view reply)
{
  if (reply.size() < 2) {
    return false;
  }
  const auto code = static_cast<unsigned char>(reply[1]);
  return code >= 3 && code <= 6;
}

std::string reply_text(unsigned code)
{
  switch (code) {
  case 0: return "succeeded";
  case 1: return "general SOCKS server failure";
  case 2: return "connection not allowed by ruleset";
  case 3: return "network unreachable";
  case 4: return "host unreachable";
  case 5: return "connection refused";
  case 6: return "TTL expired";
  case 7: return "command not supported";
  case 8: return "address type not supported";
  default: return "unknown reply code " + std::to_string(code);
  }
}

void check_reply(std::string_view reply, std::string_view proxy, std::string_view host,
                 std::uint16_t port)
{
  if (reply.size() < 5 || reply.size() != reply_size(reply, proxy)) {
    not_socks5(proxy);
  }
  const auto code = static_cast<unsigned char>(reply[1]);
  if (code == 0) {
    return;
  }
  const auto target = (is_ipv6_literal(host) ? "[" + std::string(host) + "]" : std::string(host)) +
                      ":" + std::to_string(port);
  const auto text = "the SOCKS5 proxy " + std::string(proxy) + " could not connect to " + target +
                    ": " + reply_text(code) + " (reply " + std::to_string(code) + ")";
  switch (code) {
  case 4:
    if (!is_ip_literal(host)) {
      throw Error(ExitCode::no_host, text + " (does the proxy know that name?)");
    }
    throw Error(ExitCode::unavailable, text);
  case 7:
  case 8: throw Error(ExitCode::protocol, text);
  default: throw Error(ExitCode::unavailable, text);
  }
}

}  // namespace mw::net::socks5
