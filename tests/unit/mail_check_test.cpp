// SPDX-License-Identifier: Apache-2.0
#include "mail/check.hpp"
#include "mail/compose.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

using mw::mail::CheckLimits;
using mw::mail::Finding;
using mw::mail::MessageChecker;
using mw::mail::Severity;

namespace {

// The findings for `message` fed in chunks of `chunk` octets (0: at once).
std::vector<Finding> check(std::string_view message, std::size_t chunk = 0, CheckLimits limits = {})
{
  MessageChecker checker(limits);
  if (chunk == 0) {
    checker.feed(message);
  } else {
    for (std::size_t i = 0; i < message.size(); i += chunk) {
      checker.feed(message.substr(i, chunk));
    }
  }
  checker.finish();
  return checker.findings();
}

std::set<std::string> codes(const std::vector<Finding>& findings)
{
  std::set<std::string> out;
  for (const auto& f : findings) {
    out.insert(f.code);
  }
  return out;
}

std::set<std::string> errors(const std::vector<Finding>& findings)
{
  std::set<std::string> out;
  for (const auto& f : findings) {
    if (f.severity == Severity::error) {
      out.insert(f.code);
    }
  }
  return out;
}

const Finding* find(const std::vector<Finding>& findings, std::string_view code)
{
  auto it = std::find_if(findings.begin(), findings.end(),
                         [&](const Finding& f) { return f.code == code; });
  return it == findings.end() ? nullptr : &*it;
}

// The same findings whatever the chunks: every split of a message into two, and one octet at a
// time.
void require_split_invariant(std::string_view message)
{
  const auto whole = check(message);
  for (std::size_t cut = 1; cut < message.size(); ++cut) {
    MessageChecker checker;
    checker.feed(message.substr(0, cut));
    checker.feed(message.substr(cut));
    checker.finish();
    REQUIRE(codes(checker.findings()) == codes(whole));
  }
  REQUIRE(codes(check(message, 1)) == codes(whole));
}

const std::string k_head = "From: Alice <alice@example.com>\r\n"
                           "To: Bob <bob@example.net>\r\n"
                           "Date: Mon, 23 Nov 2026 15:04:05 +0100\r\n"
                           "Subject: hello\r\n"
                           "Message-ID: <1@example.com>\r\n";

std::string multipart(std::string_view parts, std::string_view close = "--b1--\r\n")
{
  return k_head +
         "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
         "preamble\r\n" +
         std::string(parts) + std::string(close);
}

}  // namespace

TEST_CASE("check: a clean message has no finding, in any chunks", "[check]")
{
  const std::string message = k_head + "\r\nHello Bob,\r\n.. a line\r\n";
  REQUIRE(check(message).empty());
  require_split_invariant(message);
  // LF line endings are not a problem (servers and stores use them).
  std::string lf = message;
  lf.erase(std::remove(lf.begin(), lf.end(), '\r'), lf.end());
  REQUIRE(check(lf).empty());
  // A header section without a body and without the empty line is a valid message.
  REQUIRE(check(k_head).empty());
}

TEST_CASE("check: a clean multipart with base64, quoted-printable and an attached message",
          "[check]")
{
  const auto message = multipart("--b1\r\nContent-Type: text/plain; charset=utf-8\r\n"
                                 "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
                                 "caf=C3=A9 and a soft=\r\nbreak=20\r\n"
                                 "--b1\r\nContent-Type: application/octet-stream\r\n"
                                 "Content-Transfer-Encoding: base64\r\n\r\n"
                                 "aGVsbG8gd29y\r\nbGQ=\r\n"
                                 "--b1\r\nContent-Type: message/rfc822\r\n\r\n" +
                                 k_head +
                                 "Content-Type: multipart/alternative; boundary=inner\r\n\r\n"
                                 "--inner\r\n\r\ntext\r\n--inner--\r\n"
                                 "--b1 \r\n\r\nlast part, a boundary with padding\r\n");
  REQUIRE(check(message).empty());
  require_split_invariant(message);
}

