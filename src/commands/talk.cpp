// SPDX-License-Identifier: Apache-2.0
// `mailwrench session`: the telnet dialogue of the guides, over the session the other commands
// open (TLS, certificate checks, SASL, the password from its usual source), for a person at a
// terminal (line editing, history, completion, a pager, a confirmation before QUIT commits) or
// for a script (one command a line, plain or JSON Lines, stopping at the first failure).

#include "cli/command.hpp"
#include "commands/dialogue.hpp"
#include "output/exchange.hpp"
#include "output/render.hpp"
#include "util/error.hpp"
#include "util/text.hpp"

#include <exception>
#include <fstream>

namespace po = boost::program_options;

namespace mw::commands {

std::unique_ptr<Dialogue> smtp_dialogue(const cli::Context& context, bool raw);

namespace {

struct TalkOptions {
  bool smtp = false;
  bool raw = false;
  bool keep_going = false;
  std::string script;  // "" = standard input
  std::chrono::seconds keep_alive{60};
};

// What the transcript and the JSON object call a typed line: a login typed by mistake shows
// its verb only.
std::string shown(const Dialogue& dialogue, const TypedLine& line)
{
  return dialogue.secret(line) ? line.verb + " (not shown)" : text::one_line(line.text);
}

// A script: one command a line, each exchange shown (plain, after "> COMMAND", or as one JSON
// object); the first failure stops it (exit 1) unless --keep-going. A script that ends without
// QUIT commits nothing: RSET, QUIT.
int scripted(const cli::Context& context, Dialogue& dialogue, std::istream& in,
             const TalkOptions& options, std::string& current)
{
  const bool json = context.settings.json;
  bool stopped = false;  // by a failure: what follows is the tool's RSET and QUIT
  auto exchange_for = [&](std::string_view command, bool implicit) {
    current = command;
    if (json) {
      return output::json_exchange(context.out, command, implicit);
    }
    context.out << "> " << command
                << (!implicit ? ""
                    : stopped ? " (the script stopped)"
                              : " (the script ended without QUIT)")
                << '\n';
    return output::plain_exchange(context.out);
  };
  auto leave = [&] {
    dialogue.leave([&](std::string_view command) { return exchange_for(command, true); });
  };
  std::string raw;
  auto read = [&]() -> std::optional<std::string> {
    if (!std::getline(in, raw)) {
      return std::nullopt;
    }
    if (!raw.empty() && raw.back() == '\r') {
      raw.pop_back();
    }
    return raw;
  };
  const MoreLines more = [&](const std::string&) { return read(); };
  bool failed = false;
  while (auto text = read()) {
    auto line = parse_typed_line(*text);
    if (!line) {
      continue;
    }
    auto exchange = exchange_for(shown(dialogue, *line), false);
    const auto after = dialogue.run(*line, *exchange, more);
    exchange->finish();
    current.clear();
    if (!exchange->ok()) {
      failed = true;
      if (!options.keep_going) {
        if (after != Dialogue::After::quit) {
          stopped = true;
          leave();
        }
        return 1;
      }
    }
    if (after == Dialogue::After::quit) {
      return failed ? 1 : 0;
    }
  }
  leave();
  return failed ? 1 : 0;
}

// A person at a terminal: a prompt with the state, history and completion; QUIT asks before it
// commits; Ctrl-D, Ctrl-C or a terminal that goes away leave without committing.
int interactive(const cli::Context& context, cli::Terminal& terminal, Dialogue& dialogue,
                const TalkOptions& options)
{
  terminal.keep_history(dialogue.history_name());
  terminal.complete_with([&dialogue](std::string_view before, std::string_view word) {
    return dialogue.complete(before, word);
  });
  // A lost connection found while idle is thrown at the next prompt, not through libedit.
  std::exception_ptr lost;
  if (options.keep_alive.count() > 0) {
    terminal.on_idle(options.keep_alive, [&] {
      if (lost) {
        return;
      }
      try {
        dialogue.keep_alive();
      } catch (...) {
        lost = std::current_exception();
      }
    });
  }
  context.out << dialogue.banner() << '\n';
  // Ctrl-D, Ctrl-C, a hung-up terminal or SIGTERM, at the prompt or at the QUIT question.
  auto leave = [&] {
    context.out << dialogue.leaving() << '\n';
    dialogue.leave([&](std::string_view command) {
      context.out << command << '\n';
      return output::plain_exchange(context.out);
    });
    switch (terminal.ended()) {
    case cli::Terminal::End::eof: return 0;
    case cli::Terminal::End::interrupt: return static_cast<int>(ExitCode::interrupt);
    case cli::Terminal::End::hangup: return static_cast<int>(ExitCode::hangup);
    case cli::Terminal::End::terminate: return static_cast<int>(ExitCode::terminate);
    }
    return 0;
  };
  for (;;) {
    auto typed = terminal.read_line(dialogue.prompt());
    if (lost) {
      std::rethrow_exception(lost);
    }
    if (!typed) {
      return leave();
    }
    auto line = parse_typed_line(*typed);
    if (!line) {
      continue;
    }
    if (!dialogue.secret(*line)) {
      terminal.remember(line->text);
    }
    if (line->verb == "QUIT") {
      // Asked through the line reader, where Ctrl-C and Ctrl-D mean what they mean at the
      // prompt: leave without deleting.
      const auto pending = dialogue.pending();
      if (!pending.empty()) {
        auto answer = terminal.read_line("QUIT commits: " + pending + ". Go on? [y/N] ");
        if (!answer) {
          return leave();
        }
        const auto yes = text::trim(*answer);
        if (yes.empty() || (yes.front() != 'y' && yes.front() != 'Y')) {
          context.out << "QUIT not sent: the messages stay marked (RSET unmarks them).\n";
          continue;
        }
      }
    }
    auto& page = terminal.page();
    auto exchange = output::plain_exchange(page);
    const MoreLines more = [&](const std::string& prompt) {
      page.flush();
      return terminal.read_line(prompt);
    };
    const auto after = dialogue.run(*line, *exchange, more);
    exchange->finish();
    terminal.end_page();
    if (after == Dialogue::After::quit) {
      return 0;
    }
  }
}

// --json in a script: an error that ends it (a lost connection, a refused login) is one more
// JSON object on one line, naming the command it ended, not the indented error document that
// cli::run writes, which a reader of JSON Lines cannot parse line by line.
int json_lines_error(const cli::Context& context, const Error& e, const std::string& command)
{
  const std::string message = text::visible(e.what(), {.tab = true});
  context.out.flush();
  context.err << "mailwrench: error: " << message << std::endl;
  auto document = output::error_json(e.code(), message);
  if (!command.empty()) {
    document["command"] = command;
    document["ok"] = false;
  }
  output::write_json(document, context.out, -1);
  return static_cast<int>(e.code());
}

int run_scripted(const cli::Context& context, const TalkOptions& options)
{
  std::ifstream script;
  std::string current;
  try {
    if (!options.script.empty()) {
      script.open(options.script);
      if (!script) {
        throw Error(ExitCode::no_input, "cannot read the script " + options.script);
      }
    }
    auto dialogue =
        options.smtp ? smtp_dialogue(context, options.raw) : pop3_dialogue(context, options.raw);
    return scripted(context, *dialogue, options.script.empty() ? context.in : script, options,
                    current);
  } catch (const ClosedPipe&) {
    throw;
  } catch (const Error& e) {
    if (!context.settings.json) {
      throw;
    }
    return json_lines_error(context, e, current);
  }
}

int run(const cli::Context& context, const TalkOptions& options)
{
  std::unique_ptr<cli::Terminal> terminal;
  if (options.script.empty() && context.open_terminal) {
    terminal = context.open_terminal();
  }
  if (!terminal) {
    return run_scripted(context, options);
  }
  auto dialogue =
      options.smtp ? smtp_dialogue(context, options.raw) : pop3_dialogue(context, options.raw);
  return interactive(context, *terminal, *dialogue, options);
}

}  // namespace

std::optional<TypedLine> parse_typed_line(std::string_view line)
{
  // A byte order mark an editor put before the first line is no part of the verb, and words
  // are separated by any control character, not only blanks: "PASS\vsecret" or "\uFEFFPASS
  // secret" is PASS (refused, shown without its argument), not a verb that holds the password.
  constexpr std::string_view bom = "\xEF\xBB\xBF";
  if (line.substr(0, bom.size()) == bom) {
    line.remove_prefix(bom.size());
  }
  static const std::string separators = [] {
    std::string s;
    for (char c = 0; c <= ' '; ++c) {
      s += c;
    }
    return s + '\x7f';
  }();
  const auto text = text::strip(line, separators);
  if (text.empty() || text.front() == '#') {
    return std::nullopt;
  }
  TypedLine typed;
  typed.text = std::string(text);
  std::size_t pos = 0;
  while (pos < text.size()) {
    const auto start = text.find_first_not_of(separators, pos);
    if (start == std::string_view::npos) {
      break;
    }
    const auto end = std::min(text.find_first_of(separators, start), text.size());
    std::string word(text.substr(start, end - start));
    if (typed.verb.empty()) {
      typed.verb = text::upper(word);
    } else {
      typed.words.push_back(std::move(word));
    }
    pos = end;
  }
  return typed;
}

std::uint64_t typed_number(const std::string& word, std::string_view verb)
{
  const auto number = cli::parse_number(word, std::string(verb) + "'s message number");
  if (number == 0) {
    throw UsageError(std::string(verb) + ": messages are numbered from 1");
  }
  return number;
}

void no_arguments(const TypedLine& line)
{
  if (!line.words.empty()) {
    throw UsageError(line.verb + " takes no arguments");
  }
}

std::vector<std::string> matching(const std::vector<std::string>& candidates, std::string_view word)
{
  const bool upper = !word.empty() && word.front() >= 'A' && word.front() <= 'Z';
  std::vector<std::string> found;
  for (const auto& c : candidates) {
    if (c.size() >= word.size() &&
        text::iequals(std::string_view(c).substr(0, word.size()), word)) {
      found.push_back(upper ? text::upper(c) : c);
    }
  }
  return found;
}

void session_options(po::options_description& options)
{
  // clang-format off
  options.add_options()
    ("smtp", po::bool_switch(),
     "the SMTP dialogue with the account's SMTP server (smtp-* keys; ports 465, 587, 25)")
    ("script", po::value<std::string>()->value_name("FILE"),
     "read the commands from FILE, one a line (default: standard input when it is not a "
     "terminal); each reply is printed, with --json as one JSON object a line")
    ("keep-going", po::bool_switch(),
     "in a script, go on after a command fails (exit 1 at the end) instead of stopping")
    ("raw", po::bool_switch(),
     "send commands mailwrench does not know to the server as they are (their reply is read "
     "as one line)")
    ("keep-alive", po::value<std::string>()->value_name("SECONDS"),
     "at a terminal, send NOOP after SECONDS without a command (default 60; 0: never)");
  // clang-format on
}

cli::Run session(const cli::Options& options)
{
  options.require_server();
  if (!options.arguments().empty()) {
    throw UsageError("session takes no arguments: the commands are typed, or come from --script "
                     "or standard input");
  }
  TalkOptions talk;
  talk.smtp = options.flag("smtp");
  talk.raw = options.flag("raw");
  talk.keep_going = options.flag("keep-going");
  if (auto script = options.given("script")) {
    talk.script = *script;
  }
  if (auto seconds = options.given("keep-alive")) {
    talk.keep_alive = std::chrono::seconds(cli::parse_number(*seconds, "--keep-alive"));
  }
  return [talk](const cli::Context& context) { return run(context, talk); };
}

}  // namespace mw::commands
