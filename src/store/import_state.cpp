// SPDX-License-Identifier: Apache-2.0
#include "store/import_state.hpp"

#include "store/file.hpp"
#include "util/error.hpp"
#include "util/text.hpp"

#include <algorithm>
#include <cerrno>
#include <fcntl.h>
#include <limits>
#include <set>
#include <sys/stat.h>
#include <unistd.h>

namespace mw::store {

namespace {

// A record of a million UIDs is some 20 MB; anything near this is not one.
constexpr std::size_t k_max_record = std::size_t{1} << 30;

[[noreturn]] void malformed(const std::string& path, std::size_t line, const std::string& why,
                            ForeignTool tool)
{
  throw Error(ExitCode::data, path + ":" + std::to_string(line) + ": " + why + " (not " +
                                  std::string(tool_name(tool)) +
                                  "'s record of retrieved UIDs? nothing was imported)");
}

char lower(char c)
{
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string lowered(std::string_view text)
{
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), lower);
  return out;
}

bool same_host(std::string_view a, std::string_view b)
{
  return a.size() == b.size() && lowered(a) == lowered(b);
}

std::string owner_of(const ForeignMailbox& mailbox)
{
  return mailbox.user + "@" + mailbox.host;
}

// The refusal of a record that holds other maildrops' UIDs only: importing them would skip
// messages of this one that were never fetched.
[[noreturn]] void not_ours(const std::string& path, ForeignTool tool,
                           const std::set<std::string>& owners, const ForeignMailbox& mailbox)
{
  std::string held;
  std::size_t shown = 0;
  for (const auto& owner : owners) {
    if (shown == 5) {
      held += ", ...";
      break;
    }
    // As the file has it, but safe for a terminal: a NUL or an ESC of the file shows as "\xHH".
    held += (shown++ == 0 ? "" : ", ") + text::visible(owner);
  }
  throw Error(ExitCode::config,
              path + " is " + std::string(tool_name(tool)) + "'s record of " + held + ", not of " +
                  owner_of(mailbox) +
                  " of this run: UIDs of one mailbox say nothing about another (give -u and -H as "
                  "the other tool had them; nothing was imported)");
}

// Calls `line(number, offset, text)` for each line of `text` (a last line without LF too).
template <typename F> void for_each_line(const std::string& text, F&& line)
{
  std::size_t number = 0;
  for (std::size_t start = 0; start < text.size();) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) {
      end = text.size();
    }
    line(++number, start, std::string_view(text).substr(start, end - start));
    start = end + 1;
  }
}

// getmail's file name of a maildrop's record: its characters / \ : ; < > | each run made "-".
std::string getmail_safe(std::string_view text)
{
  std::string out;
  bool in_run = false;
  for (char c : text) {
    if (std::string_view("/\\:;<>|").find(c) != std::string_view::npos) {
      if (!in_run) {
        out += '-';
      }
      in_run = true;
    } else {
      out += c;
      in_run = false;
    }
  }
  return out;
}

}  // namespace

std::string_view tool_name(ForeignTool tool)
{
  switch (tool) {
  case ForeignTool::mpop: return "mpop";
  case ForeignTool::fetchmail: return "fetchmail";
  case ForeignTool::getmail: return "getmail";
  }
  return "?";
}

ImportSource parse_import_source(std::string_view text)
{
  const auto colon = text.find(':');
  const auto tool = text.substr(0, colon == std::string_view::npos ? 0 : colon);
  ImportSource source;
  if (tool == "mpop") {
    source.tool = ForeignTool::mpop;
  } else if (tool == "fetchmail") {
    source.tool = ForeignTool::fetchmail;
  } else if (tool == "getmail") {
    source.tool = ForeignTool::getmail;
  } else {
    throw UsageError("--import-state: expected mpop:FILE, fetchmail:FILE or getmail:FILE, not '" +
                     std::string(text) + "'");
  }
  source.path = std::string(text.substr(colon + 1));
  if (source.path.empty()) {
    throw UsageError("--import-state " + std::string(tool) + ": needs the file after the colon");
  }
  return source;
}

void ForeignUids::add(std::size_t at, std::size_t size)
{
  m_spans.push_back({static_cast<std::uint32_t>(at), static_cast<std::uint32_t>(size)});
}

