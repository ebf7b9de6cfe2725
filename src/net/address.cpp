// SPDX-License-Identifier: Apache-2.0
#include "net/address.hpp"

#include "util/error.hpp"

#include <algorithm>
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

// The user name of a URL (RFC 3986's userinfo), %XX decoded: 1 to 255 octets (RFC 1929), no
// control characters.
std::string percent_decoded(std::string_view text, std::string_view what)
{
  const auto invalid = [&](const std::string& why) {
    return UsageError("invalid user name in " + std::string(what) + ": " + why);
  };
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c == '%') {
      unsigned value = 0;
      const auto* first = text.data() + i + 1;
      const auto* last = first + std::min<std::size_t>(2, text.size() - i - 1);
      const auto [ptr, ec] = std::from_chars(first, last, value, 16);
      if (last - first != 2 || ec != std::errc() || ptr != last) {
        throw invalid("'%' is not followed by two hexadecimal digits");
      }
      c = static_cast<unsigned char>(value);
      i += 2;
    }
    if (c < 0x20 || c == 0x7F) {
      throw invalid("it holds a control character");
    }
    out += static_cast<char>(c);
  }
  if (out.empty() || out.size() > 255) {
    throw invalid("it must be 1 to 255 octets (RFC 1929)");
  }
  return out;
}

// The URL as an error shows it: what is before its last "@" (a password, perhaps, in a URL
// of another scheme) left out.
std::string shown(std::string_view url)
{
  const auto at = url.rfind('@');
  if (at == std::string_view::npos) {
    return std::string(url);
  }
  const auto scheme = url.find("://");
  const auto keep = scheme == std::string_view::npos || scheme > url.find('@') ? 0 : scheme + 3;
  return std::string(url.substr(0, keep)) + "...@" + std::string(url.substr(at + 1));
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
  std::string_view rest;
  if (url.starts_with("socks5h://")) {
    proxy.kind = ProxyKind::socks5h;
    rest = url.substr(10);
  } else if (url.starts_with("socks5://")) {
    proxy.kind = ProxyKind::socks5;
    rest = url.substr(9);
  } else {
    throw UsageError("invalid " + std::string(what) + " '" + shown(url) +
                     "' (expected socks5h://HOST:PORT or socks5://HOST:PORT)");
  }
  if (rest.ends_with('/')) {
    rest.remove_suffix(1);
  }
  if (const auto at = rest.rfind('@'); at != std::string_view::npos) {
    const auto user = rest.substr(0, at);
    if (user.find(':') != std::string_view::npos) {
      throw UsageError(std::string(what) +
                       " takes a user name (USER@HOST) but no password: a password on the command "
                       "line is visible to every user of the machine; put it in "
                       "MAILWRENCH_PROXY_PASSWORD");
    }
    proxy.user = percent_decoded(user, what);
    rest = rest.substr(at + 1);
  }
  if (rest.find('/') != std::string_view::npos) {
    throw UsageError("invalid " + std::string(what) + " '" + shown(url) +
                     "' (expected socks5h://HOST:PORT, without a path)");
  }
  auto hp = split_host_port(rest, what);
  proxy.host = std::move(hp.host);
  proxy.port = hp.port.value_or(1080);
  return proxy;
}

}  // namespace mw::net
