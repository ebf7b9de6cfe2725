#include "sasl/mechanism.hpp"

#include "util/base64.hpp"
#include "util/text.hpp"

#include "sasl/cram_md5.hpp"
#include "sasl/login.hpp"
#include "sasl/oauth.hpp"
#include "sasl/plain.hpp"
#include "sasl/scram.hpp"

#include <algorithm>

namespace mw::sasl {

namespace {

using text::iequals;

} // namespace

const std::vector<std::string_view>& supported()
{
  static const std::vector<std::string_view> k_supported = {
      "SCRAM-SHA-256", "CRAM-MD5", "PLAIN", "LOGIN", "XOAUTH2", "OAUTHBEARER",
  };
  return k_supported;
}

bool is_oauth(std::string_view name)
{
  return iequals(name, "XOAUTH2") || iequals(name, "OAUTHBEARER");
}

std::unique_ptr<Mechanism> make(std::string_view name, const Credentials& credentials,
                                std::string nonce)
{
  if (iequals(name, "SCRAM-SHA-256")) {
    return std::make_unique<ScramSha256>(credentials, std::move(nonce));
  }
  if (iequals(name, "CRAM-MD5")) {
    return std::make_unique<CramMd5>(credentials);
  }
  if (iequals(name, "PLAIN")) {
    return std::make_unique<Plain>(credentials);
  }
  if (iequals(name, "LOGIN")) {
    return std::make_unique<Login>(credentials);
  }
  if (iequals(name, "XOAUTH2")) {
    return std::make_unique<XOAuth2>(credentials);
  }
  if (iequals(name, "OAUTHBEARER")) {
    return std::make_unique<OAuthBearer>(credentials);
  }
  return nullptr;
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

} // namespace mw::sasl
