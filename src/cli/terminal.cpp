// SPDX-License-Identifier: Apache-2.0
#include "cli/terminal.hpp"

#include "store/file.hpp"
#include "store/state.hpp"
#include "util/error.hpp"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <clocale>
#include <csignal>
#include <cstdio>
#include <deque>
#include <fcntl.h>
#include <histedit.h>
#include <iostream>
#include <poll.h>
#include <sstream>
#include <streambuf>
#include <sys/ioctl.h>
#include <unistd.h>

namespace mw::cli {

namespace {

// The signal that ended the prompt (SIGINT, SIGHUP, SIGTERM), set by the handler that is in
// place only while a line is read.
volatile std::sig_atomic_t g_signal = 0;

void note_prompt_signal(int signal)
{
  g_signal = signal;
}

// The handlers of the signals that end a prompt while it is read, and the earlier ones back
// afterwards: during a command, Ctrl-C ends the process, and the server, which never saw QUIT,
// deletes nothing (RFC 1939 section 6).
class PromptSignals {
public:
  PromptSignals()
  {
    g_signal = 0;
    struct sigaction action {};
    action.sa_handler = note_prompt_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = 0;  // no SA_RESTART: poll(2) returns EINTR
    for (std::size_t i = 0; i < k_signals.size(); ++i) {
      sigaction(k_signals[i], &action, &m_old[i]);
    }
  }
  ~PromptSignals()
  {
    for (std::size_t i = 0; i < k_signals.size(); ++i) {
      // The terminal hung up: it is gone, and the SIGHUPs still to come (from the kernel and
      // from the terminal emulator) must not cut short the RSET and QUIT that leave.
      if (k_signals[i] == SIGHUP && g_signal == SIGHUP) {
        m_old[i].sa_handler = SIG_IGN;
        m_old[i].sa_flags = 0;
      }
      sigaction(k_signals[i], &m_old[i], nullptr);
    }
  }
  PromptSignals(const PromptSignals&) = delete;
  PromptSignals& operator=(const PromptSignals&) = delete;

private:
  static constexpr std::array<int, 3> k_signals = {SIGINT, SIGHUP, SIGTERM};
  std::array<struct sigaction, 3> m_old{};
};

// A command's output, held until it is taller than the screen; then $PAGER gets it all and
// the rest as it comes. A pager that quit early (q in less) makes the rest go nowhere.
class PagerBuf : public std::streambuf {
public:
  PagerBuf(std::size_t height, std::size_t width, std::string pager)
      : m_height(height), m_width(width), m_pager(std::move(pager))
  {
  }
  ~PagerBuf() override { close(); }
  PagerBuf(const PagerBuf&) = delete;
  PagerBuf& operator=(const PagerBuf&) = delete;

  void close()
  {
    if (m_pipe != nullptr) {
      std::fflush(m_pipe);
      pclose(m_pipe);
      m_pipe = nullptr;
      sigaction(SIGINT, &m_old_sigint, nullptr);
    } else {
      std::cout << m_held;
      std::cout.flush();
    }
    m_held.clear();
    m_lines = 0;
    m_column = 0;
  }

protected:
  // What is held goes to the screen now (before a prompt for more lines: DATA's 354).
  int sync() override
  {
    if (m_pipe != nullptr) {
      std::fflush(m_pipe);
    } else {
      std::cout << m_held;
      std::cout.flush();
      m_held.clear();
    }
    return 0;
  }
  std::streamsize xsputn(const char* data, std::streamsize size) override
  {
    put(std::string_view(data, static_cast<std::size_t>(size)));
    return size;
  }
  int_type overflow(int_type c) override
  {
    if (!traits_type::eq_int_type(c, traits_type::eof())) {
      const char ch = traits_type::to_char_type(c);
      put(std::string_view(&ch, 1));
    }
    return traits_type::not_eof(c);
  }

private:
  void put(std::string_view data)
  {
    if (m_pipe != nullptr) {
      std::fwrite(data.data(), 1, data.size(), m_pipe);
      return;
    }
    m_held.append(data);
    // Screen rows: a line longer than the screen is wide takes several (roughly: a UTF-8
    // character counts as one column, a tab as one).
    for (char c : data) {
      if (c == '\n') {
        ++m_lines;
        m_column = 0;
      } else if ((static_cast<unsigned char>(c) & 0xC0) != 0x80 && ++m_column > m_width) {
        ++m_lines;
        m_column = 1;
      }
    }
    if (m_lines + 1 < m_height) {
      return;
    }
    std::cout.flush();
    // The pager reads the keyboard itself; Ctrl-C is its own while it runs (as git does).
    // Afterwards Ctrl-C gets its handler back (the connection's: "interrupted by SIGINT").
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    sigaction(SIGINT, &ignore, &m_old_sigint);
    m_pipe = popen(m_pager.c_str(), "w");
    if (m_pipe == nullptr) {
      sigaction(SIGINT, &m_old_sigint, nullptr);
      std::cout << m_held;
      m_held.clear();
      m_height = SIZE_MAX;  // no pager: the screen it is
      return;
    }
    std::fwrite(m_held.data(), 1, m_held.size(), m_pipe);
    m_held.clear();
  }

