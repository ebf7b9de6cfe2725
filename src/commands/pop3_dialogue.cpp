// SPDX-License-Identifier: Apache-2.0
#include "commands/check_messages.hpp"
#include "commands/dialogue.hpp"
#include "commands/mailbox.hpp"
#include "commands/session.hpp"
#include "mail/preview.hpp"
#include "output/check_report.hpp"
#include "output/progress.hpp"
#include "output/render.hpp"
#include "pop3/deleter.hpp"
#include "select/selection.hpp"
#include "util/error.hpp"
#include "util/text.hpp"

#include <algorithm>
#include <cstring>
#include <map>
#include <set>
#include <sstream>

namespace mw::commands {

namespace {

// The commands of RFC 1939 (and CAPA, RFC 2449) a person types, and the helpers.
const std::vector<std::string> k_verbs = {"stat",    "list", "uidl",  "top",  "retr",
                                          "dele",    "rset", "noop",  "quit", "capa",
                                          "headers", "show", "check", "help"};
// What a login would type: the session is logged in already, and a password typed here would
// be on the screen and in the history.
const std::set<std::string, std::less<>> k_logins = {"USER", "PASS", "APOP", "AUTH"};
// Lines of a message `show` reads (TOP n k_show_lines), and shows of its text.
constexpr std::uint64_t k_show_lines = 200;
constexpr std::size_t k_show_text_lines = 20;

const char* const k_help =
    "POP3 commands (RFC 1939), sent as typed:\n"
    "  STAT                 number of messages and octets\n"
    "  LIST [n]             size of each message (or of message n)\n"
    "  UIDL [n]             unique id of each message (or of message n)\n"
    "  TOP n m              headers and the first m body lines of message n\n"
    "  RETR n               the whole message n\n"
    "  DELE n               mark message n for deletion (shown first; deleted only at QUIT)\n"
    "  RSET                 unmark every marked message\n"
    "  NOOP                 keep the connection alive\n"
    "  CAPA                 the server's capabilities\n"
    "  QUIT                 commit the deletions and leave (asks first at a terminal)\n"
    "Helpers:\n"
    "  headers [SELECTION]  the table of list --headers (numbers, --uid, --from, ...)\n"
    "  show n               From, To, Date, Subject and the first lines of the text\n"
    "  check [SELECTION]    download the messages and report what is wrong with them\n"
    "  help                 this text\n"
    "End of input (Ctrl-D) or Ctrl-C leaves without deleting anything (RSET, QUIT).\n"
    "Credentials come from the usual sources (--user, --password-command, --password-file,\n"
    "MAILWRENCH_PASSWORD, ~/.netrc, the config file, the prompt before the session):\n"
    "USER, PASS, APOP and AUTH are not typed here.\n";

std::string status_line(const pop3::Status& status)
{
  std::string line = status.ok() ? "+OK" : "-ERR";
  if (!status.code.empty()) {
    line += " [" + status.code + "]";
  }
  if (!status.text.empty()) {
    line += " " + status.text;
  }
  return line;
}

// The reply callbacks that show a reply through an exchange.
pop3::Reply shown_by(output::Exchange& exchange)
{
  return {[&exchange](const pop3::Status& status) {
            exchange.status(status.ok(), status_line(status));
          },
          [&exchange](std::string_view data) { exchange.data(data); },
          {}};
}

// Whether a verb sent with --raw may carry a credential (XAUTH, XPASS, LOGIN, ...): its
// arguments stay out of the transcript and the history.
bool looks_secret(std::string_view verb)
{
  for (std::string_view word : {"AUTH", "PASS", "LOGIN", "TOKEN", "SECRET", "KEY"}) {
    if (verb.find(word) != std::string_view::npos) {
      return true;
    }
  }
  return false;
}

class Pop3Dialogue : public Dialogue {
public:
  Pop3Dialogue(const cli::Context& context, bool raw)
      : m_context(context), m_raw(raw), m_login(Pop3Session::login_for(context)),
        m_session(Pop3Session::open(context, m_login))
  {
    // The listing at login: what numbers name, and which UID each message had then.
    auto selected = select_messages(*m_session, context, false, Missing::ignore);
    m_listing = std::move(selected.listing);
    for (auto& row : selected.rows) {
      m_messages.emplace(row.number, std::move(row));
    }
    m_requests = std::make_unique<pop3::Requests>(m_session->client());
    m_deleter = std::make_unique<pop3::Deleter>(*m_requests, m_listing, pop3::DryRun::no);
    const auto& s = context.settings;
    m_name = (m_login.user.empty() ? "" : m_login.user + "@") + s.host;
    if (!s.account.empty()) {
      m_name = s.account + " (" + m_name + ")";
    }
  }