TEST_CASE("check: every message send composes is clean", "[check]")
{
  mw::mail::Composition c;
  c.from = {"Zoë Ünïcode", "zoe@example.com"};
  c.to = {{"Bob", "bob@example.net"}, {"", "carol@example.org"}};
  c.cc = {{"Dave, Jr.", "dave@example.org"}};
  c.subject = "Grüße – a long subject that is long enough to need folding over more than one "
              "line of the header section, with ünïcödé";
  c.body = "Hi,\n.leading dot\nFrom the start\n" + std::string(2000, 'x') + "\ncafé\n";
  c.date = std::chrono::sys_seconds{std::chrono::seconds{1795442645}};
  c.message_id = "<abc@example.com>";
  c.boundary = mw::mail::make_boundary("token123");
  for (bool eight_bit : {false, true}) {
    for (bool attach : {false, true}) {
      c.eight_bit_allowed = eight_bit;
      c.attachments.clear();
      if (attach) {
        c.attachments.push_back({"a.bin", std::string("\0\x01\xff binary", 10)});
        c.attachments.push_back({"notes.txt", "text\nwith lines\n"});
      }
      const auto composed = mw::mail::compose(c);
      INFO(composed.message);
      const auto findings = check(composed.message);
      for (const auto& f : findings) {
        INFO(f.code << ": " << f.detail);
        CHECK(f.severity != Severity::error);
      }
      CHECK(errors(findings).empty());
    }
  }
}

TEST_CASE("check: header-missing", "[check]")
{
  auto findings = check("\r\nbody only\r\n");
  REQUIRE(errors(findings).count("header-missing") == 1);
  findings = check("just some text\r\nand more\r\n");
  REQUIRE(errors(findings).count("header-missing") == 1);
  REQUIRE(errors(check("")).count("header-missing") == 1);
  require_split_invariant("just some text\r\n");
}

TEST_CASE("check: header-no-separator", "[check]")
{
  const auto message = k_head + "this line is body text\r\nmore\r\n";
  const auto findings = check(message);
  REQUIRE(errors(findings) == std::set<std::string>{"header-no-separator"});
  REQUIRE(find(findings, "header-no-separator")->where ==
          "offset " + std::to_string(k_head.size()));
  require_split_invariant(message);
}

TEST_CASE("check: header-line-too-long", "[check]")
{
  const auto message =
      "X-Long: " + std::string(2 * 1024 * 1024, 'a') + "\r\n" + k_head + "\r\nb\r\n";
  const auto findings = check(message, 65536);
  // 2 MB is a header section over the limit too; From after the line is still seen.
  REQUIRE(errors(findings) == std::set<std::string>{"header-line-too-long", "header-too-large"});
  const auto* f = find(findings, "header-line-too-long");
  REQUIRE(f->where == "header X-Long");
  REQUIRE(f->detail.find(std::to_string(2 * 1024 * 1024 + 8)) != std::string::npos);
  // 998 octets are allowed.
  REQUIRE(check("X-Ok: " + std::string(992, 'a') + "\r\n" + k_head).empty());
}

TEST_CASE("check: header-too-large", "[check]")
{
  std::string fields;
  for (int i = 0; i < 200; ++i) {
    fields += "Received: from host" + std::to_string(i) + " by relay; Mon, 23 Nov 2026\r\n";
  }
  const auto message = k_head + fields + "\r\nbody\r\n";
  REQUIRE(check(message).empty());
  const auto findings = check(message, 0, {.header_section = 4096});
  REQUIRE(errors(findings) == std::set<std::string>{"header-too-large"});
}

TEST_CASE("check: nul-byte and bare-cr", "[check]")
{
  std::string message = k_head + "\r\nabc" + std::string(1, '\0') + "def\r\n";
  auto findings = check(message);
  REQUIRE(errors(findings) == std::set<std::string>{"nul-byte"});
  REQUIRE(find(findings, "nul-byte")->where == "offset " + std::to_string(k_head.size() + 5));
  require_split_invariant(message);

  message = k_head + "\r\nabc\rdef\r\nend\r";
  findings = check(message);
  REQUIRE(errors(findings) == std::set<std::string>{"bare-cr"});
  REQUIRE(find(findings, "bare-cr")->detail.find("2 CR") == 0);
  require_split_invariant(message);
}

TEST_CASE("check: from-missing is an error, from-invalid a warning", "[check]")
{
  REQUIRE(errors(check("Date: Mon, 23 Nov 2026 15:04:05 +0100\r\nSubject: x\r\n\r\nb\r\n")) ==
          std::set<std::string>{"from-missing"});
  const auto findings =
      check("From: no address here\r\nDate: Mon, 23 Nov 2026 15:04:05 +0100\r\n\r\nb\r\n");
  REQUIRE(codes(findings) == std::set<std::string>{"from-invalid"});
  REQUIRE(errors(findings).empty());
  // A bounce's null sender is not an error either.
  REQUIRE(errors(check("From: MAILER DAEMON <>\r\nDate: Mon, 23 Nov 2026 15:04:05 +0100\r\n\r\n"
                       "b\r\n"))
              .empty());
}

