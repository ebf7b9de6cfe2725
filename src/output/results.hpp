// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "mailbox/message.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mw::output {

// The result of `stat` (RFC 1939 STAT).
struct StatResult {
  std::uint64_t messages = 0;
  std::uint64_t octets = 0;
};

// The result of `list`.
struct ListResult {
  std::vector<mailbox::Message> messages;
  bool headers = false;   // whether From, Subject and Date were read
  bool problems = false;  // whether a check ran (--broken): each row's problem codes are shown
};

// The result of `top` (RFC 1939 TOP).
struct TopResult {
  std::uint64_t number = 0;
  std::string uid;
  std::uint64_t lines = 0;
  std::string content;  // headers, blank line, body lines; LF line endings
};

// A message `fetch` stored, skipped or failed to fetch.
struct FetchedMessage {
  std::uint64_t number = 0;
  std::string uid;
  std::uint64_t octets = 0;  // as stored (stored), or as LIST said (skipped, failed)
  std::string path;          // stored: where it went
  std::string reason;        // skipped or failed: why
};

// The result of `fetch`.
struct FetchResult {
  std::string output;        // the --output target
  std::uint64_t count = 0;   // messages stored
  std::uint64_t octets = 0;  // their octets, as stored
  // Each message stored, when its row is wanted (the JSON document's "stored"): a plain run
  // over a large mailbox keeps only the counts.
  std::vector<FetchedMessage> stored;
  std::vector<FetchedMessage> skipped;
  std::vector<FetchedMessage> failed;
  std::uint64_t deleted = 0;  // messages deleted on the server (confirmed by QUIT)
  double seconds = 0;
};

// An SMTP reply as `send` reports it.
struct SmtpOutcome {
  int code = 0;
  std::string enhanced;  // "2.1.5" or ""
  std::string text;
};

// One envelope recipient and what the server said to it.
struct RecipientOutcome {
  std::string address;
  bool accepted = false;
  SmtpOutcome reply;
};

// What `send --await` saw: when and where the message arrived.
struct AwaitOutcome {
  std::string account;
  double seconds = 0;  // from the end of the SMTP transaction to the message's arrival
  std::uint64_t number = 0;
  std::string uid;
  bool purged = false;
};

// The result of `send`.
struct SendResult {
  std::string message_id;
  std::string from;
  std::vector<RecipientOutcome> recipients;
  std::optional<SmtpOutcome> data;  // the final reply to the message, if it was sent
  std::optional<std::string> queue_id;
  bool dry_run = false;
  std::optional<AwaitOutcome> await;
};

// What `send --dry-run` would send: the envelope and the message (CRLF line endings); nothing
// was asked of a server, so there are no outcomes.
struct SendPreview {
  std::string message_id;
  std::string from;
  std::vector<std::string> recipients;
  std::string message;
};

}  // namespace mw::output