  std::string prompt() const override
  {
    std::string p = "pop3 " + m_name;
    if (!m_marked.empty()) {
      p += " [" + std::to_string(m_marked.size()) + " marked]";
    }
    return text::one_line(p) + "> ";
  }

  After run(const TypedLine& line, output::Exchange& exchange, const MoreLines&) override
  {
    try {
      return dispatch(line, exchange);
    } catch (const UsageError& e) {
      exchange.refused(e.what());
      return After::next;
    }
  }

  std::string pending() const override
  {
    if (m_marked.empty()) {
      return "";
    }
    std::string numbers;
    for (auto n : m_marked) {
      numbers += (numbers.empty() ? "" : ", ") + std::to_string(n);
    }
    return "delete " + std::to_string(m_marked.size()) +
           (m_marked.size() == 1 ? " message (" : " messages (") + numbers + ")";
  }

  void leave(const std::function<std::unique_ptr<output::Exchange>(std::string_view)>& exchange_for)
      override
  {
    if (!m_session) {
      return;
    }
    if (!m_marked.empty()) {
      auto exchange = exchange_for("RSET");
      m_requests->rset(
          [&](const pop3::Status& status) { exchange->status(status.ok(), status_line(status)); });
      m_requests->run();
      m_marked.clear();
      exchange->finish();
    }
    auto exchange = exchange_for("QUIT");
    quit(*exchange);
    exchange->finish();
  }

  std::vector<std::string> complete(std::string_view before, std::string_view word) const override
  {
    const auto first = text::trim(before);
    if (first.empty()) {
      return matching(k_verbs, word);
    }
    const std::string verb = text::upper(first.substr(0, first.find(' ')));
    static const std::set<std::string, std::less<>> numbered = {"LIST", "UIDL", "TOP",     "RETR",
                                                                "DELE", "SHOW", "HEADERS", "CHECK"};
    // A message number: only the first argument (TOP n m's m is a line count).
    if (numbered.contains(verb) && first.find(' ') == std::string_view::npos) {
      std::vector<std::string> numbers;
      for (const auto& [number, message] : m_messages) {
        if (verb == "DELE" && m_marked.contains(number)) {
          continue;
        }
        numbers.push_back(std::to_string(number));
      }
      return matching(numbers, word);
    }
    return {};
  }

  void keep_alive() override
  {
    if (m_session) {
      m_requests->noop();
      m_requests->run();
    }
  }

  bool secret(const TypedLine& line) const override
  {
    return k_logins.contains(line.verb) || looks_secret(line.verb);
  }

  std::string history_name() const override { return "history"; }
  std::string banner() const override
  {
    return "Connected; type help for the commands. QUIT commits deletions; Ctrl-D leaves "
           "without deleting.";
  }
  std::string leaving() const override { return "Leaving without deleting anything."; }

private:
  After dispatch(const TypedLine& line, output::Exchange& exchange)
  {
    if (!m_session) {
      throw UsageError("the session is over");
    }
    const auto& verb = line.verb;
    const auto& words = line.words;
    if (k_logins.contains(verb)) {
      throw UsageError(verb + " is not typed here: the session is logged in already, and "
                              "credentials come from the usual sources (--user, "
                              "--password-command, --password-file, MAILWRENCH_PASSWORD, "
                              "~/.netrc, the config file), never this prompt");
    }
    if (verb == "STLS") {
      throw UsageError("STLS is not typed here: --tls chooses how the session is encrypted");
    }
    if (verb == "STAT" || verb == "RSET" || verb == "NOOP" || verb == "CAPA" || verb == "QUIT") {
      no_arguments(line);
    }
    if (verb == "STAT" || verb == "NOOP") {
      m_requests->typed(verb, pop3::ReplyShape::single, shown_by(exchange));
    } else if (verb == "CAPA") {
      m_requests->typed(verb, pop3::ReplyShape::multi_line, shown_by(exchange));
    } else if (verb == "LIST" || verb == "UIDL") {
      if (words.size() > 1) {
        throw UsageError(verb + " takes at most one message number");
      }
      if (words.empty()) {
        m_requests->typed(verb, pop3::ReplyShape::multi_line, shown_by(exchange));
      } else {
        m_requests->typed(verb + " " + std::to_string(typed_number(words[0], verb)),
                          pop3::ReplyShape::single, shown_by(exchange));
      }
    } else if (verb == "TOP") {
      if (words.size() != 2) {
        throw UsageError("TOP takes a message number and a number of lines (TOP 3 10)");
      }
      const auto number = typed_number(words[0], verb);
      m_requests->top(number, cli::parse_number(words[1], "TOP's number of lines"),
                      shown_by(exchange));
    } else if (verb == "RETR") {
      m_requests->retr(one_number(line), pop3::LineEnding::lf, shown_by(exchange));
    } else if (verb == "DELE") {
      mark(one_number(line), exchange);
      return After::next;
    } else if (verb == "RSET") {
      m_requests->rset([&](const pop3::Status& status) {
        exchange.status(status.ok(), status_line(status));
        if (status.ok()) {
          m_marked.clear();
        }
      });
    } else if (verb == "QUIT") {
      quit(exchange);
      return After::quit;
    } else if (verb == "HEADERS") {
      headers(words, exchange);
      return After::next;
    } else if (verb == "SHOW") {
      show(one_number(line), exchange);
      return After::next;
    } else if (verb == "CHECK") {
      check(words, exchange);
      return After::next;
    } else if (verb == "HELP") {
      exchange.note("help", k_help, std::string_view(k_help, std::strlen(k_help) - 1));
      return After::next;
    } else if (m_raw) {
      // An extension the server offers: verbatim, its reply read as one line; what looks like a
      // credential is not in the transcript.
      m_requests->typed(line.text, pop3::ReplyShape::single, shown_by(exchange),
                        looks_secret(verb) ? verb + " <redacted>" : std::string());
    } else {
      throw UsageError("unknown command '" + line.verb +
                       "' (help lists the commands; --raw sends others as they are)");
    }
    m_requests->run();
    return After::next;
  }

