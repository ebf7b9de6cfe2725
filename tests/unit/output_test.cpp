// SPDX-License-Identifier: Apache-2.0
#include "output/render.hpp"

#include <catch2/catch.hpp>

#include <sstream>

using namespace mw;
using namespace mw::output;

TEST_CASE("human sizes", "[output]")
{
  CHECK(human_size(0) == "0 B");
  CHECK(human_size(1023) == "1023 B");
  CHECK(human_size(1024) == "1.0 KiB");
  CHECK(human_size(1536) == "1.5 KiB");
  CHECK(human_size(200 * 1024) == "200 KiB");
  CHECK(human_size(5ULL * 1024 * 1024 * 1024) == "5.0 GiB");
}

TEST_CASE("stat: plain and JSON", "[output]")
{
  std::ostringstream plain;
  render_plain(StatResult{2, 320}, plain, {});
  CHECK(plain.str() == "2 messages, 320 octets\n");
  CHECK(to_json(StatResult{1, 5}) == nlohmann::json{{"messages", 1}, {"octets", 5}});
}

TEST_CASE("list: tab-separated for pipes, JSON schema", "[output]")
{
  ListResult result;
  result.headers = true;
  mailbox::Message row;
  row.number = 3;
  row.octets = 1200;
  row.uid = "abc";
  row.from = "Jürgen <j@x>";
  row.subject = "Hi\tthere";
  row.date = std::chrono::sys_seconds(std::chrono::seconds(1700000000));
  result.messages.push_back(row);
  mailbox::Message bare;
  bare.number = 4;
  bare.octets = 10;
  result.messages.push_back(bare);

  std::ostringstream plain;
  render_plain(result, plain, {false, 100});
  CHECK(plain.str() == "3\t1200\tabc\t2023-11-14T22:13:20Z\tJürgen <j@x>\tHi there\n"
                       "4\t10\t-\t\t\t\n");

  auto json = to_json(result);
  CHECK(json["count"] == 2);
  CHECK(json["octets"] == 1210);
  CHECK(json["messages"][0]["uid"] == "abc");
  CHECK(json["messages"][0]["date"] == "2023-11-14T22:13:20Z");
  CHECK(json["messages"][1]["uid"].is_null());
  CHECK(json["messages"][1]["date"].is_null());

  result.headers = false;
  auto no_headers = to_json(result);
  CHECK_FALSE(no_headers["messages"][0].contains("from"));
}

TEST_CASE("JSON with invalid UTF-8 is still one valid document", "[output]")
{
  ListResult result;
  result.headers = true;
  mailbox::Message row;
  row.number = 1;
  row.subject = "bad \xff\xfe bytes";
  result.messages.push_back(row);
  std::ostringstream out;
  write_json(to_json(result), out);
  auto parsed = nlohmann::json::parse(out.str());
  CHECK(parsed["messages"][0]["subject"].get<std::string>().find("bad") == 0);
}

TEST_CASE("error document", "[output]")
{
  auto doc = error_json(ExitCode::permission, "authentication failed");
  CHECK(doc["error"]["kind"] == "permission");
  CHECK(doc["error"]["exit_code"] == 77);
  CHECK(doc["error"]["message"] == "authentication failed");
}

TEST_CASE("fetch and purge documents", "[output]")
{
  FetchResult fetch;
  fetch.output = "maildir:/m";
  fetch.stored.push_back({1, "u1", 100, "/m/new/x", ""});
  fetch.count = 1;
  fetch.octets = 100;
  fetch.skipped.push_back({2, "u2", 5000, "", "larger than --max-size 1.0 KiB"});
  auto json = to_json(fetch);
  CHECK(json["count"] == 1);
  CHECK(json["stored"][0]["path"] == "/m/new/x");
  CHECK(json["skipped"][0]["reason"] == "larger than --max-size 1.0 KiB");
  std::ostringstream plain;
  fetch.seconds = 0.5;
  render_plain(fetch, plain);
  CHECK(plain.str() == "skipped message 2 (UID u2, 4.9 KiB): larger than --max-size 1.0 KiB\n"
                       "stored 1 message (100 B) in 0.50 s, skipped 1\n");

  mailbox::Message row;
  row.number = 7;
  row.octets = 9;
  auto purge = to_json(std::vector<mailbox::Message>{row}, true);
  CHECK(purge["dry_run"] == true);
  CHECK(purge["would_delete"][0]["number"] == 7);
  CHECK_FALSE(purge.contains("deleted"));
}

