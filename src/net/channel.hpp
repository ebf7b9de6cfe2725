// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "net/stream.hpp"
#include "util/pace.hpp"

#include <cstddef>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace mw::net {

// Receives each protocol line for the -v transcript: direction '>' (sent) or '<' (received).
using Transcript = std::function<void(char direction, std::string_view line)>;

// The client end of a line protocol (POP3, SMTP) over a Stream: a read buffer that the sans-IO
// parsers consume from, whole writes, the transcript of what is sent (redacted where asked) and
// the pace guard against trickling servers. Pure: it only calls the Stream interface.
class Channel {
public:
  Channel(Stream& stream, Transcript transcript, std::size_t buffer_size);

  // Sends one command line (with CRLF); the transcript shows `shown` instead, if given, so
  // that a password never reaches it.
  void send(std::string_view line, std::string_view shown = {});

  // Sends bytes as they are (a batch of commands, message data); no transcript.
  void write(std::string_view data) { m_stream.write(data); }

  // Until called again, replaces these secrets by "<redacted>" in the transcript of what the
  // server says (a server may echo a password in an error reply).
  void hide(std::vector<std::string> secrets) { m_hidden = std::move(secrets); }

  // Adds a line to the transcript, if there is one.
  void note(char direction, std::string_view line) const;
  bool transcribing() const { return static_cast<bool>(m_transcript); }

  // The bytes received and not consumed yet.
  std::string_view buffered() const { return {m_buffer.data() + m_begin, m_end - m_begin}; }
  void consume(std::size_t n) { m_begin += n; }

  // The whole read buffer, so that a reader may rewrite bytes it has consumed in place (see
  // pop3::Client::read_reply); fill() may move or overwrite them.
  std::span<char> storage() { return m_buffer; }

  // Reads at least one more byte; throws Error 74 when the server closed the connection.
  void fill();

  // Runs `before` each time fill() is about to read (and perhaps wait for) the server: e.g.
  // flushing rows already written, so that a reader sees them while the server is slow.
  void before_fill(std::function<void()> before) { m_before_fill = std::move(before); }

  // True when nothing beyond what was consumed has arrived: no byte buffered, and none
  // waiting in the stream (read into the buffer, without waiting, if there are).
  bool quiet();

  Pace& pace() { return m_pace; }
  Stream& stream() { return m_stream; }

private:
  Stream& m_stream;
  Transcript m_transcript;
  std::vector<char> m_buffer;
  std::size_t m_begin = 0;
  std::size_t m_end = 0;
  Pace m_pace;
  std::vector<std::string> m_hidden;
  std::function<void()> m_before_fill;
};

}  // namespace mw::net
