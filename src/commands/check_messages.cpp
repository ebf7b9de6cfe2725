// SPDX-License-Identifier: Apache-2.0
#include "commands/check_messages.hpp"

#include "util/text.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <iterator>
#include <memory>
#include <unordered_map>
#include <unordered_set>

namespace mw::commands {

namespace {

// Whether a failure ended the session (a dropped connection, a timeout, replies out of step)
// rather than the run: another session may serve the messages after the one it died in.
bool session_lost(ExitCode code)
{
  return code == ExitCode::io || code == ExitCode::temporary || code == ExitCode::protocol;
}

// Each RETR reply streams into a MessageChecker (never whole in memory); what the server does
// wrong (refuses, stops, sends another size than LIST) is a finding of that message too.
class Checker {
public:
  Checker(const std::vector<mailbox::Message>& plan, const mail::CheckLimits& limits,
          output::CheckResult& result, output::Progress& progress)
      : m_plan(plan), m_limits(limits), m_result(result), m_progress(progress)
  {
  }

  // Queues RETR for the planned messages from index `from` on.
  void start(pop3::Requests& requests, std::size_t from)
  {
    m_done = from;
    for (std::size_t i = from; i < m_plan.size(); ++i) {
      requests.retr(m_plan[i].number, pop3::LineEnding::crlf,
                    {[this, i](const pop3::Status& status) { on_status(i, status); },
                     [this, i](std::string_view data) { on_data(i, data); },
                     [this, i] { on_end(i); }});
    }
  }

  // Messages whose reply is complete (the next one is where a lost session died).
  std::size_t done() const { return m_done; }

  // The session ended inside message done(): what arrived of it is reported, not checked.
  void lost(const Error& e)
  {
    const auto& row = m_plan[m_done];
    const bool started = m_checker && m_current == m_done;
    const std::uint64_t got = started ? m_checker->octets() : 0;
    std::string code = e.code() == ExitCode::temporary ? "retr-timeout" : "connection-lost";
    std::string detail;
    if (started && e.code() == ExitCode::io && got >= row.octets) {
      code = "message-unterminated";
      detail = "the server sent " + std::to_string(got) + " octets (LIST said " +
               std::to_string(row.octets) + ") but not the end of the message, then: ";
    } else {
      detail = started ? "the session ended after " + std::to_string(got) + " of the " +
                             std::to_string(row.octets) + " octets LIST gave: "
                       : "the session ended before the server answered RETR: ";
    }
    detail += e.what();
    detail += "; this message ended the session";
    report(m_done, {{std::move(code), mail::Severity::error, std::move(detail),
                     "offset " + std::to_string(got)}});
    m_checker.reset();
    ++m_done;
  }

private:
  void on_status(std::size_t i, const pop3::Status& status)
  {
    if (!status.ok()) {
      report(i,
             {{"retr-refused", mail::Severity::error,
               "the server refused RETR " + std::to_string(m_plan[i].number) + ": " + status.text,
               "RETR"}});
      ++m_done;
      m_progress.message_done();
      return;
    }
    m_current = i;
    m_checker = std::make_unique<mail::MessageChecker>(m_limits);
  }

  // (A refused RETR has no data and still ends: it was reported at its status.)
  void on_data(std::size_t /*i*/, std::string_view data)
  {
    if (!m_checker) {
      return;
    }
    m_checker->feed(data);
    m_progress.add_octets(data.size());
  }

  void on_end(std::size_t i)
  {
    if (!m_checker) {
      return;
    }
    auto& checker = *m_checker;
    checker.finish();
    auto findings = checker.findings();
    // RFC 1939 section 5: LIST gives "the exact size of the message", which servers count with
    // CRLF line endings and without dot-stuffing: as received here (dot-unstuffed, CRLF kept).
    const auto& row = m_plan[i];
    if (checker.octets() != row.octets) {
      findings.insert(findings.begin(),
                      {"size-mismatch", mail::Severity::error,
                       "LIST said " + std::to_string(row.octets) + " octets and RETR sent " +
                           std::to_string(checker.octets()) +
                           " (clients that trust LIST stop short or wait)",
                       "RETR"});
    }
    m_from = checker.from();
    m_subject = checker.subject();
    report(i, std::move(findings));
    m_checker.reset();
    ++m_done;
    m_progress.message_done();
  }