void ForeignUids::finish()
{
  auto view = [this](const Span& s) { return std::string_view(m_text).substr(s.at, s.size); };
  std::sort(m_spans.begin(), m_spans.end(),
            [&view](const Span& a, const Span& b) { return view(a) < view(b); });
  m_spans.erase(std::unique(m_spans.begin(), m_spans.end(),
                            [&view](const Span& a, const Span& b) { return view(a) == view(b); }),
                m_spans.end());
  m_spans.shrink_to_fit();
}

ForeignUids parse_mpop_uidls(std::string text, const std::string& path,
                             const ForeignMailbox& mailbox)
{
  ForeignUids uids(std::move(text));
  std::set<std::string> owners;
  bool ours = false;
  bool found = false;
  std::size_t remaining = 0;
  std::size_t list_size = 0;
  std::string list_owner;
  const auto short_list = [&] {
    return ", though the list of " + text::visible(list_owner) + " has " +
           std::to_string(list_size - remaining) + " of the " + std::to_string(list_size) +
           " UIDs it says it has";
  };
  std::size_t last_line = 0;
  const auto tool = ForeignTool::mpop;
  const std::string& content = uids.text();
  // As mpop reads it: comments only before the first list (a UID may start with '#').
  bool header = true;
  for_each_line(content, [&](std::size_t number, std::size_t at, std::string_view line) {
    last_line = number;
    if (header && line.starts_with('#')) {
      return;
    }
    header = false;
    if (remaining == 0) {
      // " NUMBER HOST USER"
      const auto bad = [&] {
        malformed(path, number, "expected a list's first line, \" NUMBER HOST USER\"", tool);
      };
      if (!line.starts_with(' ')) {
        bad();
      }
      std::size_t i = 1;
      std::size_t n = 0;
      while (i < line.size() && line[i] >= '0' && line[i] <= '9' && n < 1'000'000'000) {
        n = n * 10 + static_cast<std::size_t>(line[i++] - '0');
      }
      if (n == 0 || i >= line.size() || line[i] != ' ') {
        bad();
      }
      const auto rest = line.substr(i + 1);
      const auto space = rest.find(' ');
      if (space == 0 || space == std::string_view::npos || space + 1 >= rest.size() ||
          rest.find(' ', space + 1) != std::string_view::npos) {
        bad();
      }
      const auto host = rest.substr(0, space);
      const auto user = rest.substr(space + 1);
      list_owner = std::string(user) + "@" + std::string(host);
      owners.insert(list_owner);
      ours = same_host(host, mailbox.host) && user == mailbox.user;
      found = found || ours;
      remaining = n;
      list_size = n;
      return;
    }
    if (line.starts_with(' ')) {
      malformed(path, number, "a new list" + short_list(), tool);
    }
    if (!valid_uid(line)) {
      malformed(path, number, "not a UID (printable characters without spaces)", tool);
    }
    if (ours) {
      uids.add(at, line.size());
    }
    --remaining;
  });
  if (remaining > 0) {
    malformed(path, last_line, "the file ends" + short_list(), tool);
  }
  if (!found && !owners.empty()) {
    not_ours(path, tool, owners, mailbox);
  }
  uids.finish();
  return uids;
}

ForeignUids parse_fetchids(std::string text, const std::string& path, const ForeignMailbox& mailbox)
{
  ForeignUids uids(std::move(text));
  std::set<std::string> owners;
  bool found = false;
  const auto tool = ForeignTool::fetchmail;
  for_each_line(uids.text(), [&](std::size_t number, std::size_t at, std::string_view line) {
    // As fetchmail reads it: the user may hold spaces and "@"s, the host begins after the last
    // "@" before the first space after the first "@".
    const auto lead = line.find_first_not_of(" \t");
    if (lead == std::string_view::npos) {
      return;
    }
    const auto first_at = line.find('@', lead);
    const auto space = first_at == std::string_view::npos ? first_at : line.find(' ', first_at);
    if (space == std::string_view::npos) {
      malformed(path, number, "expected \"USER@HOST UID\"", tool);
    }
    const auto owner = line.substr(lead, space - lead);
    const auto last_at = owner.rfind('@');
    const auto user = owner.substr(0, last_at);
    const auto host = owner.substr(last_at + 1);
    const auto id_at = line.find_first_not_of(' ', space);
    const auto uid = id_at == std::string_view::npos ? std::string_view() : line.substr(id_at);
    if (user.empty() || host.empty() || !valid_uid(uid)) {
      malformed(path, number, "expected \"USER@HOST UID\", a UID of printable characters", tool);
    }
    owners.insert(std::string(owner));
    if (same_host(host, mailbox.host) && same_host(user, mailbox.user)) {
      found = true;
      uids.add(at + id_at, uid.size());
    }
  });
  if (!found && !owners.empty()) {
    not_ours(path, tool, owners, mailbox);
  }
  uids.finish();
  return uids;
}

