// SPDX-License-Identifier: Apache-2.0
#include "store/file.hpp"
#include "store/names.hpp"
#include "store/sinks.hpp"

#include <fcntl.h>
#include <optional>

namespace mw::store::detail {

namespace {

constexpr mode_t k_dir_mode = 0700;
constexpr mode_t k_file_mode = 0600;
constexpr long k_stale_tmp_seconds = 36 * 60 * 60;  // as the Maildir specification allows
// UIDs repeat (two accounts archived to one folder, a server that reuses one): the copies of
// different messages with one UID are named UID.eml, UID~2.eml, ... up to this many.
constexpr int k_max_copies = 1000;

class DirSink;

// DIR/.tmp-<unique> while it is written, then moved to DIR/<name>.eml, never over an existing file:
// a file with the same bytes is this message already, a file with other bytes is another message
// and the copy takes the next free name <name>~2.eml, <name>~3.eml, ...
class DirDelivery final : public Delivery {
public:
  DirDelivery(DirSink& sink, const std::string& dir, const mailbox::Message& message);
  ~DirDelivery() override { abandon(); }

  void write(std::string_view data) override;
  std::string commit() override;

private:
  void abandon() noexcept;

  DirSink& m_sink;
  std::string m_tmp_path;
  std::string m_final_stem;  // DIR/<name>, without ".eml"
  std::optional<file::OutFile> m_file;
};

class DirSink final : public Sink {
public:
  explicit DirSink(std::string dir) : m_dir(std::move(dir))
  {
    file::make_directories(m_dir, k_dir_mode);
    file::remove_stale_files(m_dir, ".tmp-", k_stale_tmp_seconds);
  }

  std::unique_ptr<Delivery> begin(const mailbox::Message& message) override
  {
    return std::make_unique<DirDelivery>(*this, m_dir, message);
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

std::string file_stem_for(const mailbox::Message& message, const std::string& unique)
{
  if (message.uid.empty()) {
    return "msg-" + std::to_string(message.number) + "-" + safe_file_name(unique);
  }
  return safe_file_name(message.uid);
}

DirDelivery::DirDelivery(DirSink& sink, const std::string& dir, const mailbox::Message& message)
    : m_sink(sink)
{
  const std::string unique = unique_name();
  m_tmp_path = dir + "/.tmp-" + safe_file_name(unique);
  m_final_stem = dir + "/" + file_stem_for(message, unique);
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
    // safe_file_name() escapes '~', so "~2" never collides with another UID's name.
    for (int copy = 1; copy <= k_max_copies; ++copy) {
      std::string path = m_final_stem + (copy == 1 ? "" : "~" + std::to_string(copy)) + ".eml";
      if (rename_no_replace(m_tmp_path, path)) {
        m_file.reset();
        m_sink.committed(path);
        return path;
      }
      if (file::same_bytes(m_tmp_path, path)) {
        // Stored before (a refetch): that copy is this message; make sure it is on disk.
        file::sync_file(path);
        m_file.reset();
        file::remove_quietly(m_tmp_path);
        m_sink.committed(path);
        return path;
      }
    }
    throw Error(ExitCode::cant_create, "cannot store message " + m_final_stem +
                                           ".eml: " + std::to_string(k_max_copies) +
                                           " different messages have that name already");
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

}  // namespace

std::unique_ptr<Sink> open_dir(const std::string& dir)
{
  return std::make_unique<DirSink>(dir);
}

}  // namespace mw::store::detail
