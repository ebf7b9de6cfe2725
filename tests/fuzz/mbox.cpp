// SPDX-License-Identifier: Apache-2.0
// Fuzzes the mboxrd quoting and the delivery sinks with the input as a fetched message:
// - mboxrd::Quoter, fed in chunkings derived from the input, quotes exactly the lines that
//   needs_quoting() names, and unquoting gives back the input;
// - an mbox written through open_sink() (both line endings, the message twice in one file)
//   reads back, with a small mboxrd reader, as the message itself;
// - Maildir and .eml-directory deliveries hold exactly the bytes given, the latter under a
//   name made from the first line as UID, inside the directory.

#include "fuzz_support.hpp"
#include "mailbox/message.hpp"
#include "store/mboxrd.hpp"
#include "store/names.hpp"
#include "store/sink.hpp"
#include "util/error.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <string_view>
#include <unistd.h>
#include <vector>

using mw::fuzz::check;
namespace fs = std::filesystem;
namespace store = mw::store;
namespace mboxrd = mw::store::mboxrd;

namespace {

// A scratch directory for this process, on tmpfs when there is one (the sinks fsync);
// removed when the process exits.
class Scratch {
public:
  Scratch()
  {
    std::string base = "/tmp";
    if (const char* tmp = std::getenv("TMPDIR"); tmp != nullptr && *tmp != '\0') {
      base = tmp;
    } else if (::access("/dev/shm", W_OK) == 0) {
      base = "/dev/shm";
    }
    m_path = base + "/mailwrench-fuzz-store-XXXXXX";
    if (::mkdtemp(m_path.data()) == nullptr) {
      std::perror("mkdtemp");
      std::abort();
    }
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  ~Scratch()
  {
    std::error_code ignored;
    fs::remove_all(m_path, ignored);
  }
  const std::string& path() const { return m_path; }

private:
  std::string m_path;
};

const std::string& scratch()
{
  static const Scratch dir;
  return dir.path();
}

std::string read_file(const std::string& path)
{
  std::ifstream in(path, std::ios::binary);
  check(static_cast<bool>(in), "cannot read back a file a sink wrote", path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Lines split after each LF (the last one may lack it).
std::vector<std::string_view> split_lines(std::string_view text)
{
  std::vector<std::string_view> out;
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    const std::size_t n = nl == std::string_view::npos ? text.size() : nl + 1;
    out.push_back(text.substr(0, n));
    text.remove_prefix(n);
  }
  return out;
}

// Removes one '>' from a line matching `^>+From `: the mboxrd reader's rule.
std::string unquote(std::string_view text)
{
  std::string out;
  for (const auto line : split_lines(text)) {
    const std::size_t gts = line.find_first_not_of('>');
    if (gts != 0 && gts != std::string_view::npos && line.substr(gts).starts_with("From ")) {
      out.append(line.substr(1));
    } else {
      out.append(line);
    }
  }
  return out;
}

void quoter(std::string_view message)
{
  const auto ways = mw::fuzz::chunkings(message);
  std::string first;
  for (std::size_t w = 0; w < ways.size(); ++w) {
    mboxrd::Quoter q;
    std::string out;
    for (const auto piece : ways[w]) {
      q.put(piece, out);
    }
    q.finish(out);
    if (w == 0) {
      first = out;
    } else {
      check(out == first, "Quoter: chunked input quoted differently");
    }
  }
  // Line by line, the quoted form is the line with one more '>' exactly when it needs it.
  const auto in_lines = split_lines(message);
  const auto out_lines = split_lines(first);
  check(in_lines.size() == out_lines.size(), "Quoter: the line count changed");
  for (std::size_t i = 0; i < in_lines.size(); ++i) {
    std::string_view line = in_lines[i];
    std::string_view bare = line;
    if (bare.ends_with('\n')) {
      bare.remove_suffix(1);
    }
    if (mboxrd::needs_quoting(bare)) {
      check(out_lines[i] == ">" + std::string(line), "Quoter: a From line not quoted");
    } else {
      check(out_lines[i] == line, "Quoter: a line changed that needs no quoting");
    }
    check(!out_lines[i].starts_with("From "), "Quoter: an unquoted From line in the output");
  }
  check(unquote(first) == message, "Quoter: unquoting does not give back the message");
}

// The message as the mbox holds it: with a line ending after the last line.
std::string completed(std::string_view message, store::LineEnding ending)
{
  std::string out(message);
  if (message.empty() || message.ends_with('\n')) {
    return out;
  }
  if (message.ends_with('\r')) {
    return out + "\n";
  }
  return out + (ending == store::LineEnding::crlf ? "\r\n" : "\n");
}

// The messages of an mboxrd file: split at "From " lines, unquoted, the blank line after each
// removed.
std::vector<std::string> read_mbox(std::string_view content, store::LineEnding ending)
{
  const std::string_view eol = ending == store::LineEnding::crlf ? "\r\n" : "\n";
  std::vector<std::string> messages;
  for (const auto line : split_lines(content)) {
    if (line.starts_with("From ")) {
      // "From SENDER DATE": one sender without blanks, then an asctime date.
      std::string_view rest = line.substr(5);
      check(rest.ends_with(eol), "mbox: the From line has another line ending");
      const std::size_t blank = rest.find(' ');
      check(blank != 0 && blank != std::string_view::npos, "mbox: a From line without sender");
      check(rest.size() - eol.size() - blank - 1 == 24, "mbox: the From line's date is odd",
            std::string(line));
      messages.emplace_back();
      continue;
    }
    check(!messages.empty(), "mbox: text before the first From line");
    messages.back() += unquote(line);
  }
  for (auto& m : messages) {
    check(m.ends_with(eol), "mbox: a message without the blank line after it");
    m.resize(m.size() - eol.size());
  }
  return messages;
}

void deliver(store::Sink& sink, const mw::mailbox::Message& meta,
             const std::vector<std::string_view>& pieces, std::string& where)
{
  auto delivery = sink.begin(meta);
  for (const auto piece : pieces) {
    delivery->write(piece);
  }
  where = delivery->commit();
  sink.sync();
}

void mbox(std::string_view message)
{
  const auto ways = mw::fuzz::chunkings(message);
  for (const auto ending : {store::LineEnding::lf, store::LineEnding::crlf}) {
    const std::string path = scratch() + "/mbox";
    {
      std::ostringstream unused;
      auto sink = store::open_sink({store::OutputSpec::Kind::mbox, path}, ending, unused);
      std::string where;
      deliver(*sink, {.number = 1, .octets = message.size()}, ways.front(), where);
      check(where == path, "mbox: commit names another file", where);
      deliver(*sink, {.number = 2, .octets = message.size()}, ways.back(), where);
    }
    const auto messages = read_mbox(read_file(path), ending);
    check(messages.size() == 2, "mbox: not two messages read back");
    const std::string want = completed(message, ending);
    check(messages[0] == want && messages[1] == want, "mbox: a message reads back changed");
    fs::remove(path);
  }
}

void maildir(std::string_view message)
{
  const std::string dir = scratch() + "/maildir";
  std::ostringstream unused;
  auto sink =
      store::open_sink({store::OutputSpec::Kind::maildir, dir}, store::LineEnding::lf, unused);
  std::string where;
  deliver(*sink, {.number = 1}, mw::fuzz::chunks(message, 5, 100), where);
  check(fs::path(where).parent_path() == fs::path(dir) / "new", "Maildir: not in new/", where);
  check(where.ends_with(",S=" + std::to_string(message.size())), "Maildir: a wrong S= size", where);
  check(read_file(where) == message, "Maildir: the file holds other bytes");
  fs::remove(where);
  check(fs::is_empty(dir + "/tmp"), "Maildir: something left in tmp/");
}

void eml_dir(std::string_view message)
{
  std::string_view rest = message;
  const std::string uid(mw::fuzz::take_line(rest));
  const std::string name = store::safe_file_name(uid);
  check(!name.empty() || uid.empty(), "safe_file_name: empty for a UID");
  check(name.size() <= 255, "safe_file_name: longer than a file name may be", name);
  check(!name.starts_with("."), "safe_file_name: a hidden file", name);
  for (const char c : name) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-' || c == '%' || c == '@' || c == '+';
    check(ok, "safe_file_name: a character outside [A-Za-z0-9._%@+-]", name);
  }

  const std::string dir = scratch() + "/eml";
  std::ostringstream unused;
  auto sink = store::open_sink({store::OutputSpec::Kind::dir, dir}, store::LineEnding::lf, unused);
  std::string where;
  deliver(*sink, {.number = 7, .octets = message.size(), .uid = uid},
          mw::fuzz::chunks(message, 6, 64), where);
  check(fs::path(where).parent_path() == fs::path(dir), "dir: a file outside the directory", where);
  check(read_file(where) == message, "dir: the file holds other bytes");
  fs::remove(where);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  const std::string_view message = mw::fuzz::view(data, size);
  quoter(message);
  const std::string sender = mboxrd::sender(message);
  check(!sender.empty(), "mboxrd::sender: empty");
  for (const char c : sender) {
    const auto u = static_cast<unsigned char>(c);
    check(u > 0x20 && u != 0x7f, "mboxrd::sender: a blank or control character", sender);
  }
  mbox(message);
  maildir(message);
  eml_dir(message);
  return 0;
}
