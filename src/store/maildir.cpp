#include "store/file.hpp"
#include "store/names.hpp"
#include "store/sinks.hpp"

#include <cerrno>
#include <cstdio>
#include <fcntl.h>
#include <optional>
#include <unistd.h>

namespace mw::store::detail {

namespace {

constexpr mode_t k_dir_mode = 0700;
constexpr mode_t k_file_mode = 0600;
constexpr int k_name_attempts = 5;
constexpr long k_stale_tmp_seconds = 36 * 60 * 60; // the Maildir specification's limit

class MaildirSink;

// tmp/<unique> while it is written, new/<unique>,S=<octets> once committed.
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
  }

  std::unique_ptr<Delivery> begin(const MessageMeta&) override
  {
    return std::make_unique<MaildirDelivery>(*this, m_dir);
  }

  void sync() override
  {
    if (m_dirty) {
      file::sync_directory(m_dir + "/new");
      m_dirty = false;
    }
  }

  void committed() { m_dirty = true; }

private:
  std::string m_dir;
  bool m_dirty = false;
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
    m_file->sync(true);
    m_file->close();
    std::string unique = m_unique;
    for (int attempt = 0; attempt < k_name_attempts; ++attempt) {
      const std::string target = m_dir + "/new/" + unique + ",S=" + std::to_string(m_octets);
      if (rename_no_replace(m_tmp_path, target)) {
        m_file.reset();
        m_sink.committed();
        return target;
      }
      // A name taken already (a clock stepped back): never overwrite, pick another one.
      unique = unique_name();
    }
    file::fail("move into place", m_tmp_path, EEXIST);
  } catch (...) {
    abandon();
    throw;
  }
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