namespace {

std::vector<mailbox::Message> numbered_rows(std::uint64_t count)
{
  std::vector<mailbox::Message> rows;
  for (std::uint64_t n = 1; n <= count; ++n) {
    mailbox::Message m;
    m.number = n;
    m.octets = 2000 + n;
    m.uid = "uid-" + std::to_string(n);
    m.has_headers = true;
    m.from = "Sender <s" + std::to_string(n % 7) + "@example.org>";
    m.subject = "message " + std::to_string(n) + " with a subject long enough to be cut short";
    rows.push_back(m);
  }
  return rows;
}

}  // namespace

TEST_CASE("ListWriter: the streamed JSON document is the document to_json makes", "[output]")
{
  for (std::uint64_t count : {0u, 1u, 3u}) {
    auto rows = numbered_rows(count);
    std::ostringstream streamed;
    ListWriter writer(streamed, ListWriter::Kind::json, {}, true, false);
    for (const auto& m : rows) {
      writer.add(m);
    }
    writer.finish();
    CHECK(nlohmann::json::parse(streamed.str()) == to_json(ListResult{rows, true, false}));
    // Indented as write_json indents, "messages" first (as the man page shows it).
    CHECK(streamed.str().rfind("{\n  \"messages\": [", 0) == 0);
    CHECK(streamed.str().back() == '\n');
  }
}

TEST_CASE("ListWriter: a JSON document cut short by a failure ends its line", "[output]")
{
  std::ostringstream out;
  {
    ListWriter writer(out, ListWriter::Kind::json, {}, false, false);
    writer.add(numbered_rows(1)[0]);
  }
  CHECK(out.str().back() == '\n');
  CHECK_THROWS(nlohmann::json::parse(out.str()));
}

TEST_CASE("ListWriter: a terminal table past its laid-out rows never wraps", "[output]")
{
  const PlainStyle style{true, 100};
  auto rows = numbered_rows(ListWriter::k_layout_rows + 12000);
  std::ostringstream out;
  ListWriter writer(out, ListWriter::Kind::plain, style, true, false);
  for (const auto& m : rows) {
    writer.add(m);
  }
  writer.finish();
  std::istringstream lines(out.str());
  std::string line;
  std::size_t count = 0;
  std::size_t widest = 0;
  while (std::getline(lines, line)) {
    ++count;
    std::size_t columns = 0;
    for (char c : line) {
      columns += (static_cast<unsigned char>(c) & 0xC0) != 0x80 ? 1 : 0;
    }
    widest = std::max(widest, columns);
  }
  CHECK(count == rows.size() + 2);  // the heading and the total line
  CHECK(widest <= style.width);
  CHECK(out.str().find("\n14000  ") != std::string::npos);
}

TEST_CASE("ListWriter: a pipe gets the lines render_plain writes, as they come", "[output]")
{
  auto rows = numbered_rows(3);
  std::ostringstream whole;
  render_plain(ListResult{rows, true, false}, whole, {});
  std::ostringstream streamed;
  ListWriter writer(streamed, ListWriter::Kind::plain, {}, true, false);
  writer.add(rows[0]);
  CHECK(streamed.str() == whole.str().substr(0, whole.str().find('\n') + 1));
  writer.add(rows[1]);
  writer.add(rows[2]);
  writer.finish();
  CHECK(streamed.str() == whole.str());
}
