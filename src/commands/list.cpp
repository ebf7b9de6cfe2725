#include "commands/context.hpp"
#include "commands/session.hpp"
#include "mail/date.hpp"
#include "mail/headers.hpp"
#include "output/render.hpp"
#include "util/error.hpp"

#include <spdlog/spdlog.h>

#include <unordered_map>

namespace mw::commands {

namespace {

// A header section larger than this is cut: From, Subject and Date come first in practice,
// and a hostile server must not make us buffer without bound.
constexpr std::size_t k_max_header_octets = 1024 * 1024;

bool in_ranges(const std::vector<select::Range>& ranges, std::uint64_t number)
{
  if (ranges.empty()) {
    return true;
  }
  for (const auto& r : ranges) {
    if (number >= r.first && number <= r.last) {
      return true;
    }
  }
  return false;
}

// Collects the header section of each TOP n 0 reply of a pipelined batch.
class HeaderSink : public pop3::ReplySink {
public:
  explicit HeaderSink(std::size_t count) : m_blocks(count), m_ok(count, false) {}

  void on_status(std::size_t index, const pop3::Status& status) override
  {
    m_ok[index] = status.ok();
  }
  void on_data(std::size_t index, std::string_view data) override
  {
    auto& block = m_blocks[index];
    if (block.size() < k_max_header_octets) {
      block.append(data.substr(0, k_max_header_octets - block.size()));
    }
  }
  void on_end(std::size_t) override {}

  bool ok(std::size_t index) const { return m_ok[index]; }
  const std::string& block(std::size_t index) const { return m_blocks[index]; }

private:
  std::vector<std::string> m_blocks;
  std::vector<bool> m_ok;
};

}  // namespace

// The telnet session it replaces: USER/PASS, LIST, UIDL, (TOP n 0 for each), QUIT.
int list(const Context& context)
{
  const auto& s = context.settings;
  const auto& selection = s.selection;
  auto session = Pop3Session::open(context);
  auto& client = session.client();

  auto listings = client.list();
  auto uids = client.uidl();
  if (!uids && selection.needs_uids()) {
    session.quit_quietly();
    throw Error(ExitCode::unavailable,
                "the server does not support UIDL, so messages cannot be selected by UID");
  }
  std::unordered_map<std::uint64_t, std::string> uid_of;
  if (uids) {
    for (auto& u : *uids) {
      uid_of[u.number] = std::move(u.uid);
    }
  }

  output::ListResult result;
  result.headers = s.headers || selection.needs_headers();
  std::vector<output::MessageRow> candidates;
  for (const auto& l : listings) {
    if (in_ranges(selection.ranges(), l.number)) {
      output::MessageRow row;
      row.number = l.number;
      row.octets = l.octets;
      if (auto it = uid_of.find(l.number); it != uid_of.end()) {
        row.uid = it->second;
      }
      candidates.push_back(std::move(row));
    }
  }

  std::vector<mail::Headers> headers(result.headers ? candidates.size() : 0);
  if (result.headers && !candidates.empty()) {
    if (client.capabilities().known && !client.capabilities().top) {
      session.quit_quietly();
      throw Error(ExitCode::unavailable, "the server does not support TOP, which --headers and "
                                         "the From/Subject/Date filters need");
    }
    std::vector<std::string> commands;
    commands.reserve(candidates.size());
    for (const auto& row : candidates) {
      commands.push_back(pop3::command("TOP", row.number, 0));
    }
    HeaderSink sink(candidates.size());
    client.pipeline(commands, pop3::ReplyShape::multi_line, pop3::LineEnding::lf, sink);
    for (std::size_t i = 0; i < candidates.size(); ++i) {
      if (!sink.ok(i)) {
        // The message may have gone (another session); show it without headers.
        context.log->warn("cannot read the headers of message {}", candidates[i].number);
        continue;
      }
      headers[i] = mail::Headers::parse(sink.block(i));
      auto& row = candidates[i];
      row.has_headers = true;
      row.from = headers[i].decoded("From");
      row.subject = headers[i].decoded("Subject");
      if (auto date = headers[i].get("Date")) {
        row.date = mail::parse_date(*date);
      }
    }
  }
  session.quit_quietly();

  auto now = std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    select::MessageInfo info;
    info.number = candidates[i].number;
    info.octets = candidates[i].octets;
    info.uid = candidates[i].uid;
    info.headers = result.headers ? &headers[i] : nullptr;
    if (result.headers && !candidates[i].has_headers && selection.needs_headers()) {
      continue;
    }
    if (selection.matches(info, now)) {
      result.messages.push_back(std::move(candidates[i]));
    }
  }

  if (s.json) {
    output::write_json(output::to_json(result), context.out);
  } else {
    output::render_plain(result, context.out, {context.out_is_terminal, context.terminal_width});
  }
  return 0;
}

}  // namespace mw::commands