  std::uint64_t one_number(const TypedLine& line) const
  {
    if (line.words.size() != 1) {
      throw UsageError(line.verb + " takes one message number (" + line.verb + " 3)");
    }
    return typed_number(line.words[0], line.verb);
  }

  const mailbox::Message& listed(std::uint64_t number) const
  {
    auto it = m_messages.find(number);
    if (it == m_messages.end()) {
      throw UsageError("message " + std::to_string(number) + " does not exist (the mailbox had " +
                       std::to_string(m_messages.size()) +
                       (m_messages.size() == 1 ? " message" : " messages") + " at login)");
    }
    return it->second;
  }

  // DELE n, safely: the message is shown first (number, UID, size, From, Subject); a number
  // that no longer names the message it named at login is refused, not applied to another.
  void mark(std::uint64_t number, output::Exchange& exchange)
  {
    const auto& message = listed(number);
    if (m_marked.contains(number)) {
      throw UsageError("message " + std::to_string(number) + " is marked already (RSET unmarks)");
    }
    auto& client = m_session->client();
    std::optional<std::string> uid_now;
    bool uid_refused = false;
    if (!message.uid.empty()) {
      m_requests->uidl(number, [&](const pop3::Status& status, std::optional<pop3::UniqueId> id) {
        uid_refused = !status.ok();
        if (id) {
          uid_now = id->uid;
        }
      });
    }
    std::string head;
    const bool top = !client.capabilities().known || client.capabilities().top;
    if (top) {
      m_requests->top(number, 0,
                      {{},
                       [&](std::string_view data) {
                         if (head.size() < 64 * 1024) {
                           head.append(data.substr(0, 64 * 1024 - head.size()));
                         }
                       },
                       {}});
    }
    m_requests->run();
    if (!message.uid.empty() && (uid_refused || uid_now != message.uid)) {
      throw UsageError("message " + std::to_string(number) +
                       " is no longer the message with UID '" + message.uid +
                       "' (the mailbox changed since login): nothing was marked");
    }
    std::ostringstream description;
    description << "marked " << number << " for deletion at QUIT: ";
    if (!message.uid.empty()) {
      description << "UID " << text::one_line(message.uid) << ", ";
    }
    description << output::human_size(message.octets);
    nlohmann::json marked = {{"number", number}, {"uid", message.uid}, {"size", message.octets}};
    if (!head.empty()) {
      const auto headers = mail::Headers::parse(head);
      const auto from = select::field_text(headers.get("From").value_or(""));
      const auto subject = select::field_text(headers.get("Subject").value_or(""));
      description << ", From: " << from << ", Subject: " << subject;
      marked["from"] = from;
      marked["subject"] = subject;
    }
    m_deleter->remove({number, message.uid}, [&](const pop3::Deletion& deletion) {
      if (deletion.result == pop3::Deletion::Result::marked) {
        exchange.status(true, deletion.reply.empty() ? "+OK" : "+OK " + deletion.reply);
        m_marked.insert(number);
        exchange.note("marked", marked, description.str());
      } else if (deletion.result == pop3::Deletion::Result::refused) {
        exchange.status(false, "-ERR " + deletion.reason);
      } else {
        exchange.refused(deletion.reason);
      }
    });
    m_requests->run();
  }

