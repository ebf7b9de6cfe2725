// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>
#include <string_view>

namespace mw::store {

// A file name made from arbitrary bytes (a UID, an account name): `[A-Za-z0-9._@+-]` kept, every
// other byte percent-encoded (`/` is `%2F`), a leading `.` encoded too, and names longer than 200
// characters cut and completed with a hash of the whole input, so distinct inputs stay distinct.
std::string safe_file_name(std::string_view text);

// A name unique across processes and hosts, as the Maildir specification asks:
// `<seconds>.M<usec>P<pid>Q<counter>.<host>`, the host's `/` and `:` written `\057` and `\072`.
// This host's name as unique_name() writes it (with '/' and ':' encoded).
const std::string& unique_host();

std::string unique_name();

}  // namespace mw::store
