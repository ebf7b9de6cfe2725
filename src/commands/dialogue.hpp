// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "cli/command.hpp"
#include "output/exchange.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mw::commands {

// A line typed in `mailwrench session`, cut into its verb and arguments (sans-IO).
struct TypedLine {
  std::string text;                // as typed, without the line end and surrounding blanks
  std::string verb;                // the first word, upper case ("LIST", "HEADERS")
  std::vector<std::string> words;  // the words after it
};

// Cuts a typed line into words (separated by spaces and tabs); nullopt for a blank line or a
// comment (a line whose first non-blank character is '#').
std::optional<TypedLine> parse_typed_line(std::string_view line);

// A message number typed as an argument ("3"): at least 1; throws UsageError naming `verb`.
std::uint64_t typed_number(const std::string& word, std::string_view verb);

// Throws UsageError when a command that takes no arguments (STAT, RSET, QUIT) was given some.
void no_arguments(const TypedLine& line);

// Where `mailwrench session` gets more lines for a command that reads some (SMTP DATA typed at
// the prompt): nullopt at the end of input.
using MoreLines = std::function<std::optional<std::string>(const std::string& prompt)>;

// One protocol's side of `mailwrench session` (POP3, or SMTP with --smtp): what each typed
// command does, and how the session ends. The front (commands/talk.cpp) reads the lines, from a
// person at a terminal or from a script, and shows each exchange.
class Dialogue {
public:
  enum class After { next, quit };

  virtual ~Dialogue() = default;

  // The prompt, naming the account and the state ("pop3 alice@mail.example.com [2 marked]> ").
  virtual std::string prompt() const = 0;
  // Runs one line: refuses it (a usage error is shown, never thrown) or sends it and shows the
  // reply through `exchange`. Throws mw::Error only when the session is lost. `more` gives the
  // lines a command reads after it (DATA).
  virtual After run(const TypedLine& line, output::Exchange& exchange, const MoreLines& more) = 0;
  // What QUIT would commit, asked at a terminal before it is sent ("delete 2 messages (3, 7)");
  // "" when QUIT commits nothing.
  virtual std::string pending() const = 0;
  // Leaves without committing anything (end of input, Ctrl-C, a script without QUIT): RSET when
  // something is marked, then QUIT, each shown through an exchange from `exchange_for`.
  virtual void
  leave(const std::function<std::unique_ptr<output::Exchange>(std::string_view command)>&
            exchange_for) = 0;
  // Tab completion: the candidates for `word` after the words `before`.
  virtual std::vector<std::string> complete(std::string_view before,
                                            std::string_view word) const = 0;
  // Keeps the server from logging an idle person out (NOOP): nothing is shown.
  virtual void keep_alive() = 0;
  // Whether a line is kept out of the history (a login typed by mistake).
  virtual bool secret(const TypedLine& line) const = 0;
  // The history file's name in the state directory.
  virtual std::string history_name() const = 0;
  // What a person is told first, and when the session ends without QUIT.
  virtual std::string banner() const = 0;
  virtual std::string leaving() const = 0;
};

// The words of `candidates` that start with `word`, ignoring ASCII case, in the case the word
// was typed in (a verb typed "li" completes to "list").
std::vector<std::string> matching(const std::vector<std::string>& candidates,
                                  std::string_view word);

// The POP3 dialogue over a logged-in session (commands/pop3_dialogue.cpp): `raw` lets commands
// it does not know go to the server verbatim.
std::unique_ptr<Dialogue> pop3_dialogue(const cli::Context& context, bool raw);

}  // namespace mw::commands
