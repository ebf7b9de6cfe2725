// SPDX-License-Identifier: Apache-2.0
#include "sasl/mechanism.hpp"

#include "sasl/mechanisms.hpp"
#include "sasl/scram.hpp"
#include "util/base64.hpp"
#include "util/text.hpp"

#include <algorithm>
#include <array>

namespace mw::sasl {

namespace {

using text::iequals;

// One row per mechanism, strongest first: supported(), is_oauth() and make() read it.
struct Row {
  std::string_view name;
  bool oauth;
  std::unique_ptr<Mechanism> (*make)(const Credentials& credentials, std::string nonce);
};

template <std::unique_ptr<Mechanism> (*Make)(Credentials)>
std::unique_ptr<Mechanism> without_nonce(const Credentials& credentials, std::string /*nonce*/)
{
  return Make(credentials);
}

std::unique_ptr<Mechanism> scram_sha256(const Credentials& credentials, std::string nonce)
{
  return std::make_unique<ScramSha256>(credentials, std::move(nonce));
}

constexpr std::array<Row, 6> k_rows = {{
    {"SCRAM-SHA-256", false, scram_sha256},
    {"CRAM-MD5", false, without_nonce<make_cram_md5>},
    {"PLAIN", false, without_nonce<make_plain>},
    {"LOGIN", false, without_nonce<make_login>},
    {"XOAUTH2", true, without_nonce<make_xoauth2>},
    {"OAUTHBEARER", true, without_nonce<make_oauthbearer>},
}};

const Row* find(std::string_view name)
{
  const auto* row = std::find_if(k_rows.begin(), k_rows.end(), [&](const Row& candidate) {
    return iequals(candidate.name, name);
  });
  return row == k_rows.end() ? nullptr : row;
}

}  // namespace

const std::vector<std::string_view>& supported()
{
  static const std::vector<std::string_view> k_supported = [] {
    std::vector<std::string_view> names;
    for (const Row& row : k_rows) {
      names.push_back(row.name);
    }
    return names;
  }();
  return k_supported;
}

bool is_oauth(std::string_view name)
{
  const Row* row = find(name);
  return row != nullptr && row->oauth;
}

std::unique_ptr<Mechanism> make(std::string_view name, const Credentials& credentials,
                                std::string nonce)
{
  const Row* row = find(name);
  return row == nullptr ? nullptr : row->make(credentials, std::move(nonce));
}

std::optional<std::string> strongest(const std::vector<std::string>& offered)
{
  for (const std::string_view candidate : supported()) {
    if (is_oauth(candidate)) {
      continue;
    }
    const bool is_offered =
        std::any_of(offered.begin(), offered.end(),
                    [&](const std::string& name) { return iequals(name, candidate); });
    if (is_offered) {
      return std::string(candidate);
    }
  }
  return std::nullopt;
}

std::vector<std::string> secret_fragments(std::string_view response)
{
  std::vector<std::string> fragments{std::string(response), base64::encode(response)};
  if (auto nul = response.rfind('\0'); nul != std::string_view::npos) {
    fragments.emplace_back(response.substr(nul + 1));
  }
  constexpr std::string_view k_bearer = "auth=Bearer ";
  if (auto at = response.find(k_bearer); at != std::string_view::npos) {
    auto token = response.substr(at + k_bearer.size());
    fragments.emplace_back(token.substr(0, token.find('\x01')));
  }
  return fragments;
}

}  // namespace mw::sasl
