#include "store/file.hpp"
#include "store/names.hpp"
#include "store/sinks.hpp"

#include <fcntl.h>
#include <optional>

namespace mw::store::detail {

namespace {

constexpr mode_t k_dir_mode = 0700;
constexpr mode_t k_file_mode = 0600;
constexpr long k_stale_tmp_seconds = 36 * 60 * 60; // as the Maildir specification allows

class DirSink;

// DIR/.tmp-<unique> while it is written, renamed over DIR/<name>.eml once committed.
class DirDelivery final : public Delivery {
public:
  DirDelivery(DirSink& sink, const std::string& dir, const MessageMeta& meta);
  DirDelivery(const DirDelivery&) = delete;
  DirDelivery& operator=(const DirDelivery&) = delete;
  ~DirDelivery() override { abandon(); }

  void write(std::string_view data) override;
  std::string commit() override;

private:
  void abandon() noexcept;

  DirSink& m_sink;
  std::string m_tmp_path;
  std::string m_final_path;
  std::optional<file::OutFile> m_file;
};

class DirSink final : public Sink {
public:
  explicit DirSink(std::string dir) : m_dir(std::move(dir))
  {
    file::make_directories(m_dir, k_dir_mode);
    file::remove_stale_files(m_dir, ".tmp-", k_stale_tmp_seconds);
  }

  std::unique_ptr<Delivery> begin(const MessageMeta& meta) override
  {
    return std::make_unique<DirDelivery>(*this, m_dir, meta);
  }

  void sync(const Visible& visible) override
  {
    if (!m_unsynced.empty()) {
      file::sync_directory(m_dir);
    }
    m_unsynced.report(visible);
  }

  void committed(const std::string& path) { m_unsynced.add(path); }

private:
  std::string m_dir;
  Unsynced m_unsynced;
};

std::string file_name_for(const MessageMeta& meta, const std::string& unique)
{
  if (meta.uid.empty()) {
    return "msg-" + std::to_string(meta.number) + "-" + safe_file_name(unique) + ".eml";
  }
  return safe_file_name(meta.uid) + ".eml";
}

DirDelivery::DirDelivery(DirSink& sink, const std::string& dir, const MessageMeta& meta)
    : m_sink(sink)
{
  const std::string unique = unique_name();
  m_tmp_path = dir + "/.tmp-" + safe_file_name(unique);
  m_final_path = dir + "/" + file_name_for(meta, unique);
  m_file.emplace(m_tmp_path, O_CREAT | O_EXCL, k_file_mode);
}

void DirDelivery::write(std::string_view data)
{
  if (!m_file) {
    throw Error(ExitCode::software, "internal error: write to a finished delivery");
  }
  try {
    m_file->write(data);
  } catch (...) {
    abandon();
    throw;
  }
}

std::string DirDelivery::commit()
{
  if (!m_file) {
    throw Error(ExitCode::software, "internal error: commit of a finished delivery");
  }
  try {
    m_file->sync(true);
    m_file->close();
    // A refetch of the same UID replaces the earlier copy atomically.
    rename_replace(m_tmp_path, m_final_path);
    m_file.reset();
    m_sink.committed(m_final_path);
    return m_final_path;
  } catch (...) {
    abandon();
    throw;
  }
}

void DirDelivery::abandon() noexcept
{
  if (m_file) {
    m_file.reset();
    file::remove_quietly(m_tmp_path);
  }
}

} // namespace

std::unique_ptr<Sink> open_dir(const std::string& dir)
{
  return std::make_unique<DirSink>(dir);
}

} // namespace mw::store::detail
