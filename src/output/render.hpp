#pragma once

#include "output/results.hpp"
#include "util/error.hpp"

#include <nlohmann/json.hpp>

#include <ostream>
#include <string>

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
void render_plain(const SendResult& result, std::ostream& out);
// The message as it would go, its CRLF line endings shown as the terminal's LF.
void render_plain(const SendPreview& preview, std::ostream& out);

// JSON documents (the schemas in mailwrench(1)); snake_case keys, sizes in octets, times in
// RFC 3339.
nlohmann::json to_json(const StatResult& result);
nlohmann::json to_json(const ListResult& result);
nlohmann::json to_json(const TopResult& result);
// The messages `top` showed: {"messages": [...]}.
nlohmann::json to_json(const std::vector<TopResult>& results);
nlohmann::json to_json(const FetchResult& result);
nlohmann::json to_json(const SendResult& result);
// send --dry-run: {"dry_run": true, "message_id", "from", "recipients", "message"}.
nlohmann::json to_json(const SendPreview& preview);

// purge: {"dry_run": B, "deleted"|"would_delete": [rows with headers], "count": N, "octets": N}
nlohmann::json to_json(const std::vector<mailbox::Message>& purged, bool dry_run);

// {"error": {"kind": ..., "message": ..., "exit_code": N}}
nlohmann::json error_json(ExitCode code, const std::string& message);

// Writes one JSON document and a newline; invalid UTF-8 becomes U+FFFD, and C1 and
// bidirectional controls are written as \uXXXX escapes (see text::visible). Indented by
// `indent` spaces, or on one line when it is -1 (JSON Lines).
void write_json(const nlohmann::json& document, std::ostream& out, int indent = 2);

}  // namespace mw::output
