// SPDX-License-Identifier: Apache-2.0
#include "cli/command.hpp"
#include "cli/process.hpp"
#include "commands/broken.hpp"
#include "commands/fetch_plan.hpp"
#include "commands/mailbox.hpp"
#include "commands/session.hpp"
#include "output/progress.hpp"
#include "output/render.hpp"
#include "pop3/deleter.hpp"
#include "select/selection.hpp"
#include "store/import_state.hpp"
#include "store/mda.hpp"
#include "store/sink.hpp"
#include "store/state.hpp"
#include "util/error.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <deque>
#include <optional>
#include <sys/stat.h>

namespace po = boost::program_options;

namespace mw::commands {

namespace {

// Committed messages are made durable and visible in batches (one syncfs, one directory
// fsync, one journal write each); a message's UID is recorded and its DELE sent only after
// the batch holding it is durable. A kill loses at most a batch of work, never a message.
constexpr auto k_batch_interval = std::chrono::seconds(1);

// fetch's own options.
struct FetchOptions {
  std::string output;                  // "maildir:DIR", "mbox:FILE", "dir:DIR" or "-"
  store::OutputSpec spec;              // what it says
  bool only_new = false;               // --new
  std::string state_file;              // --state, or "": the default for the mailbox
  bool delete_after = false;           // --delete
  bool flush = false;                  // --flush: also delete what earlier runs stored
  std::optional<std::uint64_t> limit;  // --limit N
  std::optional<std::uint64_t> max_size;
  bool crlf = false;
  std::chrono::seconds wait_lock{0};
  std::optional<BrokenFilter> broken;              // --broken: only what a check calls broken
  std::optional<store::ImportSource> import_from;  // --import-state TOOL:FILE
  std::chrono::seconds mda_timeout{300};           // --mda-timeout
};

// What an MDA command's %A stands for: the account, or USER@HOST without one.
std::string mda_account(const cli::Settings& s)
{
  return s.account.empty() ? s.user + "@" + s.host : s.account;
}

std::string mailbox_of(const cli::Settings& s)
{
  return store::mailbox_identity(s.user, s.host, s.port);
}

// The default state file is named after the mailbox (and the account, when one is used), so a
// run whose -H, -p or -u differ from its account's never takes that account's state.
std::string state_name(const cli::Settings& s)
{
  std::string name = mailbox_of(s);
  std::replace(name.begin(), name.end(), ':', '-');
  return s.account.empty() ? name : s.account + "+" + name;
}

// Versions before 0.2 named the state file after the account, or USER@HOST, and did not record
// its mailbox: such a file is not taken (it may be another mailbox's), only pointed out.
void warn_about_old_state(const cli::Context& context, const std::string& state_path)
{
  const auto& s = context.settings;
  auto old = store::default_state_path(s.account.empty() ? s.user + "@" + s.host : s.account);
  struct stat info {};
  if (old != state_path && ::lstat(old.c_str(), &info) == 0 &&
      ::lstat(state_path.c_str(), &info) != 0) {
    context.log->warn("not using the state file {} of an earlier version, which does not record "
                      "which mailbox it belongs to: messages it lists are fetched again (to keep "
                      "it, pass '--state {}' once)",
                      old, old);
  }
}

// RETR replies flow into the sink; each stored message's DELE goes through the Deleter once
// the message is durable. Nothing here decides what to fetch: that is planned before.
class Fetcher {
public:
  Fetcher(const cli::Context& context, const FetchOptions& options, store::Sink& sink,
          std::optional<store::UidState>& state, const pop3::Listing& listing,
          std::vector<std::uint32_t> plan, output::FetchResult& result, output::Progress& progress,
          pop3::Requests& requests, pop3::Deleter& deleter)
      : m_context(context), m_options(options), m_requests(requests), m_deleter(deleter),
        m_sink(sink), m_state(state), m_listing(listing), m_plan(std::move(plan)), m_result(result),
        m_progress(progress), m_last_sync(std::chrono::steady_clock::now())
  {
  }