TEST_CASE("check: warnings for Date, duplicates, encoded-words, addresses and 8-bit headers",
          "[check]")
{
  const std::string message = "From: Alice <alice@example.com>\r\n"
                              "Date: yesterday at noon\r\n"
                              "Subject: one\r\nSubject: =?utf-8?B?bad base64?=\r\n"
                              "To: <missing-at>\r\n"
                              "X-Latin: caf\xe9\r\n\r\nbody\r\n";
  const auto findings = check(message);
  REQUIRE(errors(findings).empty());
  REQUIRE(codes(findings) == std::set<std::string>{"date-invalid", "field-duplicate",
                                                   "encoded-word-invalid", "address-invalid",
                                                   "header-8bit"});
  REQUIRE(find(findings, "header-8bit")->where == "header X-Latin");
  REQUIRE(codes(check("From: a@example.com\r\n\r\nb\r\n")) ==
          std::set<std::string>{"date-missing"});
  // UTF-8 in a header is allowed (RFC 6532).
  REQUIRE(check(k_head + "X-Name: café\r\n\r\nb\r\n").empty());
}

TEST_CASE("check: mime-boundary-missing", "[check]")
{
  const auto message = k_head + "Content-Type: multipart/mixed\r\n\r\n--x\r\n\r\nt\r\n--x--\r\n";
  REQUIRE(errors(check(message)) == std::set<std::string>{"mime-boundary-missing"});
}

TEST_CASE("check: mime-truncated", "[check]")
{
  const auto message = multipart("--b1\r\nContent-Type: text/plain\r\n\r\npart one\r\n"
                                 "--b1\r\n\r\npart two, and then the message sto",
                                 "");
  const auto findings = check(message);
  REQUIRE(errors(findings) == std::set<std::string>{"mime-truncated"});
  REQUIRE(find(findings, "mime-truncated")->detail.find("'--b1--'") != std::string::npos);
  require_split_invariant(message);
}

TEST_CASE("check: an inner multipart closed by the outer boundary is a warning", "[check]")
{
  const auto message = multipart("--b1\r\nContent-Type: multipart/related; boundary=in\r\n\r\n"
                                 "--in\r\n\r\ninner\r\n");
  REQUIRE(codes(check(message)) == std::set<std::string>{"mime-boundary-unclosed"});
}

TEST_CASE("check: mime-too-deep", "[check]")
{
  std::string message = k_head;
  const int levels = 30;
  for (int i = 0; i < levels; ++i) {
    message += "Content-Type: multipart/mixed; boundary=l" + std::to_string(i) + "\r\n\r\n--l" +
               std::to_string(i) + "\r\n";
  }
  message += "\r\ndeep\r\n";
  for (int i = levels; i-- > 0;) {
    message += "--l" + std::to_string(i) + "--\r\n";
  }
  REQUIRE(errors(check(message)) == std::set<std::string>{"mime-too-deep"});
  REQUIRE(errors(check(message, 0, {.depth = 40})).empty());
  // Nested attached messages count too.
  std::string nested;
  for (int i = 0; i < 25; ++i) {
    nested += k_head + "Content-Type: message/rfc822\r\n\r\n";
  }
  nested += k_head + "\r\nbody\r\n";
  REQUIRE(errors(check(nested)) == std::set<std::string>{"mime-too-deep"});
}

TEST_CASE("check: mime-too-many-parts", "[check]")
{
  std::string parts;
  for (int i = 0; i < 20; ++i) {
    parts += "--b1\r\n\r\npart\r\n";
  }
  const auto message = multipart(parts);
  REQUIRE(check(message).empty());
  const auto findings = check(message, 0, {.parts = 10});
  REQUIRE(errors(findings) == std::set<std::string>{"mime-too-many-parts"});
  REQUIRE(find(findings, "mime-too-many-parts")->where == "part 11");
}

