// SPDX-License-Identifier: Apache-2.0
#include "output/render.hpp"

#include "mail/date.hpp"
#include "mail/rfc2047.hpp"
#include "util/text.hpp"

#include <algorithm>
#include <cstdio>
#include <iomanip>
#include <sstream>

namespace mw::output {

namespace {

// Columns of a string in a terminal: UTF-8 continuation bytes take none. (Wide CJK
// characters take two; close enough for truncation.)
std::size_t display_width(std::string_view s)
{
  std::size_t width = 0;
  for (char c : s) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) {
      ++width;
    }
  }
  return width;
}

// Cuts s to at most `width` columns on a character boundary, marking the cut with "…".
std::string fit(std::string_view s, std::size_t width)
{
  if (display_width(s) <= width) {
    return std::string(s) + std::string(width - display_width(s), ' ');
  }
  std::string out;
  std::size_t used = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if ((c & 0xC0) != 0x80) {
      if (used + 1 >= width) {
        break;
      }
      ++used;
    }
    out += s[i];
  }
  out += "…";
  ++used;
  return out + std::string(width > used ? width - used : 0, ' ');
}

// What a server or a message says must not control the terminal (escape sequences, C1 and
// bidirectional controls, invalid UTF-8) nor break a tab-separated line.
std::string clean(std::string_view s)
{
  return text::one_line(s);
}

std::string date_text(const std::optional<std::chrono::sys_seconds>& date, bool terminal)
{
  if (!date) {
    return terminal ? "-" : "";
  }
  auto text = mail::format_rfc3339(*date);
  if (terminal) {
    // "2026-11-23 15:04" reads better than full RFC 3339 in a column.
    return text.substr(0, 10) + " " + text.substr(11, 5);
  }
  return text;
}

// "nul-byte,bare-cr": the codes a check found (--broken).
std::string codes_text(const std::vector<std::string>& codes)
{
  std::string text;
  for (const auto& code : codes) {
    text += text.empty() ? "" : ",";
    text += code;
  }
  return text;
}

}  // namespace

std::string human_size(std::uint64_t octets)
{
  static constexpr const char* k_units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  if (octets < 1024) {
    return std::to_string(octets) + " B";
  }
  double value = static_cast<double>(octets);
  std::size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(k_units)) {
    value /= 1024;
    ++unit;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, value < 10 ? "%.1f %s" : "%.0f %s", value, k_units[unit]);
  return buf;
}

void render_plain(const StatResult& result, std::ostream& out, const PlainStyle& style)
{
  out << result.messages << (result.messages == 1 ? " message, " : " messages, ") << result.octets
      << " octets";
  if (style.terminal && result.octets >= 1024) {
    out << " (" << human_size(result.octets) << ")";
  }
  out << "\n";
}

// The columns of list's table on a terminal, as wide as the rows they were measured on need.
struct ListWriter::Layout {
  std::size_t number = 1;
  std::size_t uid = 3;
  std::size_t problems = 8;  // "PROBLEMS"
  std::size_t from = 4;      // "FROM": what the longest value needs

  void measure(const mailbox::Message& m)
  {
    number = std::max(number, std::to_string(m.number).size());
    uid = std::max(uid, display_width(clean(m.uid)));
    problems = std::max(problems, display_width(clean(codes_text(m.problems))));
    from = std::max(from, display_width(clean(m.from)));
  }
};

namespace {

nlohmann::json row_json(const mailbox::Message& m, bool headers, bool problems)
{
  nlohmann::json row = {{"number", m.number}, {"octets", m.octets}};
  row["uid"] = m.uid.empty() ? nlohmann::json(nullptr) : nlohmann::json(m.uid);
  if (problems) {
    row["problems"] = m.problems;
  }
  if (headers) {
    row["from"] = m.from;
    row["subject"] = m.subject;
    row["date"] = m.date ? nlohmann::json(mail::format_rfc3339(*m.date)) : nlohmann::json(nullptr);
  }
  return row;
}

}  // namespace

ListWriter::ListWriter(std::ostream& out, Kind kind, const PlainStyle& style, bool headers,
                       bool problems)
    : m_out(out), m_kind(kind), m_style(style), m_headers(headers), m_problems(problems)
{
}

ListWriter::~ListWriter()
{
  // Left unfinished by a failure: what follows (the error document) starts on a line of its
  // own.
  if (m_kind == Kind::json && m_count > 0 && !m_finished) {
    m_out << '\n';
  }
}

