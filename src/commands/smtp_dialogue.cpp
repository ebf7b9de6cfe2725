// SPDX-License-Identifier: Apache-2.0
#include "commands/dialogue.hpp"
#include "commands/smtp_session.hpp"
#include "smtp/typed.hpp"
#include "util/error.hpp"
#include "util/text.hpp"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <sys/stat.h>

namespace mw::commands {

std::unique_ptr<Dialogue> smtp_dialogue(const cli::Context& context, bool raw);

namespace {

// The commands of RFC 5321 a person types, and help.
const std::vector<std::string> k_verbs = {"ehlo", "helo", "mail", "rcpt", "data", "rset",
                                          "vrfy", "expn", "noop", "help", "quit"};

const char* const k_help =
    "SMTP commands (RFC 5321); each reply is shown with its code:\n"
    "  EHLO [name]                  greet again (default: this machine's name)\n"
    "  HELO [name]                  greet without extensions\n"
    "  MAIL FROM:<addr> [params]    start a transaction (MAIL FROM:<> for a bounce)\n"
    "  RCPT TO:<addr> [params]      add a recipient\n"
    "  DATA                         then type the message, ended by a line with only \".\"\n"
    "                               (the tool dot-stuffs it and sends CRLF line ends; when\n"
    "                               DATA is refused the lines up to \".\" are dropped)\n"
    "  DATA FILE                    send the message in FILE instead (a mailwrench extension)\n"
    "  RSET                         abandon the transaction\n"
    "  VRFY addr, EXPN list         ask the server about an address or a list\n"
    "  NOOP                         keep the connection alive\n"
    "  HELP topic                   the server's help on a topic\n"
    "  QUIT                         leave\n"
    "  help                         this text\n"
    "End of input (Ctrl-D) or Ctrl-C leaves (RSET inside a transaction, then QUIT); a message\n"
    "is sent only by the line \".\" after DATA.\n"
    "STARTTLS and AUTH are done by the tool (--tls, --user and the usual password sources),\n"
    "never typed here. BDAT needs --raw; --raw sends other commands as they are typed.\n";

// The reply as the server sent it, a line each: "250-PIPELINING", ..., "250 SMTPUTF8".
void show(const smtp::Reply& reply, output::Exchange& exchange)
{
  const auto code = std::to_string(reply.code);
  if (reply.lines.empty()) {
    exchange.status(reply.positive(), code);
  }
  for (std::size_t i = 0; i < reply.lines.size(); ++i) {
    const bool last = i + 1 == reply.lines.size();
    exchange.status(reply.positive(), code + (last ? " " : "-") + reply.lines[i]);
  }
}

// What follows the verb, as typed.
std::string_view arguments(const TypedLine& line)
{
  std::string_view text = line.text;
  const auto end = text.find_first_of(" \t");
  return end == std::string_view::npos ? std::string_view() : text::trim(text.substr(end));
}

std::string read_message_file(const std::string& path)
{
  std::ifstream in(path, std::ios::binary);
  struct stat info {};
  if (!in || (::stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode))) {
    throw UsageError("cannot read the message file '" + path + "': DATA was not sent");
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

class SmtpDialogue : public Dialogue {
public:
  SmtpDialogue(const cli::Context& context, bool raw)
      : m_context(context), m_raw(raw), m_session(SmtpSession::open(context, ""))
  {
    const auto& s = context.settings;
    m_name = (s.user.empty() ? "" : s.user + "@") + s.host;
    if (!s.account.empty()) {
      m_name = s.account + " (" + m_name + ")";
    }
  }

  std::string prompt() const override
  {
    std::string p = "smtp " + m_name;
    if (m_from) {
      p += " [mail from " + (m_from->empty() ? std::string("<>") : *m_from) + ", " +
           std::to_string(m_recipients) + " rcpt]";
    }
    return text::one_line(p) + "> ";
  }

  After run(const TypedLine& line, output::Exchange& exchange, const MoreLines& more) override
  {
    try {
      return dispatch(line, exchange, more);
    } catch (const UsageError& e) {
      exchange.refused(e.what());
      return After::next;
    }
  }

  // QUIT commits nothing in SMTP: a message accepted after DATA is sent already.
  std::string pending() const override { return ""; }

  void leave(const std::function<std::unique_ptr<output::Exchange>(std::string_view)>& exchange_for)
      override
  {
    if (!m_session) {
      return;
    }
    if (m_from) {
      auto exchange = exchange_for("RSET");
      send("RSET", *exchange);
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
    if (first.find(' ') == std::string_view::npos) {
      const auto verb = text::upper(first);
      if (verb == "MAIL") {
        return matching({"FROM:<"}, word);
      }
      if (verb == "RCPT") {
        return matching({"TO:<"}, word);
      }
    }
    return {};
  }

  void keep_alive() override
  {
    // Never while a message is being typed: the NOOP would be part of it.
    if (m_session && !m_in_data) {
      m_session->client().typed("NOOP");
    }
  }

  bool secret(const TypedLine& line) const override { return line.verb == "AUTH"; }

  std::string history_name() const override { return "history-smtp"; }
  std::string banner() const override
  {
    return "Connected; type help for the commands. A message is sent only by the line \".\" "
           "after DATA; Ctrl-D leaves.";
  }
  std::string leaving() const override
  {
    return "Leaving: nothing more is sent (RSET inside a transaction, then QUIT).";
  }

private:
  After dispatch(const TypedLine& line, output::Exchange& exchange, const MoreLines& more)
  {
    if (!m_session) {
      throw UsageError("the session is over");
    }
    const auto& verb = line.verb;
    if (verb == "AUTH") {
      throw UsageError("AUTH is not typed here: the session authenticates itself with --user and "
                       "the usual password sources (--password-command, the config file), so "
                       "the password never reaches the screen or the history");
    }
    if (verb == "STARTTLS") {
      throw UsageError("STARTTLS is not typed here: --tls starttls makes the session encrypt the "
                       "connection before anything else is sent");
    }
    if (verb == "BDAT" && !m_raw) {
      throw UsageError("BDAT is not typed here: its chunks are counted octets, which a prompt "
                       "cannot type; DATA sends a typed message (dot-stuffed for you), DATA FILE "
                       "a file; --raw sends BDAT as typed");
    }
    if (verb == "EHLO" || verb == "HELO") {
      if (line.words.size() > 1) {
        throw UsageError(verb + " takes one name (" + verb + " client.example.com)");
      }
      const auto name = line.words.empty() ? m_context.host_name() : line.words[0];
      auto command = verb == "EHLO" ? smtp::ehlo(name) : smtp::helo(name);
      command.resize(command.size() - 2);
      if (send(command, exchange).code == 250) {
        // RFC 5321 section 4.1.4: a greeting clears the transaction.
        end_transaction();
      }
    } else if (verb == "MAIL") {
      const auto path = smtp::parse_typed_path(verb, arguments(line));
      if (send(path.line, exchange).positive()) {
        m_from = path.address;
        m_recipients = 0;
      }
    } else if (verb == "RCPT") {
      const auto path = smtp::parse_typed_path(verb, arguments(line));
      if (send(path.line, exchange).positive() && m_from) {
        ++m_recipients;
      }
    } else if (verb == "DATA") {
      data(line, exchange, more);
    } else if (verb == "RSET") {
      no_arguments(line);
      if (send("RSET", exchange).positive()) {
        end_transaction();
      }
    } else if (verb == "VRFY" || verb == "EXPN") {
      if (line.words.empty()) {
        throw UsageError(verb + " takes an address or a name (" + verb + " postmaster)");
      }
      send(verb + " " + std::string(arguments(line)), exchange);
    } else if (verb == "NOOP") {
      no_arguments(line);
      send("NOOP", exchange);
    } else if (verb == "HELP") {
      if (line.words.empty()) {
        exchange.note("help", k_help, std::string_view(k_help, std::strlen(k_help) - 1));
      } else {
        send("HELP " + std::string(arguments(line)), exchange);
      }
    } else if (verb == "QUIT") {
      no_arguments(line);
      quit(exchange);
      return After::quit;
    } else if (m_raw) {
      // An extension the server offers: verbatim, its whole reply read.
      send(line.text, exchange);
    } else {
      throw UsageError("unknown command '" + line.verb +
                       "' (help lists the commands; --raw sends others as they are)");
    }
    return After::next;
  }

  smtp::Reply send(const std::string& command, output::Exchange& exchange)
  {
    auto reply = m_session->client().typed(command);
    show(reply, exchange);
    return reply;
  }

  // DATA, then the message typed (up to a line with only ".") or read from a file, dot-stuffed
  // by the client; a 354 and the final reply are shown.
  void data(const TypedLine& line, output::Exchange& exchange, const MoreLines& more)
  {
    std::optional<std::string> file;
    if (!line.words.empty()) {
      file = read_message_file(std::string(arguments(line)));
    }
    const auto go_ahead = send("DATA", exchange);
    if (go_ahead.code != 354) {
      if (go_ahead.positive()) {
        throw ProtocolError("the server answered DATA with " + smtp::describe(go_ahead) +
                            " instead of 354: an unexpected reply, out of step with the "
                            "commands; the message was not sent");
      }
      if (!file) {
        // The message lines that follow are not commands, whether a script has them or a
        // person pasted them: read up to "." and dropped (a RSET or QUIT in them must not run).
        std::size_t skipped = 0;
        while (auto text = more("data (refused, dropped; \".\" ends)> ")) {
          if (*text == ".") {
            break;
          }
          ++skipped;
        }
        exchange.note("dropped", skipped,
                      "(DATA was refused: the " + std::to_string(skipped) +
                          (skipped == 1 ? " message line up to \".\" was"
                                        : " message lines up to \".\" were") +
                          " dropped, not sent)");
      }
      return;
    }
    std::string message;
    std::size_t lines = 0;
    if (file) {
      message = std::move(*file);
      lines = static_cast<std::size_t>(std::count(message.begin(), message.end(), '\n'));
    } else {
      m_in_data = true;
      for (;;) {
        auto text = more("data> ");
        if (!text) {
          m_in_data = false;
          m_session.reset();
          throw Error(ExitCode::data,
                      "the input ended inside DATA, before the line \".\" that ends the "
                      "message: the message was not sent (the connection was closed without "
                      "ending it)");
        }
        if (*text == ".") {
          break;
        }
        message += *text;
        message += '\n';
        ++lines;
      }
      m_in_data = false;
    }
    exchange.note("data", nlohmann::json{{"lines", lines}, {"octets", message.size()}},
                  "(message: " + std::to_string(lines) + (lines == 1 ? " line, " : " lines, ") +
                      std::to_string(message.size()) + " octets)");
    show(m_session->client().typed_message(message), exchange);
    // The final reply ends the transaction, whatever it says (RFC 5321 section 4.1.1.4).
    end_transaction();
  }

  void quit(output::Exchange& exchange)
  {
    send("QUIT", exchange);
    end_transaction();
    m_session.reset();
  }

  void end_transaction()
  {
    m_from.reset();
    m_recipients = 0;
  }

  const cli::Context& m_context;
  bool m_raw;
  std::optional<SmtpSession> m_session;
  std::string m_name;
  std::optional<std::string> m_from;  // the reverse-path MAIL FROM was accepted with
  std::size_t m_recipients = 0;       // RCPT TO accepted since
  bool m_in_data = false;             // the message is being typed after a 354
};

}  // namespace

std::unique_ptr<Dialogue> smtp_dialogue(const cli::Context& context, bool raw)
{
  return std::make_unique<SmtpDialogue>(context, raw);
}

}  // namespace mw::commands
