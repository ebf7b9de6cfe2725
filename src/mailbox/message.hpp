// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

// The mailbox model: the messages of a mailbox as the rest of the program sees them, whatever
// session listed them. Selection matches them, stores name what they write after them and
// renderers show them; only the commands know how a POP3 session lists them (LIST, UIDL and
// TOP n 0, commands/mailbox.cpp).
namespace mw::mailbox {

// One message of a mailbox.
struct Message {
  std::uint64_t number = 0;  // its place in the mailbox, from 1; fixed for one session only
  std::uint64_t octets = 0;  // its size as the server gives it: a hint, never trusted
  std::string uid;           // the server's lasting name for it; "" when the server has none
  // What its header section says, when that was read (has_headers).
  bool has_headers = false;
  std::string from;                              // decoded (RFC 2047), UTF-8
  std::string subject;                           // decoded (RFC 2047), UTF-8
  std::optional<std::chrono::sys_seconds> date;  // the Date field, when it parses
  // The codes of what a check found wrong with it, when a --broken selection chose it
  // (mail::known_codes()); empty otherwise.
  std::vector<std::string> problems;
};

// a + b, or UINT64_MAX when it would not fit (a server can claim any size).
std::uint64_t add_octets(std::uint64_t a, std::uint64_t b);

// The octets of all the messages together, or UINT64_MAX when that would not fit.
std::uint64_t total_octets(const std::vector<Message>& messages);

}  // namespace mw::mailbox