  // Feeds the pipeline a RETR for each planned message, each reply to its own callbacks, a
  // window at a time; then (--flush) a DELE for each message in `stored_before`, which a
  // previous run stored (their UIDs are in the state file).
  void start(std::vector<std::uint32_t> stored_before)
  {
    m_stored_before = std::move(stored_before);
    m_requests.feed([this] {
      if (m_deferred) {
        return false;  // the MDA asked to try later: nothing more is asked for
      }
      if (m_next < m_plan.size()) {
        const auto tag = m_next++;
        const auto ending = m_options.crlf ? pop3::LineEnding::crlf : pop3::LineEnding::lf;
        m_requests.retr(m_listing.number(m_plan[tag]), ending,
                        {[this, tag](const pop3::Status& status) { on_status(tag, status); },
                         [this, tag](std::string_view data) { on_data(tag, data); },
                         [this, tag] { on_end(tag); }});
        return true;
      }
      const auto flushed = m_next++ - m_plan.size();
      if (flushed < m_stored_before.size()) {
        remove(m_stored_before[flushed]);
        return true;
      }
      return false;
    });
  }

  // After the session: what is still pending becomes durable and is recorded (no DELE can
  // be sent any more).
  void finish()
  {
    m_session_over = true;
    sync_and_record();
  }

  // After a failure of the connection or the disk: drop the partial message, keep and record
  // what is complete.
  void salvage() noexcept
  {
    m_delivery.reset();
    m_session_over = true;
    try {
      sync_and_record();
      if (m_state) {
        m_state->save();
      }
    } catch (const std::exception& e) {
      m_context.log->warn("could not record the messages already stored: {}", e.what());
    }
  }

  // After replies were found out of step with the commands: any reply may have been taken for
  // another, so nothing pending is kept and nothing of this run stays recorded (a later --new
  // fetches those messages again rather than trusting, or deleting, them).
  void abandon() noexcept
  {
    m_delivery.reset();  // the sink drops what was never synced
    try {
      if (m_state) {
        for (const auto i : m_recorded) {
          m_state->forget(std::string(m_listing.uid(i)));
        }
        m_state->save();
      }
    } catch (const std::exception& e) {
      m_context.log->warn("could not update the state file: {}", e.what());
    }
  }

  // Runs before the sink makes committed messages count as stored (recorded, deleted): for
  // --output - into a pipe, the wait until its reader has read them.
  void before_visible(std::function<void()> wait) { m_before_visible = std::move(wait); }

  // How many DELEs were asked for (whatever the server answered).
  std::uint64_t deletes_sent() const { return m_deletes_sent; }

  // Why the delivery agent stopped the run (it asked to try later), naming the message; nullopt
  // when it did not.
  const std::optional<std::string>& deferred() const { return m_deferred; }

private:
  void remove(std::uint32_t i)
  {
    ++m_deletes_sent;
    m_deleter.remove({m_listing.number(i), std::string(m_listing.uid(i))},
                     [this, i](const pop3::Deletion& d) {
                       if (d.result == pop3::Deletion::Result::refused) {
                         fail(i, "the server refused DELE: " + d.reason);
                       } else if (d.result == pop3::Deletion::Result::moved) {
                         fail(i, d.reason);
                       }
                     });
  }

  void fail(std::uint32_t i, std::string reason)
  {
    m_result.failed.push_back({m_listing.number(i), std::string(m_listing.uid(i)),
                               m_listing.octets(i), "", std::move(reason)});
  }

  void on_status(std::size_t tag, const pop3::Status& status)
  {
    if (!status.ok()) {
      fail(m_plan[tag], "the server refused RETR: " + status.text);
      return;
    }
    if (m_deferred) {
      return;  // a RETR sent before the MDA asked to try later: its reply is read, not stored
    }
    m_octets = 0;
    m_delivery = m_sink.begin(row_of(m_listing, m_plan[tag]));
  }

  void on_data(std::size_t tag, std::string_view data)
  {
    if (m_delivery) {
      const auto& max = m_options.max_size;
      if (max && m_octets + data.size() > *max) {
        // LIST said it was small enough; the message itself says otherwise. Reading on would
        // let the server decide how much we store.
        m_delivery.reset();
        const auto i = m_plan[tag];
        throw Error(ExitCode::data, "message " + std::to_string(m_listing.number(i)) +
                                        " is larger than --max-size " + output::human_size(*max) +
                                        ", though LIST said " +
                                        std::to_string(m_listing.octets(i)) +
                                        " octets: its partial copy was discarded");
      }
      m_delivery->write(data);
      m_octets += data.size();
      m_progress.add_octets(data.size());
    }
  }

