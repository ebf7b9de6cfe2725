// SPDX-License-Identifier: Apache-2.0
// send --dry-run's two renderings of the message it would send (output::SendPreview).
#include "output/render.hpp"

#include <catch2/catch.hpp>

#include <sstream>

using namespace mw::output;

namespace {

SendPreview preview()
{
  SendPreview p;
  p.message_id = "<abc@example.org>";
  p.from = "alice@example.org";
  p.recipients = {"bob@example.org", "carol@example.org"};
  p.message = "From: alice@example.org\r\nSubject: hi\r\n\r\nline\rbare CR\nbare LF\r\n";
  return p;
}

}  // namespace

TEST_CASE("send --dry-run JSON: the envelope and the message, no outcomes", "[output]")
{
  std::ostringstream out;
  write_json(to_json(preview()), out);
  // The document send --dry-run --json has always written, byte for byte (keys sorted).
  CHECK(out.str() ==
        "{\n"
        "  \"dry_run\": true,\n"
        "  \"from\": \"alice@example.org\",\n"
        "  \"message\": \"From: alice@example.org\\r\\nSubject: hi\\r\\n\\r\\nline\\rbare "
        "CR\\nbare LF\\r\\n\",\n"
        "  \"message_id\": \"<abc@example.org>\",\n"
        "  \"recipients\": [\n"
        "    \"bob@example.org\",\n"
        "    \"carol@example.org\"\n"
        "  ]\n"
        "}\n");
}

TEST_CASE("send --dry-run plain: CRLF shown as LF, lone CR and LF kept", "[output]")
{
  std::ostringstream out;
  render_plain(preview(), out);
  CHECK(out.str() == "From: alice@example.org\nSubject: hi\n\nline\rbare CR\nbare LF\n");

  SendPreview trailing;
  trailing.message = "a\r\n\r";
  std::ostringstream last;
  render_plain(trailing, last);
  CHECK(last.str() == "a\n\r");
}