  std::size_t m_height;
  std::size_t m_width;
  std::string m_pager;
  std::size_t m_column = 0;
  std::string m_held;
  std::size_t m_lines = 0;
  std::FILE* m_pipe = nullptr;
  struct sigaction m_old_sigint {};
};

// Reads one UTF-8 character from the terminal for libedit, running the idle callback while
// nothing is typed, and giving up when a prompt signal arrives.
int read_char(EditLine* editline, wchar_t* out);

class EditTerminal : public Terminal {
public:
  explicit EditTerminal(const Getenv& getenv)
  {
    std::setlocale(LC_CTYPE, "");
    m_editline = el_init("mailwrench", stdin, stdout, stderr);
    if (m_editline == nullptr) {
      throw Error(ExitCode::io, "cannot set up line editing on this terminal");
    }
    m_history = history_init();
    HistEvent event;
    history(m_history, &event, H_SETSIZE, k_history_size);
    history(m_history, &event, H_SETUNIQUE, 1);
    el_set(m_editline, EL_CLIENTDATA, this);
    el_set(m_editline, EL_EDITOR, "emacs");
    el_set(m_editline, EL_SIGNAL, 0);
    el_set(m_editline, EL_PROMPT, &EditTerminal::prompt_of);
    el_set(m_editline, EL_HIST, history, m_history);
    el_set(m_editline, EL_GETCFN, &read_char);
    // The wide call: libedit keeps these strings as they are, while the narrow one converts
    // them into copies it never frees (a leak LeakSanitizer reports at exit).
    el_wset(m_editline, EL_ADDFN, L"mw-complete", L"complete a command or message number",
            &EditTerminal::complete);
    el_set(m_editline, EL_BIND, "^I", "mw-complete", nullptr);
    // ~/.editrc may rebind keys, as in every libedit program.
    el_source(m_editline, nullptr);
    auto pager = getenv("PAGER");
    m_pager = pager && !pager->empty() ? *pager : "less";
    // less: quit when it fits after all, keep the screen, let the visible text through.
    if (!getenv("LESS")) {
      setenv("LESS", "FRX", 0);
    }
  }
  ~EditTerminal() override
  {
    save_history();
    history_end(m_history);
    el_end(m_editline);
  }
  EditTerminal(const EditTerminal&) = delete;
  EditTerminal& operator=(const EditTerminal&) = delete;

  std::optional<std::string> read_line(const std::string& prompt) override
  {
    m_prompt = prompt;
    PromptSignals signals;
    int count = 0;
    const char* line = el_gets(m_editline, &count);
    if (line == nullptr || count <= 0) {
      m_ended = g_signal == SIGINT    ? End::interrupt
                : g_signal == SIGHUP  ? End::hangup
                : g_signal == SIGTERM ? End::terminate
                                      : End::eof;
      // Leave the prompt's line: what follows starts on its own.
      std::cout << (m_ended == End::interrupt ? "^C\n" : "\n");
      std::cout.flush();
      return std::nullopt;
    }
    std::string text(line, static_cast<std::size_t>(count));
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) {
      text.pop_back();
    }
    return text;
  }
  End ended() const override { return m_ended; }