  void report(std::size_t i, std::vector<mail::Finding> findings)
  {
    ++m_result.checked;
    const auto& row = m_plan[i];
    if (findings.empty()) {
      m_from.clear();
      m_subject.clear();
      return;
    }
    output::CheckedMessage message{row.number, row.uid,   row.octets,
                                   m_from,     m_subject, std::move(findings)};
    m_from.clear();
    m_subject.clear();
    if (message.has_errors()) {
      ++m_result.with_errors;
    } else {
      ++m_result.with_warnings;
    }
    m_result.messages.push_back(std::move(message));
  }

  const std::vector<mailbox::Message>& m_plan;
  const mail::CheckLimits& m_limits;
  output::CheckResult& m_result;
  output::Progress& m_progress;
  std::unique_ptr<mail::MessageChecker> m_checker;
  std::size_t m_current = 0;
  std::size_t m_done = 0;
  std::string m_from;
  std::string m_subject;
};

// After a session was lost: a new one, where the messages still to check are found again by
// UID (nothing was deleted, but another client may have been).
Pop3Session reopen(const cli::Context& context, const cli::Login& login,
                   std::vector<mailbox::Message>& plan, std::size_t from)
{
  auto session = Pop3Session::open(context, login);
  const bool by_uid = std::any_of(plan.begin() + static_cast<std::ptrdiff_t>(from), plan.end(),
                                  [](const mailbox::Message& m) { return !m.uid.empty(); });
  if (by_uid) {
    std::unordered_map<std::string, std::uint64_t> number_of;
    std::vector<std::string> uids;
    for (auto& id : session.client().uidl().value_or(std::vector<pop3::UniqueId>{})) {
      uids.push_back(id.uid);
      number_of.emplace(std::move(id.uid), id.number);
    }
    // A message gone meanwhile (another client deleted it), or whose UID the server gives to
    // several messages (none of them is surely it), is not looked for.
    const auto shared = shared_uids(uids);
    std::vector<mailbox::Message> left;
    for (auto i = from; i < plan.size(); ++i) {
      auto it = number_of.find(plan[i].uid);
      if (it == number_of.end() || shared.count(plan[i].uid) != 0) {
        if (it == number_of.end()) {
          context.log->warn("message {} (UID {}) is no longer in the mailbox", plan[i].number,
                            text::one_line(plan[i].uid));
        } else {
          context.log->warn("message {} (UID {}) cannot be told from another message with that "
                            "UID in the new session: not checked",
                            plan[i].number, text::one_line(plan[i].uid));
        }
        continue;
      }
      plan[i].number = it->second;
      left.push_back(std::move(plan[i]));
    }
    plan.resize(from);
    std::move(left.begin(), left.end(), std::back_inserter(plan));
  }
  return session;
}

}  // namespace

// The UIDs the server gives to more than one message (RFC 1939 says they are unique; some
// servers repeat them).
std::unordered_set<std::string> shared_uids(const std::vector<std::string>& uids)
{
  std::unordered_set<std::string> seen;
  std::unordered_set<std::string> shared;
  for (const auto& uid : uids) {
    if (!seen.insert(uid).second) {
      shared.insert(uid);
    }
  }
  return shared;
}

CheckRun check_messages(const cli::Context& context, const cli::Login& login, Pop3Session session,
                        std::vector<mailbox::Message> plan, const CheckOptions& options,
                        output::Progress& progress)
{
  CheckRun run;
  auto& result = run.result;
  Checker checker(plan, options.limits, result, progress);
  std::optional<Pop3Session> current(std::move(session));
  std::size_t from = 0;
  std::uint64_t attempts = 0;  // sessions reopened, or tried
  while (true) {
    try {
      if (!current) {
        ++attempts;
        current.emplace(reopen(context, login, plan, from));
        ++result.reconnects;
      }
      pop3::Requests requests(current->client());
      checker.start(requests, from);
      requests.run();
      run.session = std::move(current);
      return run;
    } catch (const Error& e) {
      if (!session_lost(e.code()) || checker.done() >= plan.size()) {
        throw;
      }
      if (current) {
        checker.lost(e);
        current.reset();
      }
      from = checker.done();
      if (from >= plan.size()) {
        return run;
      }
      if (attempts >= options.retries) {
        run.gave_up.emplace(e.code(), std::string(e.what()) +
                                          " (gave up after reopening the session " +
                                          std::to_string(attempts) +
                                          " times: " + std::to_string(plan.size() - from) +
                                          " messages were not checked; see --retries)");
        return run;
      }
      context.log->warn("the session ended ({}); reopening it for the {} messages left", e.what(),
                        plan.size() - from);
    }
  }
}

}  // namespace mw::commands
