// SPDX-License-Identifier: Apache-2.0
// Fuzzes the message preview (mail::preview) with the input as a message prefix, complete or
// cut: it never crashes, and it keeps its bounds.

#include "mail/preview.hpp"

#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  for (const bool complete : {true, false}) {
    const auto p = mw::mail::preview(mw::fuzz::view(data, size), 20, complete);
    mw::fuzz::check(p.lines.size() <= 20, "more lines than asked for");
    for (const auto& line : p.lines) {
      mw::fuzz::check(line.size() <= mw::mail::k_preview_line, "a line over the limit", line);
    }
  }
  return 0;
}