  void on_idle(std::chrono::milliseconds every, std::function<void()> idle) override
  {
    m_idle_every = every;
    m_idle = std::move(idle);
  }
  void complete_with(Completer completer) override { m_completer = std::move(completer); }

  void keep_history(const std::string& name) override
  {
    m_history_path = store::state_directory() + "/" + name;
    try {
      auto fd =
          store::file::open_private(m_history_path, O_RDONLY | O_CLOEXEC, 0, "read the history");
      if (fd.get() < 0) {
        return;
      }
      std::string content;
      char buf[8192];
      ssize_t n = 0;
      while ((n = ::read(fd.get(), buf, sizeof buf)) > 0) {
        content.append(buf, static_cast<std::size_t>(n));
      }
      std::istringstream lines(content);
      std::string entry;
      HistEvent event;
      while (std::getline(lines, entry)) {
        if (!entry.empty()) {
          history(m_history, &event, H_ENTER, entry.c_str());
          m_entries.push_back(entry);
        }
      }
      trim_entries();
    } catch (const Error& e) {
      // A history that is not ours (a symbolic link, another owner) is neither read nor
      // written.
      std::cerr << "mailwrench: warning: " << e.what() << "; the history is not kept\n";
      m_history_path.clear();
    }
  }

  void remember(const std::string& line) override
  {
    if (line.empty() || std::any_of(line.begin(), line.end(), [](char c) {
          return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
        })) {
      return;
    }
    HistEvent event;
    history(m_history, &event, H_ENTER, line.c_str());
    if (m_entries.empty() || m_entries.back() != line) {
      m_entries.push_back(line);
      trim_entries();
    }
  }

  std::ostream& page() override
  {
    winsize ws{};
    std::size_t height = 24;
    std::size_t width = 80;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 2 && ws.ws_col > 0) {
      height = ws.ws_row;
      width = ws.ws_col;
    }
    m_page_buf = std::make_unique<PagerBuf>(height, width, m_pager);
    m_page = std::make_unique<std::ostream>(m_page_buf.get());
    return *m_page;
  }
  void end_page() override
  {
    if (m_page_buf) {
      m_page->flush();
      m_page_buf->close();
      m_page.reset();
      m_page_buf.reset();
    }
  }

  // For read_char: the idle callback and its period.
  std::chrono::milliseconds idle_every() const { return m_idle_every; }
  void idle()
  {
    if (m_idle) {
      m_idle();
    }
  }

private:
  static constexpr int k_history_size = 1000;

  static EditTerminal& of(EditLine* editline)
  {
    void* data = nullptr;
    el_get(editline, EL_CLIENTDATA, &data);
    return *static_cast<EditTerminal*>(data);
  }
  static char* prompt_of(EditLine* editline) { return of(editline).m_prompt.data(); }

  // Tab: the one candidate is completed (with a space after it), several are completed as far
  // as they agree and listed when they agree no further.
  static unsigned char complete(EditLine* editline, int)
  {
    auto& self = of(editline);
    if (!self.m_completer) {
      return CC_ERROR;
    }
    const LineInfo* info = el_line(editline);
    std::string_view before(info->buffer, static_cast<std::size_t>(info->cursor - info->buffer));
    const std::size_t start =
        before.find_last_of(' ') == std::string_view::npos ? 0 : before.find_last_of(' ') + 1;
    const std::string_view word = before.substr(start);
    auto candidates = self.m_completer(before.substr(0, start), word);
    if (candidates.empty()) {
      return CC_REFRESH_BEEP;
    }
    std::string common = candidates.front();
    for (const auto& c : candidates) {
      std::size_t n = 0;
      while (n < common.size() && n < c.size() && common[n] == c[n]) {
        ++n;
      }
      common.resize(n);
    }
    if (candidates.size() == 1) {
      common += ' ';
    }
    if (common.size() > word.size()) {
      el_deletestr(editline, static_cast<int>(word.size()));
      el_insertstr(editline, common.c_str());
      return CC_REFRESH;
    }
    std::cout << '\n';
    for (const auto& c : candidates) {
      std::cout << c << "  ";
    }
    std::cout << '\n';
    std::cout.flush();
    return CC_REDISPLAY;
  }

  void trim_entries()
  {
    while (m_entries.size() > static_cast<std::size_t>(k_history_size)) {
      m_entries.pop_front();
    }
  }

