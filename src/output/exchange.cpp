// SPDX-License-Identifier: Apache-2.0
#include "output/exchange.hpp"

#include "output/render.hpp"
#include "output/terminal_text.hpp"
#include "util/text.hpp"

#include <optional>
#include <sstream>
#include <string>

namespace mw::output {

namespace {

class PlainExchange : public Exchange {
public:
  explicit PlainExchange(std::ostream& out) : m_out(out), m_text(out) {}

  void status(bool ok, std::string_view line) override
  {
    m_ok = m_ok && ok;
    m_out << text::one_line(line) << '\n';
  }
  void data(std::string_view chunk) override
  {
    m_text.write(chunk);
    m_open_line = !chunk.empty() ? chunk.back() != '\n' : m_open_line;
  }
  void note(std::string_view, const nlohmann::json&, std::string_view plain) override
  {
    end_data();
    m_out << plain << '\n';
  }
  void attach(std::string_view, nlohmann::json,
              const std::function<void(std::ostream&)>& render) override
  {
    end_data();
    render(m_out);
  }
  void refused(std::string_view message) override
  {
    end_data();
    m_ok = false;
    m_out << "mailwrench: " << text::visible(message, {.tab = true}) << '\n';
  }
  void finish() override
  {
    end_data();
    m_out.flush();
  }
  bool ok() const override { return m_ok; }

private:
  void end_data()
  {
    m_text.finish();
    if (m_open_line) {
      m_out << '\n';
      m_open_line = false;
    }
  }

  std::ostream& m_out;
  TerminalText m_text;
  bool m_open_line = false;
  bool m_ok = true;
};

// The object is written as it is made, so that a RETR of any size is never held: the command,
// then "lines" one line at a time as they complete, then the rest (status, ok, what the tool
// adds). Each piece is a JSON value written by write_json.
class JsonExchange : public Exchange {
public:
  JsonExchange(std::ostream& out, std::string_view command, bool implicit)
      : m_out(out), m_head{{"command", command}}
  {
    if (implicit) {
      m_head["implicit"] = true;
    }
  }

  void status(bool ok, std::string_view line) override
  {
    m_ok = m_ok && ok;
    if (m_status) {
      // An earlier line of a multi-line SMTP reply.
      add_line(*m_status);
    }
    m_status = std::string(line);
  }
  void data(std::string_view chunk) override
  {
    start_lines();
    m_partial.append(chunk);
    std::size_t start = 0;
    for (std::size_t nl = m_partial.find('\n'); nl != std::string::npos;
         nl = m_partial.find('\n', start)) {
      add_line(std::string_view(m_partial).substr(start, nl - start));
      start = nl + 1;
    }
    m_partial.erase(0, start);
  }
  void note(std::string_view key, const nlohmann::json& value, std::string_view) override
  {
    m_tail[std::string(key)] = value;
  }
  void attach(std::string_view key, nlohmann::json value,
              const std::function<void(std::ostream&)>&) override
  {
    m_tail[std::string(key)] = std::move(value);
  }
  void refused(std::string_view message) override
  {
    m_ok = false;
    m_tail["message"] = std::string(message);
  }
  void finish() override
  {
    if (!m_partial.empty()) {
      add_line(m_partial);
      m_partial.clear();
    }
    if (m_status) {
      m_tail["status"] = *m_status;
    }
    m_tail["ok"] = m_ok;
    if (m_streaming) {
      m_out << "]";
    } else {
      m_out << object_start(m_head);
    }
    // The tail's members, after those written.
    const std::string tail = one_line(m_tail);
    m_out << "," << std::string_view(tail).substr(1) << "\n";
    m_out.flush();
  }
  bool ok() const override { return m_ok; }

private:
  // A value as write_json writes it, on one line, without the line end.
  static std::string one_line(const nlohmann::json& value)
  {
    std::ostringstream out;
    write_json(value, out, -1);
    std::string text = out.str();
    if (!text.empty() && text.back() == '\n') {
      text.pop_back();
    }
    return text;
  }
  // An object written so far: without its closing brace.
  static std::string object_start(const nlohmann::json& object)
  {
    std::string text = one_line(object);
    text.pop_back();
    return text;
  }
  void start_lines()
  {
    if (m_streaming) {
      return;
    }
    m_out << object_start(m_head) << ",\"lines\":[";
    m_streaming = true;
  }
  void add_line(std::string_view line)
  {
    start_lines();
    m_out << (m_first_line ? "" : ",") << one_line(nlohmann::json(std::string(line)));
    m_first_line = false;
  }

  std::ostream& m_out;
  nlohmann::json m_head;
  nlohmann::json m_tail = nlohmann::json::object();
  std::optional<std::string> m_status;
  std::string m_partial;
  bool m_streaming = false;
  bool m_first_line = true;
  bool m_ok = true;
};

}  // namespace

std::unique_ptr<Exchange> plain_exchange(std::ostream& out)
{
  return std::make_unique<PlainExchange>(out);
}

std::unique_ptr<Exchange> json_exchange(std::ostream& out, std::string_view command, bool implicit)
{
  return std::make_unique<JsonExchange>(out, command, implicit);
}

}  // namespace mw::output
