// SPDX-License-Identifier: Apache-2.0
// Fuzzes the readers of the other POP3 clients' records of retrieved UIDs (`fetch
// --import-state`): the input as mpop's uidls file, fetchmail's .fetchids and getmail's oldmail
// file, for three maildrops; its first line also as the TOOL:FILE of --import-state.

#include "store/import_state.hpp"

#include "fuzz_support.hpp"
#include "store/state.hpp"
#include "util/error.hpp"

#include <string>
#include <string_view>
#include <vector>

using mw::fuzz::check;
namespace store = mw::store;

namespace {

// What a parser made of a file: its UIDs, or the code and message of its refusal.
struct Outcome {
  bool ok = false;
  std::vector<std::string> uids;
  mw::ExitCode code = mw::ExitCode::ok;
  std::string message;

  bool operator==(const Outcome&) const = default;
};

// The maildrops the input is read for: plain; a user with a space and an "@" (fetchmail's
// users may have both); a user and host that getmail's file name rewrites.
const std::vector<store::ForeignMailbox> k_mailboxes = {
    {"alice", "pop.example.org", 995},
    {"John Doe@corp", "mail.corp", 110},
    {"a:b", "POP.example.org", 110},
};

// getmail's name of a maildrop's oldmail file (import_state.hpp), written independently.
std::string getmail_name(const store::ForeignMailbox& m)
{
  const auto safe = [](std::string_view text) {
    std::string out;
    bool after_special = false;
    for (const char c : text) {
      const bool special = std::string_view("/\\:;<>|").find(c) != std::string_view::npos;
      if (!special) {
        out += c;
      } else if (!after_special) {
        out += '-';
      }
      after_special = special;
    }
    return out;
  };
  std::string host = safe(m.host);
  for (char& c : host) {
    c = c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
  }
  return "oldmail-" + host + "-" + std::to_string(m.port) + "-" + safe(m.user);
}

// Runs `parse`; the only exception it may throw is an mw::Error.
template <typename F> Outcome run(std::string_view text, F&& parse)
{
  Outcome out;
  try {
    const store::ForeignUids uids = parse(std::string(text));
    out.ok = true;
    const std::string& kept = uids.text();
    std::size_t octets = 0;
    for (std::size_t i = 0; i < uids.size(); ++i) {
      const std::string_view uid = uids[i];
      check(store::valid_uid(uid), "an imported UID is not a valid UID", uid);
      check(uid.data() >= kept.data() && uid.data() + uid.size() <= kept.data() + kept.size(),
            "an imported UID is not in the file's text", uid);
      check(i == 0 || uids[i - 1] < uid, "imported UIDs not sorted without repeats", uid);
      octets += uid.size() + 1;
      out.uids.emplace_back(uid);
    }
    check(kept == text, "the parser changed the file's text");
    check(octets <= text.size() + 1, "more UID octets than the file has");
  } catch (const mw::Error& e) {
    out.code = e.code();
    out.message = e.what();
  } catch (const std::exception& e) {
    mw::fuzz::violated("an exception other than mw::Error", e.what());
  }
  return out;
}

// A refusal is the documented one: a malformed file is 65 "PATH:LINE: ...", a record of other
// maildrops (or a getmail file of another name) 78 naming the file; neither imports anything.
void check_refusal(const Outcome& o, const std::string& path, bool name_refused)
{
  if (o.ok) {
    check(!name_refused, "a getmail file of another maildrop's name was read");
    return;
  }
  check(o.message.find("nothing was imported") != std::string::npos,
        "a refusal does not say that nothing was imported", o.message);
  for (const char c : o.message) {
    check(static_cast<unsigned char>(c) >= 0x20 && c != 0x7f,
          "a refusal shows a control character of the file", o.message);
  }
  if (name_refused) {
    check(o.code == mw::ExitCode::config, "a getmail file of another name is not refused with 78",
          o.message);
    return;
  }
  check(o.code == mw::ExitCode::data || o.code == mw::ExitCode::config,
        "a record refused with another code than 65 or 78", o.message);
  if (o.code == mw::ExitCode::data) {
    const std::string prefix = path + ":";
    check(o.message.starts_with(prefix), "a malformed record's message does not name the file",
          o.message);
    const std::size_t digits = o.message.find_first_not_of("0123456789", prefix.size());
    check(digits > prefix.size() && digits != std::string::npos && o.message[digits] == ':',
          "a malformed record's message does not name the line", o.message);
  } else {
    check(o.message.starts_with(path + " is "), "a refused record's message does not name it",
          o.message);
  }
}

Outcome mpop(std::string_view text, const store::ForeignMailbox& m)
{
  return run(text, [&](std::string t) { return store::parse_mpop_uidls(std::move(t), "u", m); });
}

Outcome fetchids(std::string_view text, const store::ForeignMailbox& m)
{
  return run(text, [&](std::string t) { return store::parse_fetchids(std::move(t), "f", m); });
}

Outcome getmail(std::string_view text, const std::string& path, const store::ForeignMailbox& m)
{
  return run(text,
             [&](std::string t) { return store::parse_getmail_oldmail(std::move(t), path, m); });
}

// The UIDs written back as each tool writes its record read back as the same UIDs.
void check_written_back(const std::vector<std::string>& uids, const store::ForeignMailbox& m)
{
  if (uids.empty()) {
    return;
  }
  // mpop: " N HOST USER", then the UIDs (its user names hold no space).
  if (m.user.find(' ') == std::string::npos) {
    std::string text = "# written by fuzz_import_state\n";
    text += " " + std::to_string(uids.size()) + " " + m.host + " " + m.user + "\n";
    for (const auto& uid : uids) {
      text += uid + "\n";
    }
    const Outcome again = mpop(text, m);
    check(again.ok && again.uids == uids, "UIDs written as mpop's uidls file do not read back",
          text + " | " + again.message);
  }
  std::string fetchmail;
  std::string oldmail;
  for (const auto& uid : uids) {
    fetchmail += m.user + "@" + m.host + " " + uid + "\n";
    oldmail += uid + '\0' + "1796305563\n";
  }
  const Outcome f = fetchids(fetchmail, m);
  check(f.ok && f.uids == uids, "UIDs written as fetchmail's .fetchids do not read back",
        fetchmail + " | " + f.message);
  const Outcome g = getmail(oldmail, getmail_name(m), m);
  check(g.ok && g.uids == uids, "UIDs written as getmail's oldmail file do not read back",
        oldmail + " | " + g.message);
}

// Importing the UIDs into an empty state takes each once; importing them again takes none.
void check_import(const std::vector<std::string>& uids, std::string_view text,
                  const store::ForeignMailbox& m)
{
  const std::string owner = store::mailbox_identity(m.user, m.host, m.port);
  auto state = store::UidState::load("/nonexistent/mailwrench-fuzz/state", owner);
  store::ForeignUids parsed = store::parse_getmail_oldmail(std::string(text), getmail_name(m), m);
  const auto first = store::import_uids(state, parsed);
  check(first.taken == uids.size() && first.already == 0, "an import did not take every UID");
  const auto second = store::import_uids(state, parsed);
  check(second.taken == 0 && second.already == uids.size(), "a second import took UIDs again");
  check(state.size() == uids.size(), "the state holds another number of UIDs");
}

void check_import_source(std::string_view line)
{
  try {
    const store::ImportSource source = store::parse_import_source(line);
    check(!source.path.empty(), "--import-state without a file was taken");
    const std::string again = std::string(store::tool_name(source.tool)) + ":" + source.path;
    check(again == line, "--import-state TOOL:FILE does not read back", line);
  } catch (const mw::UsageError&) {
  } catch (const std::exception& e) {
    mw::fuzz::violated("--import-state: an exception other than UsageError", e.what());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  const std::string_view text = mw::fuzz::view(data, size);
  std::string_view rest = text;
  check_import_source(mw::fuzz::take_line(rest));

  for (const auto& m : k_mailboxes) {
    const Outcome a = mpop(text, m);
    check(a == mpop(text, m), "mpop's uidls file read twice gave two answers");
    check_refusal(a, "u", false);
    const Outcome b = fetchids(text, m);
    check(b == fetchids(text, m), ".fetchids read twice gave two answers");
    check_refusal(b, "f", false);
    const std::string name = "/home/me/.getmail/" + getmail_name(m);
    const Outcome c = getmail(text, name, m);
    check(c == getmail(text, name, m), "an oldmail file read twice gave two answers");
    check_refusal(c, name, false);
    check_refusal(getmail(text, "/home/me/.getmail/oldmail-other.example-995-alice", m),
                  "/home/me/.getmail/oldmail-other.example-995-alice", true);

    // Another maildrop's list or line added changes nothing.
    const std::string sep = text.empty() || text.back() == '\n' ? "" : "\n";
    // (Not to a record without UIDs of this maildrop: one of others' only is refused.)
    if (a.ok && !a.uids.empty()) {
      const Outcome more = mpop(std::string(text) + sep + " 1 other.example zed\nz1\n", m);
      check(more == a, "another maildrop's mpop list changed what was read");
    }
    if (b.ok && !b.uids.empty()) {
      const Outcome more = fetchids(std::string(text) + sep + "zed@other.example z1\n", m);
      check(more == b, "another maildrop's .fetchids line changed what was read");
    }

    for (const Outcome* o : {&a, &b, &c}) {
      if (o->ok) {
        check_written_back(o->uids, m);
      }
    }
    if (c.ok) {
      check_import(c.uids, text, m);
    }
  }
  return 0;
}