  void on_end(std::size_t tag)
  {
    ++m_retrs_done;
    if (m_delivery) {
      const auto i = m_plan[tag];
      std::string path;
      try {
        path = m_delivery->commit();
      } catch (const store::Refused& e) {
        // The MDA did not take it: it stays on the server, unrecorded, and the run goes on.
        m_delivery.reset();
        fail(i, e.what());
        m_progress.message_done();
        after_message();
        return;
      } catch (const store::Deferred& e) {
        m_delivery.reset();
        m_deferred = "message " + std::to_string(m_listing.number(i)) + ": " + e.what();
        after_message();
        return;
      }
      m_delivery.reset();
      ++m_result.count;
      m_result.octets = mailbox::add_octets(m_result.octets, m_octets);
      std::size_t stored = k_not_listed;
      if (m_context.settings.json) {  // the JSON document lists each one
        stored = m_result.stored.size();
        m_result.stored.push_back(
            {m_listing.number(i), std::string(m_listing.uid(i)), m_octets, path, ""});
      }
      m_committed.push_back({i, stored, false});
      ++m_unsynced;
      m_progress.message_done();
    }
    after_message();
  }

  // After each RETR reply: what is committed becomes durable and visible when its batch is due.
  void after_message()
  {
    // The last batch waits for QUIT unless its DELEs must go before it: so a session found
    // out of step at the end keeps nothing it may have misread.
    bool last = m_retrs_done == m_plan.size();
    if (last && m_options.delete_after) {
      sync_and_record();
    } else if (m_unsynced >= m_sink.batch() ||
               std::chrono::steady_clock::now() - m_last_sync >= k_batch_interval) {
      // The batch's data goes to the disk while the next one arrives.
      if (m_before_visible) {
        m_before_visible();
      }
      m_sink.advance(on_visible());
      m_unsynced = 0;
      m_last_sync = std::chrono::steady_clock::now();
    }
  }

  // Everything committed becomes durable and visible.
  void sync_and_record()
  {
    if (m_before_visible) {
      m_before_visible();
    }
    m_sink.sync(on_visible());
    m_unsynced = 0;
    m_last_sync = std::chrono::steady_clock::now();
  }

  // For each message the moment the sink has made it durable and visible: its path, its UID
  // in the state journal (so a kill leaves at most one visible message unrecorded), and only
  // then its DELE.
  store::Sink::Visible on_visible()
  {
    return [this](std::size_t index, const std::string& where) {
      auto& committed = m_committed.at(index - m_committed_before);
      committed.visible = true;
      if (committed.stored != k_not_listed) {
        m_result.stored.at(committed.stored).path = where;
      }
      const auto i = committed.index;
      if (m_state && !m_listing.uid(i).empty()) {
        m_state->record(std::string(m_listing.uid(i)));
        m_recorded.push_back(i);
      }
      if (m_options.delete_after && !m_session_over) {
        remove(i);
      }
      // Only what is on its way is kept: a run over a mailbox of any size holds a batch.
      while (!m_committed.empty() && m_committed.front().visible) {
        m_committed.pop_front();
        ++m_committed_before;
      }
    };
  }

