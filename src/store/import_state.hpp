// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "store/state.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

// Moving from another POP3 client without downloading everything again: the record mpop,
// fetchmail or getmail keeps of the UIDs (RFC 1939 section 7, UIDL) it has retrieved, read into
// the UID state of `fetch --new` (`fetch --import-state TOOL:FILE`).
namespace mw::store {

// The client whose record is read.
enum class ForeignTool { mpop, fetchmail, getmail };

// "mpop", "fetchmail" or "getmail".
std::string_view tool_name(ForeignTool tool);

// What `--import-state TOOL:FILE` names.
struct ImportSource {
  ForeignTool tool = ForeignTool::mpop;
  std::string path;
};

// Parses "mpop:FILE", "fetchmail:FILE" or "getmail:FILE"; anything else is a UsageError.
ImportSource parse_import_source(std::string_view text);

// The maildrop of this run, as the other tools name it: the host as written (-H), not resolved.
struct ForeignMailbox {
  std::string user;
  std::string host;
  std::uint16_t port = 0;
};

// The UIDs a record holds for one maildrop, sorted and without repeats: views into the file's
// text, which it keeps (8 octets a UID besides the text).
class ForeignUids {
public:
  ForeignUids() = default;
  explicit ForeignUids(std::string text) : m_text(std::move(text)) {}

  // How many distinct UIDs.
  std::size_t size() const { return m_spans.size(); }
  // The i-th UID in byte order.
  std::string_view operator[](std::size_t i) const
  {
    return std::string_view(m_text).substr(m_spans[i].at, m_spans[i].size);
  }

  // The file's text, which the parsers read.
  const std::string& text() const { return m_text; }
  // For the parsers: the UID at text[at, at + size); finish() then sorts and drops repeats.
  void add(std::size_t at, std::size_t size);
  void finish();

private:
  struct Span {
    std::uint32_t at;
    std::uint32_t size;
  };
  std::string m_text;
  std::vector<Span> m_spans;
};

// mpop's uidls file ("# ..." comments before the first list, as mpop reads them: a UID may begin
// with "#"; " N HOST USER" starts a list of N UIDs, one a line): the
// UIDs of the lists whose HOST (any case) and USER are this maildrop's (mpop records no port).
// A file with lists of other maildrops only is mw::Error 78 naming them; a malformed one (a UID
// without a list, a list with fewer UIDs than it says, a line that is not a UID) is
// mw::Error 65 naming `path` and the line.
ForeignUids parse_mpop_uidls(std::string text, const std::string& path,
                             const ForeignMailbox& mailbox);

// fetchmail's .fetchids ("USER@HOST UID" a line, every account of the fetchmailrc in one file):
// the UIDs of the lines whose USER and HOST (any case, as fetchmail compares them) are this
// maildrop's. Errors as for parse_mpop_uidls().
ForeignUids parse_fetchids(std::string text, const std::string& path,
                           const ForeignMailbox& mailbox);

// getmail's oldmail file ("UID\0SECONDS" a line), whose name is the only record of its maildrop:
// "oldmail-HOST-PORT-USER" with each run of / \ : ; < > | made one "-" (as getmail names it). A
// file of another name is mw::Error 78 saying which name was expected; a malformed line
// mw::Error 65.
ForeignUids parse_getmail_oldmail(std::string text, const std::string& path,
                                  const ForeignMailbox& mailbox);

// Reads `source.path` (at most 1 GiB; missing or unreadable: mw::Error 66) and parses it as its
// tool writes it.
ForeignUids read_foreign_uids(const ImportSource& source, const ForeignMailbox& mailbox);

// What an import did: UIDs newly recorded, and UIDs the state recorded already.
struct ImportCount {
  std::size_t taken = 0;
  std::size_t already = 0;
};

// Records `uids` in `state` (in memory: UidState::save() writes them); importing twice takes
// nothing the second time.
ImportCount import_uids(UidState& state, const ForeignUids& uids);

}  // namespace mw::store