ForeignUids parse_getmail_oldmail(std::string text, const std::string& path,
                                  const ForeignMailbox& mailbox)
{
  const auto tool = ForeignTool::getmail;
  const auto slash = path.rfind('/');
  const std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  const std::string prefix =
      "oldmail-" + lowered(getmail_safe(mailbox.host)) + "-" + std::to_string(mailbox.port) + "-";
  const std::string user = getmail_safe(mailbox.user);
  if (name.size() != prefix.size() + user.size() ||
      lowered(name.substr(0, prefix.size())) != prefix || name.substr(prefix.size()) != user) {
    throw Error(ExitCode::config,
                path + " is not getmail's record of " + owner_of(mailbox) + ":" +
                    std::to_string(mailbox.port) + ", which getmail names " + prefix + user +
                    ": UIDs of one mailbox say nothing about another (give -u, -H and -p as "
                    "getmail had them; nothing was imported)");
  }
  ForeignUids uids(std::move(text));
  for_each_line(uids.text(), [&](std::size_t number, std::size_t at, std::string_view line) {
    if (line.empty()) {
      return;
    }
    const auto nul = line.find('\0');
    if (nul == std::string_view::npos) {
      malformed(path, number, "expected a UID, a NUL and the time it was retrieved", tool);
    }
    const auto uid = line.substr(0, nul);
    const auto time = line.substr(nul + 1);
    if (!valid_uid(uid) || time.empty() ||
        time.find_first_not_of("0123456789") != std::string_view::npos) {
      malformed(path, number, "expected a UID, a NUL and the time it was retrieved", tool);
    }
    uids.add(at, uid.size());
  });
  uids.finish();
  return uids;
}

ForeignUids read_foreign_uids(const ImportSource& source, const ForeignMailbox& mailbox)
{
  const auto& path = source.path;
  // O_NONBLOCK: a FIFO named by mistake is refused below instead of waiting for a writer.
  const file::Fd owner(file::open_retrying(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (owner.get() < 0) {
    file::fail("read", path, errno, ExitCode::no_input);
  }
  struct stat info {};
  if (::fstat(owner.get(), &info) != 0) {
    file::fail("read", path, errno, ExitCode::no_input);
  }
  if (!S_ISREG(info.st_mode)) {
    throw Error(ExitCode::no_input, "cannot read " + path + ": not a regular file");
  }
  if (static_cast<std::uint64_t>(info.st_size) > k_max_record) {
    throw Error(ExitCode::data, path + " is larger than 1 GiB: not " +
                                    std::string(tool_name(source.tool)) +
                                    "'s record of retrieved UIDs (nothing was imported)");
  }
  std::string text;
  text.reserve(static_cast<std::size_t>(info.st_size));
  char buffer[64 * 1024];
  for (;;) {
    const ssize_t got = ::read(owner.get(), buffer, sizeof buffer);
    if (got < 0) {
      if (errno == EINTR) {
        continue;
      }
      file::fail("read", path, errno, ExitCode::no_input);
    }
    if (got == 0) {
      break;
    }
    text.append(buffer, static_cast<std::size_t>(got));
    if (text.size() > k_max_record) {
      throw Error(ExitCode::data, path + " is larger than 1 GiB (nothing was imported)");
    }
  }
  switch (source.tool) {
  case ForeignTool::mpop: return parse_mpop_uidls(std::move(text), path, mailbox);
  case ForeignTool::fetchmail: return parse_fetchids(std::move(text), path, mailbox);
  case ForeignTool::getmail: return parse_getmail_oldmail(std::move(text), path, mailbox);
  }
  throw Error(ExitCode::software, "unknown --import-state tool");
}

ImportCount import_uids(UidState& state, const ForeignUids& uids)
{
  ImportCount count;
  for (std::size_t i = 0; i < uids.size(); ++i) {
    const auto before = state.size();
    state.add(std::string(uids[i]));
    if (state.size() > before) {
      ++count.taken;
    } else {
      ++count.already;
    }
  }
  return count;
}

}  // namespace mw::store
