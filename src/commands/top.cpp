// SPDX-License-Identifier: Apache-2.0
#include "cli/command.hpp"
#include "commands/mailbox.hpp"
#include "commands/session.hpp"
#include "output/render.hpp"
#include "output/terminal_text.hpp"
#include "util/error.hpp"
#include "util/text.hpp"

#include <memory>
#include <optional>
#include <vector>

namespace po = boost::program_options;

namespace mw::commands {

namespace {

// Streams one TOP reply to the output (plain) or collects it (JSON). On a terminal the
// message cannot control it: control characters other than tab and line feed, C1 and
// bidirectional controls and invalid UTF-8 are shown, and a line longer than 4096 octets is cut
// (output::TerminalText). Into a pipe or a file, or with --raw, the message goes as the server
// sent it.
class TopSink {
public:
  // `heading` goes out before the message when the server sends it (one of several shown),
  // after an empty line when an earlier message was shown (`shown` counts them: a message the
  // server refuses leaves no trace).
  TopSink(std::ostream* out, std::string* collected, bool terminal, std::string heading,
          std::size_t* shown)
      : m_out(out), m_collected(collected), m_terminal(terminal), m_heading(std::move(heading)),
        m_shown(shown)
  {
    if (m_out != nullptr && m_terminal) {
      m_text.emplace(*m_out);
    }
  }

  pop3::Reply reply()
  {
    return {[this](const pop3::Status& status) {
              m_status = status;
              if (status.ok() && m_out != nullptr && !m_heading.empty()) {
                *m_out << (*m_shown == 0 ? "" : "\n") << m_heading;
              }
              if (status.ok()) {
                ++*m_shown;
              }
            },
            [this](std::string_view data) { on_data(data); }, [this] { on_end(); }};
  }

  const pop3::Status& status() const { return m_status; }

private:
  void on_data(std::string_view data)
  {
    if (m_out == nullptr) {
      m_collected->append(data);
    } else if (!m_terminal) {
      m_out->write(data.data(), static_cast<std::streamsize>(data.size()));
    } else {
      m_text->write(data);
    }
  }
  void on_end()
  {
    if (m_text) {
      m_text->finish();
    }
  }

  std::ostream* m_out;
  std::string* m_collected;
  bool m_terminal;
  std::string m_heading;
  std::size_t* m_shown;
  std::optional<output::TerminalText> m_text;  // on a terminal
  pop3::Status m_status;
};

struct TopOptions {
  std::uint64_t lines = 0;
  bool raw = false;
};

// The telnet session it replaces: USER/PASS, LIST, UIDL, TOP n lines for each selected
// message (pipelined), QUIT.
int run(const cli::Context& context, const TopOptions& options)
{
  const auto& s = context.settings;
  auto session = Pop3Session::open(context);
  auto& client = session.client();
  if (client.capabilities().known && !client.capabilities().top) {
    session.quit_quietly();
    throw Error(ExitCode::unavailable, "the server does not support TOP");
  }
  auto rows = select_messages(session, context, false, Missing::fail).rows;

  // Each message streams to the output as it arrives (plain), or is collected (JSON); several
  // are told apart as head(1) does with several files.
  std::vector<output::TopResult> results(rows.size());
  std::vector<std::unique_ptr<TopSink>> sinks;
  std::size_t shown = 0;
  pop3::Requests requests(client);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    auto& result = results[i];
    result.number = rows[i].number;
    result.uid = rows[i].uid;
    result.lines = options.lines;
    std::string heading;
    if (rows.size() > 1) {
      heading = "==> message " + std::to_string(result.number) +
                (result.uid.empty() ? "" : " (UID " + text::one_line(result.uid) + ")") + " <==\n";
    }
    sinks.push_back(std::make_unique<TopSink>(s.json ? nullptr : &context.out, &result.content,
                                              context.out_is_terminal && !options.raw,
                                              std::move(heading), &shown));
    requests.top(result.number, options.lines, sinks.back()->reply());
  }
  requests.run();
  session.quit_quietly();
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const auto& status = sinks[i]->status();
    if (!status.ok()) {
      throw Error(pop3::exit_code_for(status, ExitCode::data),
                  "the server refused TOP " + std::to_string(rows[i].number) + ": " + status.text);
    }
  }
  if (s.json) {
    output::write_json(output::to_json(results), context.out);
  }
  context.out.flush();
  return 0;
}

}  // namespace

void top_options(po::options_description& options)
{
  // clang-format off
  options.add_options()
    ("lines", po::value<std::string>()->value_name("N"),
     "also show the first N lines of the body (default 0: the headers only)")
    ("raw", po::bool_switch(),
     "the message's bytes as they are, even on a terminal (which otherwise shows control "
     "characters and cuts lines over 4096 octets)");
  // clang-format on
}

cli::Run top(const cli::Options& options)
{
  options.require_server();
  if (options.settings().selection.empty()) {
    throw UsageError("top needs a selection (message numbers, --uid, --from, ...) or --all");
  }
  TopOptions top;
  if (auto lines = options.given("lines")) {
    top.lines = cli::parse_number(*lines, "--lines");
  }
  top.raw = options.flag("raw");
  return [top](const cli::Context& context) { return run(context, top); };
}

}  // namespace mw::commands
