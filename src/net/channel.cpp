// SPDX-License-Identifier: Apache-2.0
#include "net/channel.hpp"

#include "util/error.hpp"
#include "util/text.hpp"

#include <algorithm>

namespace mw::net {

Channel::Channel(Stream& stream, Transcript transcript, std::size_t buffer_size)
    : m_stream(stream), m_transcript(std::move(transcript)), m_buffer(buffer_size)
{
}

void Channel::send(std::string_view line, std::string_view shown)
{
  if (m_transcript) {
    auto text = shown.empty() ? line : shown;
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) {
      text.remove_suffix(1);
    }
    m_transcript('>', text);
  }
  m_stream.write(line);
}

void Channel::note(char direction, std::string_view line) const
{
  if (m_transcript) {
    if (m_hidden.empty()) {
      m_transcript(direction, line);
    } else {
      m_transcript(direction, text::redact(std::string(line), m_hidden));
    }
  }
}

bool Channel::quiet()
{
  if (m_begin != m_end) {
    return false;
  }
  m_begin = m_end = 0;
  m_end = m_stream.read_arrived(std::span<char>(m_buffer.data(), m_buffer.size()));
  return m_end == 0;
}

void Channel::fill()
{
  if (m_begin == m_end) {
    m_begin = m_end = 0;
  }
  if (m_end == m_buffer.size()) {
    std::copy(m_buffer.begin() + static_cast<std::ptrdiff_t>(m_begin),
              m_buffer.begin() + static_cast<std::ptrdiff_t>(m_end), m_buffer.begin());
    m_end -= m_begin;
    m_begin = 0;
  }
  if (m_before_fill) {
    m_before_fill();
  }
  auto n = m_stream.read_some(std::span<char>(m_buffer.data() + m_end, m_buffer.size() - m_end));
  if (n == 0) {
    throw Error(ExitCode::io, "the server closed the connection unexpectedly");
  }
  m_end += n;
  m_pace.received(n);
}

}  // namespace mw::net
