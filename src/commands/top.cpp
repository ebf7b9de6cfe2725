#include "commands/context.hpp"
#include "commands/session.hpp"
#include "output/render.hpp"
#include "util/error.hpp"
#include "util/text.hpp"

namespace mw::commands {

namespace {

// On a terminal, a line is shown up to this many octets; the rest of it is counted, not shown.
constexpr std::size_t k_terminal_line = 4096;

// Streams one TOP reply to the output (plain) or collects it (JSON). On a terminal the
// message cannot control it: control characters other than tab and line feed, C1 and
// bidirectional controls and invalid UTF-8 are shown (text::visible), and a line longer than
// k_terminal_line octets is cut there with "… [N more octets]" (in bounded memory: a 2 MB
// header line is counted, not held). Into a pipe or a file, or with --raw, the message goes as
// the server sent it.
class TopSink {
public:
  TopSink(std::ostream* out, std::string* collected, bool terminal)
      : m_out(out), m_collected(collected), m_terminal(terminal)
  {
  }

  pop3::Reply reply()
  {
    return {[this](const pop3::Status& status) { m_status = status; },
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
      // A UTF-8 character split between two chunks waits for its end.
      m_pending.append(data);
      const std::size_t complete = text::complete_utf8_prefix(m_pending);
      show(std::string_view(m_pending).substr(0, complete));
      m_pending.erase(0, complete);
    }
  }
  void on_end()
  {
    if (m_out != nullptr && m_terminal) {
      show(m_pending);
      m_pending.clear();
      if (m_cut) {
        mark_cut();
      }
    }
  }

  // Complete characters for the terminal, line by line.
  void show(std::string_view data)
  {
    std::size_t pos = 0;
    while (pos < data.size()) {
      const std::size_t newline = data.find('\n', pos);
      const std::size_t end = newline == std::string_view::npos ? data.size() : newline;
      if (m_cut) {
        m_cut_octets += end - pos;
      } else if (m_line + (end - pos) <= k_terminal_line) {
        put(data.substr(pos, end - pos));
        m_line += end - pos;
      } else {
        // Cut at the limit, but not inside a character.
        const auto head = data.substr(pos, k_terminal_line - m_line);
        const std::size_t shown = text::complete_utf8_prefix(head);
        put(head.substr(0, shown));
        m_cut = true;
        m_cut_octets = (end - pos) - shown;
      }
      if (newline == std::string_view::npos) {
        break;
      }
      if (m_cut) {
        mark_cut();
      }
      *m_out << '\n';
      m_line = 0;
      pos = newline + 1;
    }
  }
  void put(std::string_view data)
  {
    *m_out << text::visible(data, {.tab = true, .newline = true});
  }
  void mark_cut()
  {
    *m_out << "\u2026 [" << m_cut_octets << " more octets]";
    m_cut = false;
    m_cut_octets = 0;
  }

  std::ostream* m_out;
  std::string* m_collected;
  bool m_terminal;
  std::string m_pending;
  std::size_t m_line = 0;        // octets of the current line shown so far
  bool m_cut = false;            // the current line is over the limit: counted, not shown
  std::uint64_t m_cut_octets = 0;
  pop3::Status m_status;
};

}  // namespace

// The telnet session it replaces: USER/PASS, STAT, UIDL n, TOP n lines, QUIT.
int top(const Context& context)
{
  const auto& s = context.settings;
  auto session = Pop3Session::open(context);
  auto& client = session.client();
  auto maildrop = client.stat();
  if (s.message > maildrop.messages) {
    session.quit_quietly();
    throw Error(ExitCode::data, "message " + std::to_string(s.message) + " does not exist (the "
                                    "mailbox has " + std::to_string(maildrop.messages) +
                                    (maildrop.messages == 1 ? " message)" : " messages)"));
  }
  if (client.capabilities().known && !client.capabilities().top) {
    session.quit_quietly();
    throw Error(ExitCode::unavailable, "the server does not support TOP");
  }

  output::TopResult result;
  result.number = s.message;
  result.lines = s.lines;
  pop3::Requests requests(client);
  // The UID is cheap to ask for one message and makes the JSON self-describing.
  if (s.json && (!client.capabilities().known || client.capabilities().uidl)) {
    requests.uidl(s.message, [&result](const pop3::Status&, std::optional<pop3::UniqueId> id) {
      if (id) {
        result.uid = id->uid;
      }
    });
  }
  TopSink sink(s.json ? nullptr : &context.out, &result.content,
               context.out_is_terminal && !s.raw);
  requests.top(s.message, s.lines, sink.reply());
  requests.run();
  if (!sink.status().ok()) {
    session.quit_quietly();
    throw Error(pop3::exit_code_for(sink.status(), ExitCode::data),
                "the server refused TOP " + std::to_string(s.message) + ": " + sink.status().text);
  }
  session.quit_quietly();
  if (s.json) {
    output::write_json(output::to_json(result), context.out);
  }
  context.out.flush();
  return 0;
}

}  // namespace mw::commands
