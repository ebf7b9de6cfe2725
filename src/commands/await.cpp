// SPDX-License-Identifier: Apache-2.0
#include "commands/await.hpp"

#include "commands/session.hpp"
#include "mail/headers.hpp"
#include "pop3/deleter.hpp"
#include "util/error.hpp"

#include <spdlog/spdlog.h>

#include <thread>
#include <unordered_map>
#include <unordered_set>

namespace mw::commands {

namespace {

// Finds which of the TOP n 0 replies carries the Message-ID. Only the reply being read is
// held (at most 256 KiB of it); of each, only its Message-ID is kept.
class MessageIdReader {
public:
  explicit MessageIdReader(std::size_t count) : m_ids(count) {}

  // The callbacks for the TOP reply of message `index`.
  pop3::Reply reply(std::size_t index)
  {
    return {[this](const pop3::Status&) { m_block.clear(); },
            [this](std::string_view data) {
              if (m_block.size() < k_max_block) {
                m_block.append(data.substr(0, k_max_block - m_block.size()));
              }
            },
            [this, index] { end(index); }};
  }
  const std::string& message_id(std::size_t index) const { return m_ids[index]; }

private:
  void end(std::size_t index)
  {
    auto headers = mail::Headers::parse(m_block);
    // A Message-ID longer than this is not the one we sent (RFC 5322 lines are <= 998).
    auto id = headers.get("Message-ID").value_or("");
    if (id.size() <= 1000) {
      m_ids[index] = std::string(id);
    }
    m_block.clear();
  }

  static constexpr std::size_t k_max_block = 256 * 1024;
  std::vector<std::string> m_ids;
  std::string m_block;  // the reply being read
};

}  // namespace

AwaitBaseline await_baseline(const cli::Context& context, const AwaitOptions& options)
{
  const auto& account = options.account;
  auto watch = context.with(options.account);
  auto session = Pop3Session::open(watch);
  auto uids = session.client().uidl();
  session.quit_quietly();
  if (!uids) {
    throw Error(ExitCode::unavailable,
                "the server of " + account.account +
                    " does not support UIDL, so --await cannot tell the message sent from one "
                    "that was there before; nothing was sent");
  }
  AwaitBaseline baseline;
  for (auto& u : *uids) {
    baseline.insert(std::move(u.uid));
  }
  return baseline;
}

output::AwaitOutcome await_delivery(const cli::Context& context, const AwaitOptions& options,
                                    const std::string& message_id,
                                    std::chrono::steady_clock::time_point sent,
                                    const AwaitBaseline& baseline)
{
  const auto& account = options.account;
  auto watch = context.with(options.account);
  auto start = sent;
  auto deadline = start + options.timeout;
  // UIDs whose headers were read already, and those that were there before the send.
  std::unordered_set<std::string> seen = baseline;
  for (;;) {
    auto session = Pop3Session::open(watch);
    auto& client = session.client();
    const auto listing = client.listing();
    std::vector<std::uint64_t> numbers;
    std::vector<std::string> numbers_uids;
    for (std::size_t i = 0; i < listing.size(); ++i) {
      const std::string uid(listing.uid(i));
      // Without a UID (UIDL gone since the baseline) a message cannot be told from an old one.
      if (!uid.empty() && seen.insert(uid).second) {
        numbers.push_back(listing.number(i));
        numbers_uids.push_back(uid);
      }
    }
    MessageIdReader reader(numbers.size());
    pop3::Requests requests(client);
    for (std::size_t i = 0; i < numbers.size(); ++i) {
      requests.top(numbers[i], 0, reader.reply(i));
    }
    requests.run();
    for (std::size_t i = 0; i < numbers.size(); ++i) {
      if (reader.message_id(i) != message_id) {
        continue;
      }
      output::AwaitOutcome outcome;
      outcome.account = account.account;
      outcome.seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      outcome.number = numbers[i];
      outcome.uid = numbers_uids[i];
      if (options.purge) {
        pop3::Deleter deleter(requests, listing, pop3::DryRun::no);
        deleter.remove({numbers[i], numbers_uids[i]});
        requests.run();
        outcome.purged = deleter.marked() == 1 && client.quit().ok();
      } else {
        session.quit_quietly();
      }
      return outcome;
    }
    session.quit_quietly();
    if (std::chrono::steady_clock::now() >= deadline) {
      throw Error(ExitCode::temporary, "the message was sent, but did not arrive in " +
                                           account.account + " within " +
                                           std::to_string(options.timeout.count()) + " s");
    }
    context.log->debug("{} has not arrived in {} yet", message_id, account.account);
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
}

}  // namespace mw::commands