void ListWriter::add(const mailbox::Message& m)
{
  ++m_count;
  m_octets = mailbox::add_octets(m_octets, m.octets);
  switch (m_kind) {
  case Kind::json: {
    // As write_json would indent it inside "messages": four more spaces on every line.
    std::string text = json_text(row_json(m, m_headers, m_problems), 2);
    m_out << (m_count == 1 ? "{\n  \"messages\": [\n" : ",\n") << "    ";
    for (std::size_t i = 0; i < text.size(); ++i) {
      m_out << text[i];
      if (text[i] == '\n' && i + 1 < text.size()) {
        m_out << "    ";
      }
    }
    return;
  }
  case Kind::plain:
    if (!m_style.terminal) {
      write_plain_line(m);
      return;
    }
    if (m_layout) {
      write_table_row(m);
      return;
    }
    m_held.push_back(m);
    if (m_held.size() >= k_layout_rows) {
      lay_out();
    }
    return;
  }
}

void ListWriter::finish()
{
  m_finished = true;
  if (m_kind == Kind::json) {
    m_out << (m_count == 0 ? "{\n  \"messages\": []" : "\n  ]") << ",\n  \"count\": " << m_count
          << ",\n  \"octets\": " << m_octets << "\n}\n";
    return;
  }
  if (!m_style.terminal) {
    return;
  }
  if (!m_layout) {
    lay_out();
  }
  m_out << m_count << (m_count == 1 ? " message, " : " messages, ") << human_size(m_octets) << "\n";
}

void ListWriter::write_plain_line(const mailbox::Message& m)
{
  m_out << m.number << '\t' << m.octets << '\t' << (m.uid.empty() ? "-" : clean(m.uid));
  if (m_problems) {
    m_out << '\t' << (m.problems.empty() ? "-" : clean(codes_text(m.problems)));
  }
  if (m_headers) {
    m_out << '\t' << date_text(m.date, false) << '\t' << clean(m.from) << '\t' << clean(m.subject);
  }
  m_out << '\n';
}

void ListWriter::lay_out()
{
  Layout layout;
  for (const auto& m : m_held) {
    layout.measure(m);
  }
  m_layout = std::make_unique<Layout>(layout);
  m_layout->uid = std::min<std::size_t>(m_layout->uid, 40);
  m_layout->problems = std::min<std::size_t>(m_layout->problems, 48);
  table_line("#", "SIZE", "UID", "PROBLEMS", "DATE", "FROM", "SUBJECT");
  for (const auto& m : m_held) {
    write_table_row(m);
  }
  m_held.clear();
  m_held.shrink_to_fit();
}

void ListWriter::write_table_row(const mailbox::Message& m)
{
  table_line(std::to_string(m.number), human_size(m.octets), m.uid.empty() ? "-" : clean(m.uid),
             m.problems.empty() ? "-" : clean(codes_text(m.problems)), date_text(m.date, true),
             clean(m.from), clean(m.subject));
}

void ListWriter::table_line(std::string_view number, std::string_view size, std::string_view uid,
                            std::string_view problems, std::string_view date, std::string_view from,
                            std::string_view subject)
{
  const auto& w = *m_layout;
  // A number longer than the rows laid out had (message 10000 after 2000 rows) widens its
  // row, and the subject gives the room back: a row never wraps.
  const std::size_t number_width = std::max(w.number, number.size());
  std::string line = std::string(number_width - number.size(), ' ');
  line.append(number).append("  ");
  line.append(std::string(9 - std::min<std::size_t>(9, size.size()), ' ')).append(size);
  line.append("  ").append(fit(uid, w.uid));
  if (m_problems) {
    line.append("  ").append(fit(problems, w.problems));
  }
  if (m_headers) {
    const std::size_t problems_used = m_problems ? w.problems + 2 : 0;
    std::size_t used = number_width + 2 + 9 + 2 + w.uid + problems_used + 2 + 16 + 2;
    std::size_t rest = m_style.width > used + 30 ? m_style.width - used : 30;
    // The From column takes what its longest value needs, up to half of the room (the
    // subject keeps the rest), never less than the old min(28, a third).
    std::size_t from_width =
        std::min(w.from, std::max(rest / 2, std::min<std::size_t>(28, rest / 3)));
    line.append("  ").append(fit(date, 16)).append("  ").append(fit(from, from_width));
    line.append("  ").append(fit(subject, rest - from_width - 2));
    while (!line.empty() && line.back() == ' ') {
      line.pop_back();
    }
  }
  m_out << line << '\n';
}

void render_plain(const ListResult& result, std::ostream& out, const PlainStyle& style)
{
  ListWriter writer(out, ListWriter::Kind::plain, style, result.headers, result.problems);
  for (const auto& m : result.messages) {
    writer.add(m);
  }
  writer.finish();
}

