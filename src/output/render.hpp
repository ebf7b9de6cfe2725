// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "output/results.hpp"
#include "util/error.hpp"

#include <nlohmann/json.hpp>

#include <memory>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace mw::output {

// How plain output is laid out: for a terminal (aligned columns with a heading, sizes in
// KiB/MiB) or for a pipe (tab-separated fields, exact octets, no heading).
struct PlainStyle {
  bool terminal = false;
  std::size_t width = 100;  // terminal columns
};

// "1.5 MiB", "312 B": sizes for people.
std::string human_size(std::uint64_t octets);

// Plain renderers (for people).
void render_plain(const StatResult& result, std::ostream& out, const PlainStyle& style);
void render_plain(const ListResult& result, std::ostream& out, const PlainStyle& style);
void render_plain(const FetchResult& result, std::ostream& out);
// Its last line, without the line feed: "stored 12 messages (3.4 MiB) in 1.20 s, deleted 12 on
// the server" (also the summary of the --log-file run line).
std::string fetch_summary(const FetchResult& result);
void render_plain(const SendResult& result, std::ostream& out);
// The message as it would go, its CRLF line endings shown as the terminal's LF.
void render_plain(const SendPreview& preview, std::ostream& out);

// Writes `list`'s rows as they come, in memory that does not grow with them: plain for a pipe
// (each line at once), plain for a terminal (the first k_layout_rows rows are held to fit the
// columns to them; later rows get that layout, a longer value cut with "…"), or the JSON
// document of to_json(ListResult), written as it grows ("messages" first, then "count" and
// "octets"). A run that fails before finish() leaves the document unfinished.
class ListWriter {
public:
  enum class Kind { plain, json };
  static constexpr std::size_t k_layout_rows = 2000;

  ListWriter(std::ostream& out, Kind kind, const PlainStyle& style, bool headers, bool problems);
  ListWriter(const ListWriter&) = delete;
  ListWriter& operator=(const ListWriter&) = delete;
  ~ListWriter();

  void add(const mailbox::Message& message);
  // The end: the table's total line, or the JSON document's count and octets.
  void finish();

private:
  void write_plain_line(const mailbox::Message& m);
  void lay_out();
  void write_table_row(const mailbox::Message& m);
  void table_line(std::string_view number, std::string_view size, std::string_view uid,
                  std::string_view problems, std::string_view date, std::string_view from,
                  std::string_view subject);

  std::ostream& m_out;
  Kind m_kind;
  PlainStyle m_style;
  bool m_headers;
  bool m_problems;
  std::uint64_t m_count = 0;
  std::uint64_t m_octets = 0;
  bool m_finished = false;
  std::vector<mailbox::Message> m_held;  // a terminal's first rows, until laid out
  struct Layout;
  std::unique_ptr<Layout> m_layout;
};

// JSON documents (the schemas in mailwrench(1)); snake_case keys, sizes in octets, times in
// RFC 3339.
nlohmann::json to_json(const StatResult& result);
nlohmann::json to_json(const ListResult& result);
nlohmann::json to_json(const TopResult& result);
// The messages `top` showed: {"messages": [...]}.
nlohmann::json to_json(const std::vector<TopResult>& results);
nlohmann::json to_json(const FetchResult& result);
// One SMTP reply ({code, enhanced, text}), and each recipient's (with address and accepted):
// what send and send --quit-after report alike.
nlohmann::json to_json(const SmtpOutcome& outcome);
nlohmann::json to_json(const std::vector<RecipientOutcome>& recipients);
std::size_t accepted_count(const std::vector<RecipientOutcome>& recipients);
nlohmann::json to_json(const SendResult& result);
// send --dry-run: {"dry_run": true, "message_id", "from", "recipients", "message"}.
nlohmann::json to_json(const SendPreview& preview);

// purge: {"dry_run": B, "deleted"|"would_delete": [rows with headers], "count": N, "octets": N}
nlohmann::json to_json(const std::vector<mailbox::Message>& purged, bool dry_run);

// {"error": {"kind": ..., "message": ..., "exit_code": N}}
nlohmann::json error_json(ExitCode code, const std::string& message);

// The text of a JSON document as write_json writes it (without the newline).
std::string json_text(const nlohmann::json& document, int indent = 2);

// Writes one JSON document and a newline; invalid UTF-8 becomes U+FFFD, and C1 and
// bidirectional controls are written as \uXXXX escapes (see text::visible). Indented by
// `indent` spaces, or on one line when it is -1 (JSON Lines).
void write_json(const nlohmann::json& document, std::ostream& out, int indent = 2);

}  // namespace mw::output