  // Rewrites the history file (0600, never through a symbolic link) with the kept entries.
  void save_history() noexcept
  {
    if (m_history_path.empty() || m_entries.empty()) {
      return;
    }
    try {
      store::file::make_directories(store::file::parent_of(m_history_path), 0700);
      auto fd = store::file::open_private(m_history_path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600,
                                          "write the history");
      std::string content;
      for (const auto& entry : m_entries) {
        content += entry;
        content += '\n';
      }
      if (::ftruncate(fd.get(), 0) == 0) {
        store::file::write_all(fd.get(), content, m_history_path);
      }
    } catch (const Error& e) {
      std::cerr << "mailwrench: warning: " << e.what() << "\n";
    }
  }

  EditLine* m_editline = nullptr;
  History* m_history = nullptr;
  std::string m_prompt;
  End m_ended = End::eof;
  std::chrono::milliseconds m_idle_every{0};
  std::function<void()> m_idle;
  Completer m_completer;
  std::string m_history_path;
  std::deque<std::string> m_entries;
  std::string m_pager;
  std::unique_ptr<PagerBuf> m_page_buf;
  std::unique_ptr<std::ostream> m_page;
};

// One octet from the terminal: waits in poll(2), running the idle callback each period
// without a key; -1 once a prompt signal arrived, 0 at the end of input.
int read_octet(EditTerminal& terminal, unsigned char& octet)
{
  for (;;) {
    if (g_signal != 0) {
      return -1;
    }
    pollfd fd{STDIN_FILENO, POLLIN, 0};
    const auto every = terminal.idle_every();
    const int timeout =
        every.count() > 0
            ? static_cast<int>(std::min<std::int64_t>(every.count(), std::int64_t{INT_MAX}))
            : -1;
    const int ready = ::poll(&fd, 1, timeout);
    if (ready < 0) {
      if (errno == EINTR) {
        continue;
      }
      return -1;
    }
    if (ready == 0) {
      terminal.idle();
      continue;
    }
    const ssize_t n = ::read(STDIN_FILENO, &octet, 1);
    if (n == 1) {
      return 1;
    }
    if (n < 0 && errno == EINTR) {
      continue;
    }
    // The end of input, or EIO: in libedit's raw mode both mean that the terminal went away,
    // and its SIGHUP may come only now: taken as the hang-up it is (see ~PromptSignals).
    g_signal = SIGHUP;
    return n == 0 ? 0 : -1;
  }
}

int read_char(EditLine* editline, wchar_t* out)
{
  void* data = nullptr;
  el_get(editline, EL_CLIENTDATA, &data);
  auto& terminal = *static_cast<EditTerminal*>(data);
  unsigned char lead = 0;
  int got = read_octet(terminal, lead);
  if (got <= 0) {
    *out = L'\0';
    return got;
  }
  // UTF-8 (RFC 3629): the lead octet says how many continuation octets follow; anything
  // malformed becomes U+FFFD rather than a stuck prompt.
  int more = lead < 0x80             ? 0
             : (lead & 0xE0) == 0xC0 ? 1
             : (lead & 0xF0) == 0xE0 ? 2
             : (lead & 0xF8) == 0xF0 ? 3
                                     : -1;
  if (more < 0) {
    *out = static_cast<wchar_t>(0xFFFD);
    return 1;
  }
  std::uint32_t cp = more == 0 ? lead : lead & (0x3Fu >> more);
  for (int i = 0; i < more; ++i) {
    unsigned char next = 0;
    got = read_octet(terminal, next);
    if (got <= 0) {
      *out = L'\0';
      return got;
    }
    if ((next & 0xC0) != 0x80) {
      *out = static_cast<wchar_t>(0xFFFD);
      return 1;
    }
    cp = (cp << 6) | (next & 0x3Fu);
  }
  *out = static_cast<wchar_t>(cp);
  return 1;
}

}  // namespace

std::unique_ptr<Terminal> open_terminal(const Getenv& getenv)
{
  if (isatty(STDIN_FILENO) != 1 || isatty(STDOUT_FILENO) != 1) {
    return nullptr;
  }
  return std::make_unique<EditTerminal>(getenv);
}

}  // namespace mw::cli
