// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "store/sink.hpp"

#include <string>
#include <vector>

// The sink implementations behind open_sink(), one per file.
namespace mw::store::detail {

// The messages a sink committed since its last sync, in commit order: where each one is, and
// the commit index (counted since the sink was opened) of the first.
class Unsynced {
public:
  void add(std::string where) { m_where.push_back(std::move(where)); }
  bool empty() const { return m_where.empty(); }

  // Reports each one to `visible` with its commit index, and starts over.
  void report(const Sink::Visible& visible)
  {
    for (std::size_t i = 0; i < m_where.size() && visible; ++i) {
      visible(m_first + i, m_where[i]);
    }
    m_first += m_where.size();
    m_where.clear();
  }

private:
  std::vector<std::string> m_where;
  std::size_t m_first = 0;
};

// A Maildir at `dir` (created with tmp/, new/ and cur/ when missing).
std::unique_ptr<Sink> open_maildir(const std::string& dir);

// How a Maildir sink writes a message before it is synced: an unnamed file in tmp/ where the
// file system allows it (automatic), or always a named tmp/ file (what other file systems
// get; tests use this to cover both ways on one file system). Affects sinks opened after.
enum class MaildirTmp { automatic, named };
void set_maildir_tmp(MaildirTmp how);

// An mboxrd file at `path`, locked for the Sink's lifetime.
std::unique_ptr<Sink> open_mbox(const std::string& path, LineEnding ending);

// A directory of `.eml` files named after the UIDs.
std::unique_ptr<Sink> open_dir(const std::string& dir);

// Moves `from` to `to` unless `to` exists (then returns false); other failures throw Error 73.
bool rename_no_replace(const std::string& from, const std::string& to);

}  // namespace mw::store::detail
