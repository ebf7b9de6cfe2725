// SPDX-License-Identifier: Apache-2.0
#include "net/address.hpp"

#include "util/error.hpp"

#include <arpa/inet.h>
#include <charconv>
#include <netinet/in.h>

namespace mw::net {

namespace {

std::uint16_t port_of(std::string_view text, std::string_view whole, std::string_view what)
{
  unsigned value = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end || value == 0 || value > 65535) {
    throw UsageError("invalid port in " + std::string(what) + " '" + std::string(whole) +
                     "' (expected 1-65535)");
  }
  return static_cast<std::uint16_t>(value);
}

}  // namespace

bool is_ipv6_literal(std::string_view text)
{
  // inet_pton reads up to a NUL: "::1\0x" is not an address.
  if (text.find('\0') != std::string_view::npos) {
    return false;
  }
  in6_addr v6{};
  const std::string s(text);
  return ::inet_pton(AF_INET6, s.c_str(), &v6) == 1;
}

bool is_ip_literal(std::string_view text)
{
  if (text.find('\0') != std::string_view::npos) {
    return false;
  }
  in_addr v4{};
  const std::string s(text);
  return ::inet_pton(AF_INET, s.c_str(), &v4) == 1 || is_ipv6_literal(text);
}

HostPort split_host_port(std::string_view text, std::string_view what)
{
  const auto invalid = [&](const std::string& why) {
    return UsageError("invalid " + std::string(what) + " '" + std::string(text) + "': " + why);
  };
  if (text.empty()) {
    throw invalid("no host");
  }
  HostPort out;
  if (text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) {
      throw invalid("no ']' after the IPv6 address");
    }
    out.host = std::string(text.substr(1, close - 1));
    if (!is_ipv6_literal(out.host)) {
      throw invalid("only an IPv6 address goes in brackets");
    }
    const auto rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') {
        throw invalid("expected ':PORT' after ']'");
      }
      out.port = port_of(rest.substr(1), text, what);
    }
    return out;
  }
  const auto colon = text.find(':');
  if (colon == std::string_view::npos) {
    out.host = std::string(text);
    return out;
  }
  if (text.find(':', colon + 1) != std::string_view::npos) {
    // Two colons or more: an IPv6 address, whose port can only be given in brackets.
    if (!is_ipv6_literal(text)) {
      throw invalid("not an IPv6 address (write an address with a port as [ADDRESS]:PORT)");
    }
    out.host = std::string(text);
    return out;
  }
  out.host = std::string(text.substr(0, colon));
  if (out.host.empty()) {
    throw invalid("no host before ':'");
  }
  out.port = port_of(text.substr(colon + 1), text, what);
  return out;
}

Proxy parse_proxy(std::string_view url, std::string_view what)
{
  Proxy proxy;
  if (url.empty()) {
    return proxy;
  }
  // Before anything that shows the URL back: what is before an "@" may be a password.
  if (url.find('@') != std::string_view::npos) {
    throw UsageError(std::string(what) +
                     " takes no user name or password (a password on the command line is "
                     "visible to every user of the machine); mailwrench speaks to SOCKS5 proxies "
                     "that need no authentication");
  }
  std::string_view rest;
  if (url.starts_with("socks5h://")) {
    proxy.kind = ProxyKind::socks5h;
    rest = url.substr(10);
  } else if (url.starts_with("socks5://")) {
    proxy.kind = ProxyKind::socks5;
    rest = url.substr(9);
  } else {
    throw UsageError("invalid " + std::string(what) + " '" + std::string(url) +
                     "' (expected socks5h://HOST:PORT or socks5://HOST:PORT)");
  }
  if (rest.ends_with('/')) {
    rest.remove_suffix(1);
  }
  if (rest.find('/') != std::string_view::npos) {
    throw UsageError("invalid " + std::string(what) + " '" + std::string(url) +
                     "' (expected socks5h://HOST:PORT, without a path)");
  }
  auto hp = split_host_port(rest, what);
  proxy.host = std::move(hp.host);
  proxy.port = hp.port.value_or(1080);
  return proxy;
}

}  // namespace mw::net