TEST_CASE("check: base64-invalid", "[check]")
{
  const auto garbage = multipart("--b1\r\nContent-Transfer-Encoding: base64\r\n\r\n"
                                 "aGVsbG8g!!d29y\r\nbGQ=\r\n");
  auto findings = check(garbage);
  REQUIRE(errors(findings) == std::set<std::string>{"base64-invalid"});
  REQUIRE(find(findings, "base64-invalid")->where == "part 1");
  require_split_invariant(garbage);
  // A quantum cut short.
  findings = check(multipart("--b1\r\nContent-Transfer-Encoding: base64\r\n\r\naGVsb\r\n"));
  REQUIRE(errors(findings) == std::set<std::string>{"base64-invalid"});
  // A top-level body, and garbage in a line longer than any kept.
  findings = check(k_head + "Content-Transfer-Encoding: base64\r\n\r\n" + std::string(10000, 'A') +
                   "%" + std::string(3, 'A') + "\r\n");
  REQUIRE(errors(findings) == std::set<std::string>{"base64-invalid"});
  REQUIRE(find(findings, "base64-invalid")
              ->detail.find("offset " + std::to_string(k_head.size() + 37 + 10000)) !=
          std::string::npos);
}

TEST_CASE("check: quoted-printable-invalid, encoding-unknown, charset-unknown, "
          "content-type-invalid are warnings",
          "[check]")
{
  auto findings = check(multipart("--b1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
                                  "100=% sure =4\r\n"
                                  "--b1\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\nbegin\r\n"
                                  "--b1\r\nContent-Type: text/plain; charset=x-no-such-charset\r\n"
                                  "\r\nt\r\n"
                                  "--b1\r\nContent-Type: text\r\n\r\nt\r\n"));
  REQUIRE(errors(findings).empty());
  REQUIRE(codes(findings) == std::set<std::string>{"quoted-printable-invalid", "encoding-unknown",
                                                   "charset-unknown", "content-type-invalid"});
}

TEST_CASE("check: a broken attached message is reported inside its part", "[check]")
{
  const auto message = multipart("--b1\r\nContent-Type: message/rfc822\r\n\r\n"
                                 "Subject: no from\r\nDate: Mon, 23 Nov 2026 15:04:05 +0100\r\n"
                                 "Content-Type: multipart/mixed; boundary=in\r\n\r\n"
                                 "--in\r\nContent-Transfer-Encoding: base64\r\n\r\n#garbage#\r\n"
                                 "--in--\r\n");
  const auto findings = check(message);
  REQUIRE(errors(findings) == std::set<std::string>{"base64-invalid"});
  REQUIRE(find(findings, "base64-invalid")->where == "part 1.1");
  // Without From, an attached message breaks no client: a warning.
  REQUIRE(find(findings, "from-missing")->severity == Severity::warning);
  REQUIRE(find(findings, "from-missing")->where == "part 1, header");
  require_split_invariant(message);
}

TEST_CASE("check: a large message is checked in bounded memory", "[check]")
{
  // 64 MiB of base64 in 64 KiB chunks: the checker keeps no more than a line.
  MessageChecker checker;
  checker.feed(k_head + "Content-Transfer-Encoding: base64\r\n\r\n");
  std::string chunk;
  for (int i = 0; i < 840; ++i) {
    chunk += std::string(76, 'A') + "\r\n";
  }
  for (int i = 0; i < 1000; ++i) {
    checker.feed(chunk);
  }
  checker.finish();
  REQUIRE(checker.findings().empty());
  REQUIRE(checker.octets() > 64'000'000);
}

TEST_CASE("check: no error on the clean messages of the corpus", "[check]")
{
  // tests/unit/data/clean/: real messages from Debian packages' test suites (see its README).
  const auto dir = std::filesystem::path(MW_TEST_DATA_DIR) / "clean";
  std::size_t checked = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".eml") {
      continue;
    }
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream content;
    content << in.rdbuf();
    const auto findings = check(content.str(), 4096);
    for (const auto& f : findings) {
      INFO(entry.path().filename().string() << ": " << f.code << ": " << f.detail);
      CHECK(f.severity != Severity::error);
    }
    ++checked;
  }
  REQUIRE(checked >= 10);
}

TEST_CASE("check: every broken message of the corpus has an error", "[check]")
{
  const auto dir = std::filesystem::path(MW_TEST_DATA_DIR) / "broken";
  std::size_t checked = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream content;
    content << in.rdbuf();
    INFO(entry.path().filename().string());
    CHECK_FALSE(errors(check(content.str(), 100)).empty());
    ++checked;
  }
  REQUIRE(checked >= 10);
}
