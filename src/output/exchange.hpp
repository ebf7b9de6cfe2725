// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <ostream>
#include <string_view>

namespace mw::output {

// How one exchange of `mailwrench session` is shown: the server's reply (status line, data),
// what the tool adds to it (the message a DELE marks, a table), or why the tool refused the
// command. Plain text for a person or a log (everything a server sent made visible, as
// output::TerminalText does), or one JSON object per exchange (JSON Lines):
//   {"command": "LIST", "ok": true, "status": "+OK 2 messages", "lines": ["1 120", "2 200"]}
//   {"command": "PASS x", "ok": false, "message": "..."}
class Exchange {
public:
  virtual ~Exchange() = default;
  // A status line of the reply, as the server sent it ("+OK 2 messages", "250 2.1.0 Ok"); an
  // SMTP reply of several lines gives each (the last is the status of the JSON object).
  virtual void status(bool ok, std::string_view line) = 0;
  // The data of a multi-line reply: dot-unstuffed, LF line endings, in chunks split anywhere.
  virtual void data(std::string_view chunk) = 0;
  // What the tool adds: `plain` for a person, `value` under `key` in the JSON object.
  virtual void note(std::string_view key, const nlohmann::json& value, std::string_view plain) = 0;
  // A table or report of the tool's own (headers, check): written by `render` for a person,
  // `value` under `key` in the JSON object.
  virtual void attach(std::string_view key, nlohmann::json value,
                      const std::function<void(std::ostream&)>& render) = 0;
  // The tool refused the command or could not finish it: the exchange failed.
  virtual void refused(std::string_view message) = 0;
  // The exchange is over (the JSON object is written).
  virtual void finish() = 0;
  // Whether the server said +OK (2xx/3xx) and the tool refused nothing.
  virtual bool ok() const = 0;
};

// Plain text to `out`.
std::unique_ptr<Exchange> plain_exchange(std::ostream& out);
// One JSON object to `out`, on one line; `command` is what was typed (never a secret),
// `implicit` marks what the tool sent on its own (the RSET and QUIT of a session that ends
// without QUIT).
std::unique_ptr<Exchange> json_exchange(std::ostream& out, std::string_view command,
                                        bool implicit = false);

}  // namespace mw::output