nlohmann::json to_json(const StatResult& result)
{
  return {{"messages", result.messages}, {"octets", result.octets}};
}

nlohmann::json to_json(const ListResult& result)
{
  auto messages = nlohmann::json::array();
  for (const auto& m : result.messages) {
    messages.push_back(row_json(m, result.headers, result.problems));
  }
  return {{"messages", std::move(messages)},
          {"count", result.messages.size()},
          {"octets", mailbox::total_octets(result.messages)}};
}

void render_plain(const FetchResult& result, std::ostream& out)
{
  for (const auto& m : result.skipped) {
    out << "skipped message " << m.number << " (UID " << (m.uid.empty() ? "-" : clean(m.uid))
        << ", " << human_size(m.octets) << "): " << clean(m.reason) << "\n";
  }
  for (const auto& m : result.failed) {
    out << "failed message " << m.number << " (UID " << (m.uid.empty() ? "-" : clean(m.uid))
        << "): " << clean(m.reason) << "\n";
  }
  out << fetch_summary(result) << "\n";
}

std::string fetch_summary(const FetchResult& result)
{
  std::ostringstream out;
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "%.2f", result.seconds);
  out << "stored " << result.count << (result.count == 1 ? " message" : " messages") << " ("
      << human_size(result.octets) << ") in " << seconds << " s";
  if (!result.skipped.empty()) {
    out << ", skipped " << result.skipped.size();
  }
  if (!result.failed.empty()) {
    out << ", failed " << result.failed.size();
  }
  if (result.deleted > 0) {
    out << ", deleted " << result.deleted << " on the server";
  }
  return out.str();
}

nlohmann::json to_json(const FetchResult& result)
{
  auto rows = [](const std::vector<FetchedMessage>& messages, bool stored) {
    auto array = nlohmann::json::array();
    for (const auto& m : messages) {
      nlohmann::json row = {{"number", m.number}, {"octets", m.octets}};
      row["uid"] = m.uid.empty() ? nlohmann::json(nullptr) : nlohmann::json(m.uid);
      if (stored) {
        row["path"] = m.path;
      } else {
        row["reason"] = m.reason;
      }
      array.push_back(std::move(row));
    }
    return array;
  };
  return {{"output", result.output},
          {"stored", rows(result.stored, true)},
          {"skipped", rows(result.skipped, false)},
          {"failed", rows(result.failed, false)},
          {"count", result.count},
          {"octets", result.octets},
          {"deleted", result.deleted},
          {"seconds", result.seconds}};
}

void render_plain(const SendResult& result, std::ostream& out)
{
  for (const auto& r : result.recipients) {
    // A 4xx refusal is temporary: that recipient may be tried again later.
    bool deferred = !r.accepted && r.reply.code >= 400 && r.reply.code < 500;
    out << (r.accepted ? "accepted "
            : deferred ? "deferred "
                       : "rejected ")
        << r.address << " " << r.reply.code;
    if (!r.reply.enhanced.empty()) {
      out << " " << r.reply.enhanced;
    }
    out << " " << clean(r.reply.text) << "\n";
  }
  if (result.data) {
    out << (result.data->code < 400 ? "sent " : "refused ") << result.data->code;
    if (!result.data->enhanced.empty()) {
      out << " " << result.data->enhanced;
    }
    out << " " << clean(result.data->text) << "\n";
  }
  if (result.queue_id) {
    out << "queued as " << clean(*result.queue_id) << "\n";
  }
  out << "message id " << result.message_id << "\n";
  if (result.await) {
    char seconds[32];
    std::snprintf(seconds, sizeof seconds, "%.2f", result.await->seconds);
    out << "arrived in " << result.await->account << " after " << seconds << " s (message "
        << result.await->number << ", UID "
        << (result.await->uid.empty() ? "-" : clean(result.await->uid)) << ")"
        << (result.await->purged ? "; deleted" : "") << "\n";
  }
}

void render_plain(const SendPreview& preview, std::ostream& out)
{
  // For reading: the wire form's CRLF shown as the terminal's LF.
  const auto& message = preview.message;
  std::string shown;
  shown.reserve(message.size());
  for (std::size_t i = 0; i < message.size(); ++i) {
    if (message[i] == '\r' && i + 1 < message.size() && message[i + 1] == '\n') {
      continue;
    }
    shown += message[i];
  }
  out << shown;
}

nlohmann::json to_json(const SendPreview& preview)
{
  return {{"dry_run", true},
          {"message_id", preview.message_id},
          {"from", preview.from},
          {"recipients", preview.recipients},
          {"message", preview.message}};
}

