// SPDX-License-Identifier: Apache-2.0
#include "store/sink.hpp"

#include "store/mda.hpp"
#include "store/sinks.hpp"
#include "util/error.hpp"

#include <cstdlib>
#include <sys/stat.h>

namespace mw::store {

namespace {

constexpr std::string_view k_forms =
    "expected maildir:DIR, mbox:FILE, dir:DIR, mda:COMMAND or - (standard output); a bare path is "
    "taken only "
    "for an existing Maildir (a directory with cur/, new/ and tmp/)";

// "~" and "~/..." written after a prefix such as "maildir:" are not expanded by the shell.
std::string expand_home(std::string_view path)
{
  if (path == "~" || path.substr(0, 2) == "~/") {
    const char* home = std::getenv("HOME");
    if (home != nullptr && *home != '\0') {
      return std::string(home) + std::string(path.substr(1));
    }
  }
  return std::string(path);
}

bool is_directory(const std::string& path)
{
  struct stat info {};
  return ::stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode);
}

bool is_maildir(const std::string& path)
{
  return is_directory(path + "/cur") && is_directory(path + "/new") && is_directory(path + "/tmp");
}

// Raw bytes to a stream; nothing can be taken back, so an abandoned message stays half written.
// A write that fails is an Error 74 before the message counts as stored (so it is not deleted).
class StreamDelivery final : public Delivery {
public:
  StreamDelivery(std::ostream& out, detail::Unsynced& unsynced) : m_out(out), m_unsynced(unsynced)
  {
  }

  void write(std::string_view data) override
  {
    m_out.write(data.data(), static_cast<std::streamsize>(data.size()));
    check();
  }

  std::string commit() override
  {
    m_out.flush();
    check();
    m_unsynced.add("-");
    return "-";
  }

private:
  void check()
  {
    if (!m_out) {
      throw Error(ExitCode::io, "cannot write to standard output");
    }
  }

  std::ostream& m_out;
  detail::Unsynced& m_unsynced;
};

class StreamSink final : public Sink {
public:
  // A stream that is bad already (cli::run marks std::cout so when descriptor 1 was closed at
  // start-up) is refused: a message written nowhere must not count as stored.
  explicit StreamSink(std::ostream& out) : m_out(out)
  {
    if (!m_out) {
      throw Error(ExitCode::io, "standard output is closed or unusable, so --output - has nowhere "
                                "to write; nothing was fetched");
    }
  }

  std::unique_ptr<Delivery> begin(const mailbox::Message&) override
  {
    return std::make_unique<StreamDelivery>(m_out, m_unsynced);
  }

  void sync(const Visible& visible) override
  {
    if (m_unsynced.empty()) {
      return;  // nothing to flush (and a failed write was reported already)
    }
    m_out.flush();
    if (!m_out) {
      throw Error(ExitCode::io, "cannot write to standard output");
    }
    m_unsynced.report(visible);
  }

private:
  std::ostream& m_out;
  detail::Unsynced m_unsynced;
};

}  // namespace

OutputSpec parse_output(std::string_view text)
{
  if (text == "-") {
    return {OutputSpec::Kind::standard_output, ""};
  }
  if (text.substr(0, 4) == "mda:") {
    // The command as written: sh(1) expands what it should ("~" included).
    const std::string_view command = text.substr(4);
    if (command.find_first_not_of(" \t") == std::string_view::npos) {
      throw UsageError("--output " + std::string(text) + ": the command is missing; " +
                       std::string(k_forms));
    }
    check_mda_command(command);
    return {OutputSpec::Kind::mda, std::string(command)};
  }
  struct Prefix {
    std::string_view name;
    OutputSpec::Kind kind;
  };
  static constexpr Prefix k_prefixes[] = {{"maildir:", OutputSpec::Kind::maildir},
                                          {"mbox:", OutputSpec::Kind::mbox},
                                          {"dir:", OutputSpec::Kind::dir}};
  for (const Prefix& prefix : k_prefixes) {
    if (text.substr(0, prefix.name.size()) == prefix.name) {
      const std::string_view path = text.substr(prefix.name.size());
      if (path.empty()) {
        throw UsageError("--output " + std::string(text) + ": the path is missing; " +
                         std::string(k_forms));
      }
      return {prefix.kind, expand_home(path)};
    }
  }
  if (!text.empty()) {
    std::string path = expand_home(text);
    if (is_maildir(path)) {
      return {OutputSpec::Kind::maildir, std::move(path)};
    }
  }
  throw UsageError("--output '" + std::string(text) + "': " + std::string(k_forms));
}

std::unique_ptr<Sink> open_sink(const OutputSpec& spec, LineEnding ending, std::ostream& out)
{
  switch (spec.kind) {
  case OutputSpec::Kind::maildir: return detail::open_maildir(spec.path);
  case OutputSpec::Kind::mbox: return detail::open_mbox(spec.path, ending);
  case OutputSpec::Kind::dir: return detail::open_dir(spec.path);
  case OutputSpec::Kind::standard_output: return std::make_unique<StreamSink>(out);
  case OutputSpec::Kind::mda: break;  // open_mda() takes what only the command knows
  }
  throw Error(ExitCode::software, "internal error: unknown output kind");
}

}  // namespace mw::store
