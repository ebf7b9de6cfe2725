#pragma once

#include "store/sink.hpp"

#include <string>

// The sink implementations behind open_sink(), one per file.
namespace mw::store::detail {

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

// rename(2) of `from` over `to` (atomic replacement); failures throw Error 73.
void rename_replace(const std::string& from, const std::string& to);

} // namespace mw::store::detail