  // QUIT: the server deletes the marked messages at +OK (RFC 1939 section 6).
  void quit(output::Exchange& exchange)
  {
    const auto status = m_session->client().quit();
    exchange.status(status.ok(), status_line(status));
    const std::size_t deleted = status.ok() ? m_marked.size() : 0;
    if (!m_marked.empty()) {
      exchange.note("deleted", deleted,
                    status.ok() ? "the server deleted " + std::to_string(deleted) +
                                      (deleted == 1 ? " message" : " messages")
                                : std::string("the server refused QUIT: nothing was deleted"));
    }
    m_marked.clear();
    m_session.reset();
  }

  cli::Settings with_selection(const std::vector<std::string>& words) const
  {
    cli::Settings settings = m_context.settings;
    settings.selection = cli::parse_selection(words);
    if (settings.selection.empty()) {
      settings.selection.set_all();
    }
    return settings;
  }

  // The table of `list --headers` for a selection (LIST, UIDL, TOP n 0 for those it needs).
  void headers(const std::vector<std::string>& words, output::Exchange& exchange)
  {
    const auto settings = with_selection(words);
    auto selected = select_messages(*m_session, m_context.with(settings), true, Missing::ignore);
    output::ListResult result{std::move(selected.rows), true, false};
    exchange.attach("messages", output::to_json(result)["messages"], [&](std::ostream& out) {
      output::render_plain(result, out, {m_context.out_is_terminal, m_context.terminal_width});
    });
  }

  // From, To, Date, Subject and the first lines of the message's text (TOP n k_show_lines).
  void show(std::uint64_t number, output::Exchange& exchange)
  {
    listed(number);
    std::string head;
    pop3::Status status;
    m_requests->top(number, k_show_lines,
                    {[&](const pop3::Status& s) { status = s; },
                     [&](std::string_view data) {
                       if (head.size() < 1024 * 1024) {
                         head.append(data.substr(0, 1024 * 1024 - head.size()));
                       }
                     },
                     {}});
    m_requests->run();
    exchange.status(status.ok(), status_line(status));
    if (!status.ok()) {
      return;
    }
    // TOP gave the whole message when its body has fewer lines than were asked for.
    const auto blank = head.find("\n\n");
    const bool complete =
        blank == std::string::npos ||
        static_cast<std::uint64_t>(std::count(head.begin() + static_cast<std::ptrdiff_t>(blank) + 2,
                                              head.end(), '\n')) < k_show_lines;
    const auto preview = mail::preview(head, k_show_text_lines, complete);
    nlohmann::json fields = nlohmann::json::object();
    std::string plain;
    for (const auto& field : preview.headers) {
      fields[field.name] = field.value;
      plain += field.name + ": " + text::one_line(field.value) + "\n";
    }
    plain += "\n";
    std::vector<std::string> lines;
    for (const auto& line : preview.lines) {
      lines.push_back(text::visible(line, {.tab = true}));
      plain += lines.back() + "\n";
    }
    for (const auto& note : preview.notes) {
      plain += "[" + text::one_line(note) + "]\n";
    }
    plain.pop_back();
    nlohmann::json shown = {
        {"number", number}, {"headers", fields}, {"text", preview.lines}, {"notes", preview.notes}};
    if (!preview.part.empty()) {
      shown["part"] = preview.part;
    }
    if (!preview.content_type.empty()) {
      shown["content_type"] = preview.content_type;
    }
    exchange.note("preview", shown, plain);
  }

  // The report of `check` for a selection; a server that drops the connection inside a message
  // ends the session (it is not reopened: the marks would be lost with it).
  void check(const std::vector<std::string>& words, output::Exchange& exchange)
  {
    const auto settings = with_selection(words);
    const auto context = m_context.with(settings);
    auto plan = select_messages(*m_session, context, false, Missing::ignore).rows;
    output::Progress progress(m_context.err, false, plan.size(), mailbox::total_octets(plan));
    CheckOptions options;
    options.retries = 0;
    auto checked =
        check_messages(context, m_login, std::move(*m_session), std::move(plan), options, progress);
    m_session.reset();
    if (checked.session) {
      m_session.emplace(std::move(*checked.session));
    }
    const auto& result = checked.result;
    exchange.attach("check", output::to_json(result),
                    [&](std::ostream& out) { output::render_plain(result, out, true); });
    if (checked.gave_up) {
      throw *checked.gave_up;
    }
  }

  const cli::Context& m_context;
  bool m_raw;
  cli::Login m_login;
  std::optional<Pop3Session> m_session;
  pop3::Listing m_listing;
  std::map<std::uint64_t, mailbox::Message> m_messages;  // at login
  std::unique_ptr<pop3::Requests> m_requests;
  std::unique_ptr<pop3::Deleter> m_deleter;
  std::set<std::uint64_t> m_marked;
  std::string m_name;
};

}  // namespace

std::unique_ptr<Dialogue> pop3_dialogue(const cli::Context& context, bool raw)
{
  return std::make_unique<Pop3Dialogue>(context, raw);
}

}  // namespace mw::commands
