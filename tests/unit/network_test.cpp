// SPDX-License-Identifier: Apache-2.0
#include "net/address.hpp"
#include "net/socks5.hpp"
#include "util/error.hpp"

#include <catch2/catch.hpp>

#include <functional>
#include <string>

using namespace std::string_literals;
using mw::net::split_host_port;

namespace {

int exit_code_of(const std::function<void()>& f)
{
  try {
    f();
  } catch (const mw::Error& e) {
    return static_cast<int>(e.code());
  }
  return 0;
}

}  // namespace

TEST_CASE("a host is split from a port written with it", "[network]")
{
  auto plain = split_host_port("mail.example.org", "--host");
  CHECK(plain.host == "mail.example.org");
  CHECK_FALSE(plain.port);

  auto named = split_host_port("mail.example.org:995", "--host");
  CHECK(named.host == "mail.example.org");
  CHECK(named.port == 995);

  auto v4 = split_host_port("192.0.2.1:110", "--host");
  CHECK(v4.host == "192.0.2.1");
  CHECK(v4.port == 110);

  // An IPv6 address alone is no host:port, whatever its last group looks like.
  auto bare = split_host_port("::1", "--host");
  CHECK(bare.host == "::1");
  CHECK_FALSE(bare.port);
  CHECK(split_host_port("2001:db8::995", "--host").host == "2001:db8::995");

  auto bracketed = split_host_port("[::1]", "--host");
  CHECK(bracketed.host == "::1");
  CHECK_FALSE(bracketed.port);

  auto with_port = split_host_port("[2001:db8::1]:995", "--host");
  CHECK(with_port.host == "2001:db8::1");
  CHECK(with_port.port == 995);
}

TEST_CASE("a malformed host or port is a usage error naming the option", "[network]")
{
  for (const auto* bad : {"", "[::1", "[::1]995", "[mail.example.org]:995", "host:", "host:0",
                          "host:65536", "host:99x", ":995", "a:b:c", "[::1]:"}) {
    INFO(bad);
    CHECK(exit_code_of([&] { split_host_port(bad, "--host"); }) == 64);
  }
  CHECK_THROWS_WITH(split_host_port("host:70000", "--host"), Catch::Contains("--host"));
}

TEST_CASE("IP literals are told from names", "[network]")
{
  CHECK(mw::net::is_ip_literal("127.0.0.1"));
  CHECK(mw::net::is_ip_literal("::1"));
  CHECK(mw::net::is_ipv6_literal("fe80::1"));
  CHECK_FALSE(mw::net::is_ipv6_literal("127.0.0.1"));
  CHECK_FALSE(mw::net::is_ip_literal("localhost"));
  CHECK_FALSE(mw::net::is_ip_literal("[::1]"));
  CHECK_FALSE(mw::net::is_ip_literal("1.2.3"));
}

TEST_CASE("proxy URLs", "[network]")
{
  using mw::net::ProxyKind;
  CHECK(mw::net::parse_proxy("", "--proxy").kind == ProxyKind::none);
  auto h = mw::net::parse_proxy("socks5h://proxy.example:1081", "--proxy");
  CHECK(h.kind == ProxyKind::socks5h);
  CHECK(h.host == "proxy.example");
  CHECK(h.port == 1081);
  auto l = mw::net::parse_proxy("socks5://[::1]", "--proxy");
  CHECK(l.kind == ProxyKind::socks5);
  CHECK(l.host == "::1");
  CHECK(l.port == 1080);
  for (const auto* bad : {"http://proxy:3128", "socks4://p:1080", "socks5h://", "proxy:1080",
                          "socks5h://p:1080/x", "socks5h://p:0"}) {
    INFO(bad);
    CHECK(exit_code_of([&] { mw::net::parse_proxy(bad, "--proxy"); }) == 64);
  }
  // A password in the URL is refused, and not repeated in the message.
  for (const auto* secret : {"socks5h://user:s3cret@p:1080", "socks5h://:s3cret@p:1080"}) {
    try {
      mw::net::parse_proxy(secret, "--proxy");
      FAIL("accepted a password in the URL");
    } catch (const mw::Error& e) {
      CHECK(static_cast<int>(e.code()) == 64);
      CHECK(std::string(e.what()).find("s3cret") == std::string::npos);
      CHECK_THAT(e.what(), Catch::Contains("MAILWRENCH_PROXY_PASSWORD"));
    }
  }
}