  const cli::Context& m_context;
  const FetchOptions& m_options;
  pop3::Requests& m_requests;
  pop3::Deleter& m_deleter;
  bool m_session_over = false;  // no DELE may be sent any more
  store::Sink& m_sink;
  std::optional<store::UidState>& m_state;
  const pop3::Listing& m_listing;
  std::vector<std::uint32_t> m_plan;  // indices into m_listing
  std::vector<std::uint32_t> m_stored_before;
  std::size_t m_next = 0;  // what feeding asks for next: a RETR of m_plan, then a --flush DELE
  output::FetchResult& m_result;
  output::Progress& m_progress;
  std::unique_ptr<store::Delivery> m_delivery;
  std::uint64_t m_octets = 0;
  std::size_t m_retrs_done = 0;
  std::uint64_t m_deletes_sent = 0;
  std::vector<std::uint32_t> m_recorded;  // the messages whose UIDs this run added to the state
  static constexpr std::size_t k_not_listed = SIZE_MAX;
  struct Committed {
    std::uint32_t index;  // into m_listing
    std::size_t stored;   // into m_result.stored, or k_not_listed
    bool visible;
  };
  std::deque<Committed> m_committed;   // not yet visible, by the sink's commit index
  std::size_t m_committed_before = 0;  // the commit index of m_committed.front()
  std::size_t m_unsynced = 0;          // committed since the last advance or sync
  std::chrono::steady_clock::time_point m_last_sync;
  std::function<void()> m_before_visible;
  std::optional<std::string> m_deferred;  // the MDA asked to try later (see deferred())
};

// The telnet session it replaces: USER/PASS, LIST, UIDL, RETR n (saved by hand), DELE n, QUIT.
int run(const cli::Context& context, const FetchOptions& o)
{
  const auto& s = context.settings;
  auto started = std::chrono::steady_clock::now();
  const auto& spec = o.spec;
  const bool data_on_stdout = spec.kind == store::OutputSpec::Kind::standard_output;
  std::ostream& summary = data_on_stdout ? context.err : context.out;

  // Another tool's record is read whole, and refused, before anything is asked or written.
  std::optional<store::ForeignUids> foreign;
  std::optional<store::ImportSource> source = o.import_from;
  if (source) {
    if (source->path.starts_with("~/")) {
      source->path = context.getenv("HOME").value_or("~") + source->path.substr(1);
    }
    foreign = store::read_foreign_uids(*source, {s.user, s.host, s.port});
  }

  // The password before any file is opened: a --password-command (up to --timeout) or a prompt
  // must not hold the lock.
  auto login = Pop3Session::login_for(context);

  // One run per mailbox at a time, and the record of what earlier runs stored.
  auto state_path = o.state_file.empty() ? store::default_state_path(state_name(s)) : o.state_file;
  if (o.only_new && o.state_file.empty()) {
    warn_about_old_state(context, state_path);
  }
  std::optional<store::FileLock> lock;
  std::optional<store::UidState> state;
  if (o.only_new || o.delete_after || o.flush) {
    lock.emplace(store::FileLock::acquire(state_path + ".lock", o.wait_lock));
    // The summary's seconds are the transfer's: not the --wait-lock wait for another run.
    started = std::chrono::steady_clock::now();
  }
  if (o.only_new) {
    state.emplace(store::UidState::load(state_path, mailbox_of(s)));
  }
  std::optional<store::ImportCount> imported;
  if (foreign) {
    // Saved at once: the record is taken over whatever the fetch below does.
    imported = store::import_uids(*state, *foreign);
    if (imported->taken > 0) {
      state->save();
    }
    if (!s.json && !s.quiet) {
      summary << "imported " << imported->taken << (imported->taken == 1 ? " UID" : " UIDs")
              << " from " << store::tool_name(source->tool) << "'s record " << source->path << " ("
              << imported->already << " recorded already)\n";
    }
  }

  auto session = Pop3Session::open(context, login);
  // Only the picked messages' places in the listing are kept, unless a check needs the rows.
  const RowSink only_places = [](mailbox::Message&) {};
  auto selected =
      select_messages(session, context, false, Missing::fail, o.broken ? RowSink{} : only_places);
  if (o.broken) {
    // Only what a check calls broken (e.g. a copy before `purge --broken`); after a drop inside
    // a message, fetched in the new session where it was found again by UID.
    session = keep_broken(context, login, std::move(session), selected, *o.broken);
  }
  auto& client = session.client();
  const auto& listing = selected.listing;
  if (o.only_new && listing.uids_given() == 0 && !selected.picked.empty()) {
    throw Error(ExitCode::unavailable,
                "the server does not support UIDL, so --new cannot tell new messages apart");
  }

  // Plan: what to fetch, what to skip and say so, what earlier runs stored.
  output::FetchResult result;
  result.output = o.output;
  auto plan = plan_fetch(listing, selected.picked, state ? &*state : nullptr,
                         {o.delete_after || o.flush, o.max_size, o.limit});
  result.skipped = std::move(plan.skipped);
  result.failed = std::move(plan.failed);
  if (plan.ambiguous > 0) {
    context.log->warn("the server gives {} messages a UID that another message has too; those "
                      "recorded as stored are skipped, though one of them may be new",
                      plan.ambiguous);
  }
  if (spec.kind == store::OutputSpec::Kind::standard_output && plan.fetch.size() > 1) {
    throw UsageError("--output - writes one message, and " + std::to_string(plan.fetch.size()) +
                     " are selected: select one (e.g. its number), or use mbox:FILE");
  }

  auto sink = spec.kind == store::OutputSpec::Kind::mda
                  ? store::open_mda({spec.path, mda_account(s), o.mda_timeout})
                  : store::open_sink(spec, o.crlf ? store::LineEnding::crlf : store::LineEnding::lf,
                                     context.out);
  output::Progress progress(context.err, context.err_is_terminal && !s.quiet && !s.json,
                            plan.fetch.size(), plan.octets);

  pop3::Requests requests(client);
  pop3::Deleter deleter(requests, listing, pop3::DryRun::no);
  Fetcher fetcher(context, o, *sink, state, listing, std::move(plan.fetch), result, progress,
                  requests, deleter);
  const bool wait_for_reader = data_on_stdout && (state || o.delete_after);
  if (wait_for_reader) {
    // A message in the pipe's buffer has not reached the reader (`| head -c 100` may leave
    // without it): it is recorded and deleted once read.
    fetcher.before_visible([timeout = s.timeout] { cli::wait_until_stdout_read(timeout); });
  }
  try {
    fetcher.start(o.flush ? std::move(plan.stored_before) : std::vector<std::uint32_t>{});
    requests.run();
  } catch (const Error& e) {
    // Nothing is deleted without QUIT; keep what is complete on disk and in the state file,
    // unless the replies themselves cannot be trusted.
    progress.clear();
    if (data_on_stdout && (e.code() == ExitCode::closed_pipe || cli::stdout_reader_gone())) {
      // The reader of --output - went away: what it had is not known to have reached it.
      fetcher.abandon();
      throw ClosedPipe();
    }
    if (e.code() == ExitCode::protocol || wait_for_reader) {
      // (With --output -: a message not known to have been read is not recorded either.)
      fetcher.abandon();
    } else {
      fetcher.salvage();
    }
    auto stored = result.count;
    throw Error(e.code(), std::string(e.what()) + " (stored " + std::to_string(stored) +
                              (stored == 1 ? " message" : " messages") +
                              " before that; nothing was deleted on the server)");
  }

  // RFC 1939 section 6: the server deletes the marked messages only after +OK to QUIT.
  auto deletes = fetcher.deletes_sent();
  pop3::Status quit;
  try {
    quit = client.quit();
  } catch (const Error& e) {
    if (interrupted(e.code()) && deletes == 0) {
      // Nothing was marked: stop here (with marks, the message below says what may be).
      progress.clear();
      fetcher.salvage();
      throw Error(e.code(), std::string(e.what()) + " (nothing was deleted on the server)");
    }
    if (e.code() == ExitCode::protocol) {
      progress.clear();
      fetcher.abandon();
      throw Error(e.code(), std::string(e.what()) + " (the messages of this run are not "
                                                    "recorded as fetched)");
    }
    if (deletes > 0) {
      throw Error(e.code(), std::string(e.what()) +
                                " while waiting for the reply to QUIT: the messages are stored, "
                                "but may or may not have been deleted on the server");
    }
  }
  if (deletes > 0 && !quit.ok()) {
    throw Error(ExitCode::temporary, "the server did not confirm QUIT (" + quit.text +
                                         "): the messages are stored, but none was deleted on "
                                         "the server");
  }
  fetcher.finish();
  result.deleted = deleter.marked();
  if (state) {
    state->retain(listing.uids_on_server());
    state->save();
  }
  if (const auto& deferred = fetcher.deferred()) {
    // What the MDA took before is deleted (with --delete) and recorded; the rest waits.
    progress.clear();
    throw Error(ExitCode::temporary, *deferred +
                                         "; stopped there: " + std::to_string(result.count) +
                                         (result.count == 1 ? " message was" : " messages were") +
                                         " delivered, that one and the rest stay on the server");
  }

  progress.clear();
  result.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (context.summarize) {
    context.summarize(output::fetch_summary(result));
  }
  if (s.json) {
    auto document = output::to_json(result);
    if (imported) {
      document["imported"] = {{"from", store::tool_name(source->tool)},
                              {"file", source->path},
                              {"taken", imported->taken},
                              {"already", imported->already}};
    }
    output::write_json(document, summary);
  } else if (!s.quiet || !result.failed.empty()) {
    output::render_plain(result, summary);
  }
  return result.failed.empty() ? 0 : static_cast<int>(ExitCode::partial);
}

}  // namespace

void fetch_options(po::options_description& options)
{
  // clang-format off
  options.add_options()
    ("output,o", po::value<std::string>()->value_name("TARGET"),
     "maildir:DIR | mbox:FILE | dir:DIR | mda:COMMAND (each message to COMMAND's stdin; %F "
     "sender, %A account) | - (stdout, one message); an existing Maildir may be given as DIR")
    ("mda-timeout", po::value<std::string>()->value_name("SECONDS"),
     "kill an mda: command still running after SECONDS and stop (exit 75; default 300)")
    ("new", po::bool_switch(), "skip messages whose UID the state file records")
    ("state", po::value<std::string>()->value_name("FILE"),
     "the state file of --new (default $XDG_STATE_HOME/mailwrench/"
     "[ACCOUNT+]USER@HOST-PORT.uids)")
    ("delete", po::bool_switch(),
     "delete each message on the server once it is safely stored")
    ("flush", po::bool_switch(),
     "with --new: also delete the messages the state file says earlier runs stored")
    ("limit", po::value<std::string>()->value_name("N"), "fetch at most N messages")
    ("max-size", po::value<std::string>()->value_name("SIZE"),
     "skip (and report) messages larger than SIZE")
    ("crlf", po::bool_switch(), "store CRLF line endings as sent (default: LF)")
    ("wait-lock", po::value<std::string>()->value_name("SECONDS"),
     "wait this long for another run on the same mailbox to finish (default 0)")
    ("import-state", po::value<std::string>()->value_name("TOOL:FILE"),
     "first record as stored the UIDs that mpop, fetchmail or getmail retrieved from this "
     "mailbox (mpop:FILE, fetchmail:FILE, getmail:FILE); implies --new");
  // clang-format on
  broken_option(options);
}

cli::Run fetch(const cli::Options& options)
{
  options.require_server();
  FetchOptions o;
  o.output = options.configured("output").value_or("");
  if (o.output.empty()) {
    throw UsageError(
        "fetch needs --output maildir:DIR, mbox:FILE, dir:DIR, mda:COMMAND or - (stdout)");
  }
  try {
    o.spec = store::parse_output(o.output);
  } catch (const Error& e) {
    options.blame("output", e);
  }
  o.only_new = options.flag("new");
  if (auto from = options.given("import-state")) {
    o.import_from = store::parse_import_source(*from);
    o.only_new = true;
    if (options.flag("flush")) {
      throw UsageError("--import-state and --flush in one run would delete on the server what "
                       "the other tool retrieved, unseen: import first, --flush in a later run");
    }
  }
  o.delete_after = options.flag("delete");
  o.flush = options.flag("flush");
  if (o.flush && !o.only_new) {
    throw UsageError("--flush deletes what the --new state file records as stored: it needs "
                     "--new");
  }
  o.crlf = options.flag("crlf");
  o.state_file = options.configured_path("state");
  if (auto limit = options.given("limit")) {
    o.limit = cli::parse_number(*limit, "--limit");
  }
  if (auto max = options.given("max-size")) {
    o.max_size = cli::for_option("max-size", [&] { return select::parse_size(*max); });
  }
  if (auto wait = options.given("wait-lock")) {
    o.wait_lock = std::chrono::seconds(cli::parse_number(*wait, "--wait-lock"));
  }
  if (auto timeout = options.configured("mda-timeout")) {
    o.mda_timeout = std::chrono::seconds(cli::parse_number(*timeout, "--mda-timeout"));
    if (o.mda_timeout.count() == 0) {
      throw UsageError("--mda-timeout must be at least 1 second");
    }
  }
  o.broken = broken_filter(options);
  return [o = std::move(o)](const cli::Context& context) { return run(context, o); };
}

}  // namespace mw::commands
