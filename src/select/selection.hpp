// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "mail/headers.hpp"
#include "mailbox/message.hpp"

#include <boost/regex.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace mw::select {

// An inclusive range of message numbers (RFC 1939 section 2: numbers start at 1); an open end
// ("2-") has last == UINT64_MAX.
struct Range {
  std::uint64_t first;
  std::uint64_t last;
};

// Parses message numbers and ranges ("3", "5-9", "1,4,7", "2-"); throws UsageError naming the bad
// part for 0, "-", "-5", first > last, empty parts or anything not a number.
std::vector<Range> parse_ranges(std::string_view text);

// Parses a size in octets ("123", "10K", "5M", "1G", "1.5M", K = 1024, case-insensitive, with an
// optional trailing B or iB); throws UsageError naming the bad value.
std::uint64_t parse_size(std::string_view text);

// Parses an age ("90s", "30m", "12h", "30d", "2w"; a bare number is days); throws UsageError
// naming the bad value.
std::chrono::seconds parse_age(std::string_view text);

// The text of a header field value as it is matched and shown: RFC 2047-decoded, line
// breaks and tabs as spaces, controls and invalid UTF-8 made visible (text::one_line).
std::string field_text(std::string_view value);

// A filter on one header field: a field name (RFC 5322 section 2.2) and a Perl regex searched
// case-insensitively in its field_text, "^" and "$" anchoring the whole field.
struct HeaderFilter {
  std::string name;
  std::string pattern;
  boost::regex regex;
};

// Parses "Name: REGEX" into a HeaderFilter; throws UsageError naming the bad value.
HeaderFilter parse_header_filter(std::string_view text);

// The selection of DESIGN.md: every given filter must match (AND).
class Selection {
public:
  // Adds message numbers and ranges from a positional argument (see parse_ranges).
  void add_ranges(std::string_view text);

  // Adds a UID (RFC 1939 section 7, UIDL); throws UsageError when empty or containing spaces or
  // control characters.
  void add_uid(std::string uid);

  // Selects messages of more than `octets` octets; throws UsageError when no size could match.
  void set_larger_than(std::uint64_t octets);

  // Selects messages of fewer than `octets` octets; throws UsageError when no size could match.
  void set_smaller_than(std::uint64_t octets);

  // Selects messages whose Date header (RFC 5322 section 3.6.1) is more than `age` ago; throws
  // UsageError when negative or when no age could match.
  void set_older_than(std::chrono::seconds age);

  // Selects messages whose Date header is less than `age` ago; throws UsageError when negative
  // or when no age could match.
  void set_newer_than(std::chrono::seconds age);

  // Selects messages whose decoded From header matches the regex (Perl, case-insensitive,
  // searched); throws UsageError for an invalid regex.
  void set_from(std::string_view regex);

  // Selects messages whose decoded Subject header matches the regex (Perl, case-insensitive,
  // searched); throws UsageError for an invalid regex.
  void set_subject(std::string_view regex);

  // Adds a "Name: REGEX" filter (see parse_header_filter); a message matches when any field of
  // that name matches.
  void add_header(std::string_view name_colon_regex);

  // Declares a UID filter even if no UID follows (an empty --uid-file selects nothing,
  // rather than everything).
  void expect_uids() { m_uid_filter = true; }

  // Selects every message explicitly (`--all`), so that the selection is not empty.
  void set_all();

  // Whether nothing was given at all, not even set_all().
  bool empty() const;

  // Whether a From, Subject, header or age filter needs the messages' header sections.
  bool needs_headers() const;

  // The names of the header fields the filters read (From, Subject, each --header name, Date
  // for the ages), without duplicates.
  std::vector<std::string> header_names() const;

  // Whether a UID filter needs the messages' UIDs.
  bool needs_uids() const;

  // Whether every given filter matches the message, whose header section is `headers` (null
  // when it was not read); regexes are searched in RFC 2047-decoded values, and a missing
  // header (or a missing or unparseable Date for ages) never matches; throws std::logic_error
  // when a header filter is given but `headers` is null, and UsageError when a regex is too
  // complex to run on a value.
  bool matches(const mailbox::Message& message, const mail::Headers* headers,
               std::chrono::sys_seconds now) const;

  // Whether the numbers, UIDs and sizes given match: what a mailbox's listing tells, without
  // headers (a message this rules out need not have its header section read).
  bool matches_listing(const mailbox::Message& message) const;

  // What the table shows for the fields called `name` (From, Subject): the field_text of every
  // such field, joined with " | ", those a filter on `name` matched first (a message with two
  // From fields shows both, and a column cut short still shows the one that matched); "" when
  // there is none.
  std::string shown(const mail::Headers& headers, std::string_view name) const;

  // The ranges given, in order (empty when none), so callers can avoid fetching everything.
  const std::vector<Range>& ranges() const { return m_ranges; }

  // The UIDs given, in order and without duplicates (empty when none).
  const std::vector<std::string>& uids() const { return m_uids; }

private:
  std::vector<Range> m_ranges;
  std::vector<std::string> m_uids;
  std::unordered_set<std::string> m_uid_set;
  std::optional<std::uint64_t> m_larger_than;
  std::optional<std::uint64_t> m_smaller_than;
  std::optional<std::chrono::seconds> m_older_than;
  std::optional<std::chrono::seconds> m_newer_than;
  std::optional<HeaderFilter> m_from;
  std::optional<HeaderFilter> m_subject;
  std::vector<HeaderFilter> m_headers;
  bool m_all = false;
  bool m_uid_filter = false;
};

}  // namespace mw::select
