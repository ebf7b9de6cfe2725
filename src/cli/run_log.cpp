// SPDX-License-Identifier: Apache-2.0
#include "cli/run_log.hpp"

#include "store/file.hpp"
#include "util/error.hpp"

#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/syslog_sink.h>

#include <fcntl.h>
#include <iostream>
#include <syslog.h>
#include <unistd.h>

namespace mw::cli {

struct RunLog::Impl {
  output::RunIdentity who;
  std::vector<Secret> secrets;
  std::string path;
  store::file::Fd file;
  std::shared_ptr<spdlog::sinks::syslog_sink_st> syslog;
  bool write_failed = false;

  void write(spdlog::level::level_enum level, const std::string& text)
  {
    if (file.get() >= 0 && !write_failed) {
      try {
        store::file::write_all(
            file.get(), output::file_line(std::chrono::system_clock::now(), ::getpid(), text),
            path);
      } catch (const Error& e) {
        // The run goes on (a full disk must not lose mail): said once on stderr.
        write_failed = true;
        std::cerr << "mailwrench: warning: " << e.what() << "\n";
      }
    }
    if (syslog) {
      syslog->log(spdlog::details::log_msg("mailwrench", level, text));
    }
  }
};

namespace {

// The secrets as text::redact() takes them, for one line: the copies are wiped afterwards.
struct Revealed {
  explicit Revealed(const std::vector<Secret>& secrets)
  {
    for (const auto& s : secrets) {
      values.push_back(s.reveal());
    }
  }
  ~Revealed()
  {
    for (auto& v : values) {
      wipe_string(v);
    }
  }
  Revealed(const Revealed&) = delete;
  Revealed& operator=(const Revealed&) = delete;
  std::vector<std::string> values;
};

// The warnings and errors of the run's logger, as failure lines.
class FailureSink : public spdlog::sinks::base_sink<spdlog::details::null_mutex> {
public:
  explicit FailureSink(RunLog& log) : m_log(log) {}

protected:
  void sink_it_(const spdlog::details::log_msg& msg) override
  {
    if (msg.level >= spdlog::level::warn) {
      m_log.failure(std::string_view(msg.payload.data(), msg.payload.size()),
                    msg.level == spdlog::level::warn);
    }
  }
  void flush_() override {}

private:
  RunLog& m_log;
};

}  // namespace

RunLog::RunLog(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
RunLog::~RunLog() = default;

std::unique_ptr<RunLog> RunLog::open(const Settings& settings)
{
  if (settings.log_file.empty() && !settings.syslog) {
    return nullptr;
  }
  auto impl = std::make_unique<Impl>();
  impl->who = {.command = settings.command,
               .account = settings.account,
               .user = settings.user,
               .host = settings.host,
               .port = settings.port};
  if (!settings.log_file.empty()) {
    impl->path = settings.log_file;
    // O_NONBLOCK: a FIFO planted at the path cannot hang the open (it is then refused as not
    // a regular file); it changes nothing for a regular file.
    impl->file = store::file::open_private(
        settings.log_file, O_WRONLY | O_APPEND | O_CREAT | O_NONBLOCK, 0600, "open the log file");
  }
  if (settings.syslog) {
    impl->syslog =
        std::make_shared<spdlog::sinks::syslog_sink_st>("mailwrench", LOG_PID, LOG_MAIL, false);
  }
  return std::unique_ptr<RunLog>(new RunLog(std::move(impl)));
}

std::shared_ptr<spdlog::sinks::sink> RunLog::failure_sink()
{
  auto sink = std::make_shared<FailureSink>(*this);
  sink->set_level(spdlog::level::warn);
  return sink;
}

void RunLog::hide(Secret secret)
{
  if (!secret.empty()) {
    m_impl->secrets.push_back(std::move(secret));
  }
}

void RunLog::failure(std::string_view message, bool warning)
{
  Revealed secrets(m_impl->secrets);
  m_impl->write(
      warning ? spdlog::level::warn : spdlog::level::err,
      output::failure_text(m_impl->who, warning ? "warning" : "error", message, secrets.values));
}

void RunLog::finished(int exit_code)
{
  Revealed secrets(m_impl->secrets);
  m_impl->write(spdlog::level::info,
                output::run_text(m_impl->who, exit_code, m_summary, secrets.values));
}

}  // namespace mw::cli
