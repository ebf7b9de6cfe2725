#include "store/file.hpp"
#include "store/names.hpp"
#include "store/sinks.hpp"

#include <cerrno>
#include <cstdio>
#include <fcntl.h>
#include <optional>
#include <unistd.h>
#include <vector>

namespace mw::store::detail {

namespace {

constexpr mode_t k_dir_mode = 0700;
constexpr mode_t k_file_mode = 0600;
constexpr int k_name_attempts = 5;
constexpr long k_stale_tmp_seconds = 36 * 60 * 60; // the Maildir specification's limit

class MaildirSink;

// new/<unique>,S=<octets>: the size in the name spares readers a stat (as Dovecot writes it).
std::string target_for(const std::string& dir, const std::string& unique, std::uint64_t octets)
{
  return dir + "/new/" + unique + ",S=" + std::to_string(octets);
}

// tmp/<unique> while it is written; new/<unique>,S=<octets> once committed and synced.
class MaildirDelivery final : public Delivery {
public:
  MaildirDelivery(MaildirSink& sink, const std::string& dir);
  MaildirDelivery(const MaildirDelivery&) = delete;
  MaildirDelivery& operator=(const MaildirDelivery&) = delete;
  ~MaildirDelivery() override { abandon(); }

  void write(std::string_view data) override;
  std::string commit() override;

private:
  void abandon() noexcept;

  MaildirSink& m_sink;
  std::string m_dir;
  std::string m_unique;
  std::string m_tmp_path;
  std::optional<file::OutFile> m_file;
  std::uint64_t m_octets = 0;
};

class MaildirSink final : public Sink {
public:
  explicit MaildirSink(std::string dir) : m_dir(std::move(dir))
  {
    file::make_directories(m_dir, k_dir_mode);
    for (const char* sub : {"/tmp", "/new", "/cur"}) {
      file::make_directories(m_dir + sub, k_dir_mode);
    }
    file::remove_stale_files(m_dir + "/tmp", "", k_stale_tmp_seconds);
    file::remove_orphans(m_dir + "/tmp", unique_host());
  }

  std::unique_ptr<Delivery> begin(const MessageMeta&) override
  {
    return std::make_unique<MaildirDelivery>(*this, m_dir);
  }

  MaildirSink(const MaildirSink&) = delete;
  MaildirSink& operator=(const MaildirSink&) = delete;

  // Messages committed but never synced were not delivered: they go, as an aborted one would.
  ~MaildirSink() override
  {
    for (const auto& p : m_pending) {
      file::remove_quietly(p.tmp_path);
    }
  }

  // Durability in batches, as safe as a sync per message: first every pending file's data is
  // on disk (one syncfs for the batch instead of one fsync per file), then the files move
  // into new/, then new/ itself is synced. A message is visible only once its bytes are safe.
  void sync(const Visible& visible) override
  {
    if (m_pending.empty()) {
      return;
    }
    sync_pending_data();
    // Each message is reported right after its rename, so that a kill between two renames
    // leaves at most one message visible but unrecorded.
    auto pending = std::move(m_pending);
    m_pending.clear();
    for (std::size_t i = 0; i < pending.size(); ++i) {
      try {
        move_into_new(pending[i]);
      } catch (...) {
        for (std::size_t j = i; j < pending.size(); ++j) {
          file::remove_quietly(pending[j].tmp_path);
        }
        throw;
      }
      if (visible) {
        visible(i, pending[i].target);
      }
    }
    file::sync_directory(m_dir + "/new");
  }

  std::size_t batch() const override { return 128; }

  void committed(std::string tmp_path, std::string target, std::uint64_t octets)
  {
    m_pending.push_back({std::move(tmp_path), std::move(target), octets});
  }

private:
  struct Pending {
    std::string tmp_path;
    std::string target;
    std::uint64_t octets;
  };

  // The rename never replaces a file: a name already taken (a clock stepped back) gets
  // another unique name instead.
  void move_into_new(Pending& p)
  {
    for (int attempt = 0; attempt < k_name_attempts; ++attempt) {
      if (rename_no_replace(p.tmp_path, p.target)) {
        return;
      }
      p.target = target_for(m_dir, unique_name(), p.octets);
    }
    file::fail("move into place", p.target, EEXIST);
  }

  void sync_pending_data()
  {
    int fd = ::open((m_dir + "/tmp").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
      file::Fd owner(fd);
      if (::syncfs(fd) == 0) {
        return;
      }
    }
    // No syncfs (or it failed): one fsync per file, the slow and sure way.
    for (const auto& p : m_pending) {
      file::OutFile reopened(p.tmp_path, 0, k_file_mode);
      reopened.sync(true);
    }
  }

  std::string m_dir;
  std::vector<Pending> m_pending;
};

MaildirDelivery::MaildirDelivery(MaildirSink& sink, const std::string& dir)
    : m_sink(sink), m_dir(dir), m_unique(unique_name()), m_tmp_path(dir + "/tmp/" + m_unique)
{
  m_file.emplace(m_tmp_path, O_CREAT | O_EXCL, k_file_mode);
}

void MaildirDelivery::write(std::string_view data)
{
  if (!m_file) {
    throw Error(ExitCode::software, "internal error: write to a finished Maildir delivery");
  }
  try {
    m_file->write(data);
    m_octets += data.size();
  } catch (...) {
    abandon();
    throw;
  }
}

std::string MaildirDelivery::commit()
{
  if (!m_file) {
    throw Error(ExitCode::software, "internal error: commit of a finished Maildir delivery");
  }
  try {
    m_file->close();
    m_file.reset();
  } catch (...) {
    abandon();
    throw;
  }
  // The name it is meant to have; sync() moves it there (or, if that name was taken
  // meanwhile, to another one that it reports).
  std::string target = target_for(m_dir, m_unique, m_octets);
  m_sink.committed(m_tmp_path, target, m_octets);
  return target;
}

void MaildirDelivery::abandon() noexcept
{
  if (m_file) {
    m_file.reset();
    file::remove_quietly(m_tmp_path);
  }
}

} // namespace

std::unique_ptr<Sink> open_maildir(const std::string& dir)
{
  return std::make_unique<MaildirSink>(dir);
}

bool rename_no_replace(const std::string& from, const std::string& to)
{
#ifdef RENAME_NOREPLACE
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) {
    return true;
  }
  if (errno == EEXIST) {
    return false;
  }
  if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP) {
    file::fail("rename " + from + " to", to, errno);
  }
#endif
  // The Maildir specification's own way: link(2) fails rather than replace.
  if (::link(from.c_str(), to.c_str()) == 0) {
    file::remove_quietly(from);
    return true;
  }
  if (errno == EEXIST) {
    return false;
  }
  file::fail("link " + from + " to", to, errno);
}

void rename_replace(const std::string& from, const std::string& to)
{
  if (::rename(from.c_str(), to.c_str()) != 0) {
    file::fail("rename " + from + " to", to, errno);
  }
}

} // namespace mw::store::detail