TEST_CASE("proxy URLs with a user name (RFC 1929's login, the password elsewhere)", "[network]")
{
  auto p = mw::net::parse_proxy("socks5h://joe@proxy.example:1081", "--proxy");
  CHECK(p.user == "joe");
  CHECK(p.host == "proxy.example");
  CHECK(p.port == 1081);
  CHECK(mw::net::parse_proxy("socks5h://proxy.example", "--proxy").user.empty());
  // A user name holding '@' or ':' is written percent-encoded, as in any URL.
  CHECK(mw::net::parse_proxy("socks5://me%40example.org@[::1]:1080", "--proxy").user ==
        "me@example.org");
  CHECK(mw::net::parse_proxy("socks5://a%3ab@p", "--proxy").user == "a:b");
  // The last '@' ends the user name (a host has none).
  CHECK(mw::net::parse_proxy("socks5://a@b@p", "--proxy").user == "a@b");
  for (const auto* bad : {"socks5h://@p:1080", "socks5h://a%4@p", "socks5h://a%zz@p",
                          "socks5h://a%00@p", "socks5h://a%0a@p"}) {
    INFO(bad);
    CHECK(exit_code_of([&] { mw::net::parse_proxy(bad, "--proxy"); }) == 64);
  }
  CHECK(exit_code_of([] {
          mw::net::parse_proxy("socks5h://" + std::string(256, 'u') + "@p", "--proxy");
        }) == 64);
  CHECK(mw::net::parse_proxy("socks5h://" + std::string(255, 'u') + "@p", "--proxy").user.size() ==
        255);
}

TEST_CASE("SOCKS5 username/password authentication (RFC 1929)", "[network][socks5]")
{
  namespace socks5 = mw::net::socks5;
  // Offering the login: methods 0 (none) and 2 (username/password), the proxy picks.
  CHECK(socks5::greeting(true) == "\x05\x02\x00\x02"s);
  CHECK(socks5::check_method("\x05\x02"s, "p:1080", true) == 2);
  CHECK(socks5::check_method("\x05\x00"s, "p:1080", true) == 0);
  CHECK(exit_code_of([] { socks5::check_method("\x05\x01"s, "p:1080", true); }) == 76);
  // The proxy takes neither: 77, saying what was offered.
  CHECK_THROWS_WITH(socks5::check_method("\x05\xff"s, "p:1080", true),
                    Catch::Contains("p:1080") && Catch::Contains("user name"));
  // Without a user, a proxy that wants one is told how to give it.
  CHECK_THROWS_WITH(socks5::check_method("\x05\xff"s, "p:1080", false),
                    Catch::Contains("socks5h://USER@") &&
                        Catch::Contains("MAILWRENCH_PROXY_PASSWORD"));
  // RFC 1929 section 2: VER 1, ULEN, UNAME, PLEN, PASSWD.
  CHECK(socks5::login_request("joe", mw::Secret("pw")) == "\x01\x03joe\x02pw"s);
  CHECK(socks5::login_request(std::string(255, 'u'), mw::Secret(std::string(255, 'p'))).size() ==
        3 + 255 + 255);
  CHECK(exit_code_of([] { socks5::login_request("joe", mw::Secret(std::string(256, 'p'))); }) ==
        78);
  CHECK(exit_code_of([] { socks5::login_request("joe", mw::Secret("")); }) == 78);
  // The reply: VER 1, STATUS 0 is success; anything else a refusal (77) that names the user
  // and never the password.
  CHECK_NOTHROW(socks5::check_login("\x01\x00"s, "p:1080", "joe"));
  CHECK(exit_code_of([] { socks5::check_login("\x01\x01"s, "p:1080", "joe"); }) == 77);
  CHECK_THROWS_WITH(socks5::check_login("\x01\x01"s, "p:1080", "joe"),
                    Catch::Contains("'joe'") && Catch::Contains("p:1080"));
  // Some proxies answer with the SOCKS version (5) where RFC 1929 says 1: taken, as curl does.
  CHECK_NOTHROW(socks5::check_login("\x05\x00"s, "p:1080", "joe"));
  CHECK(exit_code_of([] { socks5::check_login("\x04\x00"s, "p:1080", "joe"); }) == 76);
  CHECK(exit_code_of([] { socks5::check_login("HT"s, "p:1080", "joe"); }) == 76);
}

TEST_CASE("SOCKS5 greeting and method selection (RFC 1928 section 3)", "[network][socks5]")
{
  namespace socks5 = mw::net::socks5;
  CHECK(socks5::greeting(false) == "\x05\x01\x00"s);
  CHECK(socks5::check_method("\x05\x00"s, "p:1080", false) == 0);
  CHECK(exit_code_of([] { socks5::check_method("\x05\xff"s, "p:1080", false); }) == 77);
  CHECK(exit_code_of([] { socks5::check_method("\x04\x00"s, "p:1080", false); }) == 76);
  // Username/password chosen although not offered: not a SOCKS5 proxy to trust.
  CHECK(exit_code_of([] { socks5::check_method("\x05\x02"s, "p:1080", false); }) == 76);
  CHECK(exit_code_of([] { socks5::check_method("HT"s, "p:1080", false); }) == 76);
}