nlohmann::json to_json(const SmtpOutcome& o)
{
  nlohmann::json j = {{"code", o.code}, {"text", o.text}};
  j["enhanced"] = o.enhanced.empty() ? nlohmann::json(nullptr) : nlohmann::json(o.enhanced);
  return j;
}

nlohmann::json to_json(const std::vector<RecipientOutcome>& recipients)
{
  auto list = nlohmann::json::array();
  for (const auto& r : recipients) {
    auto j = to_json(r.reply);
    j["address"] = r.address;
    j["accepted"] = r.accepted;
    list.push_back(std::move(j));
  }
  return list;
}

std::size_t accepted_count(const std::vector<RecipientOutcome>& recipients)
{
  return static_cast<std::size_t>(std::count_if(recipients.begin(), recipients.end(),
                                                [](const auto& r) { return r.accepted; }));
}

nlohmann::json to_json(const SendResult& result)
{
  const std::size_t accepted = accepted_count(result.recipients);
  nlohmann::json doc = {{"message_id", result.message_id},
                        {"from", result.from},
                        {"recipients", to_json(result.recipients)},
                        {"accepted", accepted},
                        {"rejected", result.recipients.size() - accepted},
                        {"dry_run", result.dry_run}};
  doc["data"] = result.data ? to_json(*result.data) : nlohmann::json(nullptr);
  doc["queue_id"] = result.queue_id ? nlohmann::json(*result.queue_id) : nlohmann::json(nullptr);
  if (result.await) {
    const auto& a = *result.await;
    doc["await"] = {{"account", a.account},
                    {"seconds", a.seconds},
                    {"number", a.number},
                    {"uid", a.uid.empty() ? nlohmann::json(nullptr) : nlohmann::json(a.uid)},
                    {"purged", a.purged}};
  }
  return doc;
}

nlohmann::json to_json(const std::vector<mailbox::Message>& purged, bool dry_run)
{
  const bool problems = std::any_of(purged.begin(), purged.end(),
                                    [](const mailbox::Message& m) { return !m.problems.empty(); });
  auto rows = to_json(ListResult{purged, true, problems});
  return {{"dry_run", dry_run},
          {dry_run ? "would_delete" : "deleted", std::move(rows["messages"])},
          {"count", rows["count"]},
          {"octets", rows["octets"]}};
}

nlohmann::json to_json(const TopResult& result)
{
  nlohmann::json doc = {{"number", result.number}, {"lines", result.lines}};
  doc["uid"] = result.uid.empty() ? nlohmann::json(nullptr) : nlohmann::json(result.uid);
  doc["content"] = result.content;
  return doc;
}

nlohmann::json to_json(const std::vector<TopResult>& results)
{
  nlohmann::json messages = nlohmann::json::array();
  for (const auto& r : results) {
    messages.push_back(to_json(r));
  }
  return {{"messages", std::move(messages)}};
}

nlohmann::json error_json(ExitCode code, const std::string& message)
{
  return {{"error",
           {{"kind", std::string(exit_code_kind(code))},
            {"message", message},
            {"exit_code", static_cast<int>(code)}}}};
}

std::string json_text(const nlohmann::json& document, int indent)
{
  // Invalid UTF-8 becomes U+FFFD and dump() escapes the C0 controls; C1 and bidirectional
  // controls, which dump() leaves as UTF-8, are escaped here as \uXXXX too (they can only be
  // inside strings, where the escape means the same character), so that the document is safe
  // on a terminal and its strings are unchanged.
  const std::string dumped =
      document.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
  std::string safe;
  safe.reserve(dumped.size());
  std::size_t i = 0;
  while (i < dumped.size()) {
    const auto lead = static_cast<unsigned char>(dumped[i]);
    // dump() wrote valid UTF-8: the lead octet gives the length.
    const std::size_t length = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
    std::uint32_t cp = length == 1 ? lead : lead & (0x7Fu >> length);
    for (std::size_t k = 1; k < length && i + k < dumped.size(); ++k) {
      cp = (cp << 6) | (static_cast<unsigned char>(dumped[i + k]) & 0x3Fu);
    }
    if (text::is_hidden_control(cp)) {
      char escape[8];
      std::snprintf(escape, sizeof escape, "\\u%04x", static_cast<unsigned>(cp));
      safe += escape;
    } else {
      safe.append(dumped, i, length);
    }
    i += length;
  }
  return safe;
}

void write_json(const nlohmann::json& document, std::ostream& out, int indent)
{
  out << json_text(document, indent) << '\n';
}

}  // namespace mw::output
