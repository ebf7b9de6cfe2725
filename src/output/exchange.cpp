#include "output/exchange.hpp"

#include "output/render.hpp"
#include "output/terminal_text.hpp"
#include "util/text.hpp"

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

class JsonExchange : public Exchange {
public:
  JsonExchange(std::ostream& out, std::string_view command, bool implicit)
      : m_out(out), m_object{{"command", command}, {"ok", true}}
  {
    if (implicit) {
      m_object["implicit"] = true;
    }
  }

  void status(bool ok, std::string_view line) override
  {
    m_ok = m_ok && ok;
    if (m_object.contains("status")) {
      // An earlier line of a multi-line SMTP reply.
      lines().push_back(m_object["status"]);
    }
    m_object["status"] = std::string(line);
  }
  void data(std::string_view chunk) override
  {
    lines();
    m_partial.append(chunk);
    std::size_t start = 0;
    for (std::size_t nl = m_partial.find('\n'); nl != std::string::npos;
         nl = m_partial.find('\n', start)) {
      lines().push_back(m_partial.substr(start, nl - start));
      start = nl + 1;
    }
    m_partial.erase(0, start);
  }
  void note(std::string_view key, const nlohmann::json& value, std::string_view) override
  {
    m_object[std::string(key)] = value;
  }
  void attach(std::string_view key, nlohmann::json value,
              const std::function<void(std::ostream&)>&) override
  {
    m_object[std::string(key)] = std::move(value);
  }
  void refused(std::string_view message) override
  {
    m_ok = false;
    m_object["message"] = std::string(message);
  }
  void finish() override
  {
    if (!m_partial.empty()) {
      lines().push_back(m_partial);
      m_partial.clear();
    }
    m_object["ok"] = m_ok;
    write_json(m_object, m_out, -1);
    m_out.flush();
  }
  bool ok() const override { return m_ok; }

private:
  nlohmann::json& lines()
  {
    if (!m_object.contains("lines")) {
      m_object["lines"] = nlohmann::json::array();
    }
    return m_object["lines"];
  }

  std::ostream& m_out;
  nlohmann::json m_object;
  std::string m_partial;
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
