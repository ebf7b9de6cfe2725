#include "commands/context.hpp"
#include "commands/session.hpp"
#include "output/render.hpp"
#include "util/error.hpp"
#include "util/text.hpp"

namespace mw::commands {

namespace {

// Streams one TOP reply to the output (plain) or collects it (JSON). On a terminal the
// message cannot control it: control characters other than tab and line feed, C1 and
// bidirectional controls and invalid UTF-8 are shown (text::visible); into a pipe or a file
// the message goes as the server sent it.
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
      *m_out << text::visible(std::string_view(m_pending).substr(0, complete),
                              {.tab = true, .newline = true});
      m_pending.erase(0, complete);
    }
  }
  void on_end()
  {
    if (m_out != nullptr && !m_pending.empty()) {
      *m_out << text::visible(m_pending, {.tab = true, .newline = true});
      m_pending.clear();
    }
  }

  std::ostream* m_out;
  std::string* m_collected;
  bool m_terminal;
  std::string m_pending;
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
  TopSink sink(s.json ? nullptr : &context.out, &result.content, context.out_is_terminal);
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