TEST_CASE("SOCKS5 CONNECT requests (RFC 1928 section 4)", "[network][socks5]")
{
  namespace socks5 = mw::net::socks5;
  // A name goes as ATYP 3 with its length, for the proxy to resolve (socks5h).
  CHECK(socks5::connect_request("mail.example", 995) ==
        "\x05\x01\x00\x03\x0cmail.example\x03\xe3"s);
  CHECK(socks5::connect_request("127.0.0.1", 110) == "\x05\x01\x00\x01\x7f\x00\x00\x01\x00\x6e"s);
  CHECK(socks5::connect_request("::1", 25) ==
        "\x05\x01\x00\x04"s + std::string(15, '\0') + "\x01\x00\x19"s);
  CHECK(exit_code_of([] { socks5::connect_request(std::string(256, 'a'), 25); }) == 64);
  CHECK(socks5::connect_request(std::string(255, 'a'), 25).size() == 4 + 1 + 255 + 2);
}

TEST_CASE("SOCKS5 replies (RFC 1928 section 6)", "[network][socks5]")
{
  namespace socks5 = mw::net::socks5;
  const auto ok4 = "\x05\x00\x00\x01\x7f\x00\x00\x01\x04\x38"s;
  CHECK(socks5::reply_size(ok4.substr(0, 5), "p") == 10);
  CHECK_NOTHROW(socks5::check_reply(ok4, "p", "mail.example", 995));
  const auto ok6 = "\x05\x00\x00\x04"s + std::string(16, '\0') + "\x00\x00"s;
  CHECK(socks5::reply_size(ok6.substr(0, 5), "p") == 22);
  CHECK_NOTHROW(socks5::check_reply(ok6, "p", "mail.example", 995));
  const auto ok3 = "\x05\x00\x00\x03\x04host\x00\x19"s;
  CHECK(socks5::reply_size(ok3.substr(0, 5), "p") == 11);
  CHECK_NOTHROW(socks5::check_reply(ok3, "p", "mail.example", 995));

  auto refused = [](unsigned code) {
    return "\x05"s + static_cast<char>(code) + "\x00\x01\x00\x00\x00\x00\x00\x00"s;
  };
  CHECK(exit_code_of([&] { socks5::check_reply(refused(5), "p", "127.0.0.1", 1); }) == 69);
  CHECK_THROWS_WITH(socks5::check_reply(refused(5), "p:1080", "127.0.0.1", 1),
                    Catch::Contains("connection refused") && Catch::Contains("127.0.0.1:1") &&
                        Catch::Contains("p:1080"));
  CHECK_THROWS_WITH(socks5::check_reply(refused(2), "p", "::1", 1),
                    Catch::Contains("not allowed by ruleset") && Catch::Contains("[::1]:1"));
  // Host unreachable for a name the proxy was to resolve: most often an unknown name.
  CHECK(exit_code_of([&] { socks5::check_reply(refused(4), "p", "no.such.host", 1); }) == 68);
  CHECK(exit_code_of([&] { socks5::check_reply(refused(4), "p", "192.0.2.1", 1); }) == 69);
  CHECK(exit_code_of([&] { socks5::check_reply(refused(1), "p", "h", 1); }) == 69);
  CHECK(exit_code_of([&] { socks5::check_reply(refused(7), "p", "h", 1); }) == 76);
  CHECK(exit_code_of([&] { socks5::check_reply(refused(8), "p", "h", 1); }) == 76);
  // socks5:// sends an address resolved here: after "unreachable" or "refused" the next
  // address of the server may do; after the proxy's own failure or its rules, none will.
  for (unsigned code : {3u, 4u, 5u, 6u}) {
    CHECK(socks5::another_address_may_do(refused(code)));
  }
  for (unsigned code : {0u, 1u, 2u, 7u, 8u}) {
    CHECK_FALSE(socks5::another_address_may_do(refused(code)));
  }
  CHECK(socks5::reply_text(3) == "network unreachable");
  CHECK(socks5::reply_text(6) == "TTL expired");
  CHECK(socks5::reply_text(9) == "unknown reply code 9");
  // Not SOCKS5 at all: an HTTP proxy's answer, a wrong version, an unknown address type.
  CHECK(exit_code_of([] { socks5::reply_size("HTTP/1.1 400", "p"); }) == 76);
  CHECK(exit_code_of([] { socks5::reply_size("\x05\x00\x00\x09\x00"s, "p"); }) == 76);
  CHECK(exit_code_of([&] { socks5::check_reply(ok4.substr(0, 9), "p", "h", 1); }) == 76);
}
