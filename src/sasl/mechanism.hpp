// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "util/secret.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mw::sasl {

// What a mechanism needs to authenticate (RFC 4422 section 2: authentication and
// authorization identities, plus the host/port OAUTHBEARER sends per RFC 7628 section 3.1).
struct Credentials {
  std::string user;        // authentication identity
  mw::Secret password;     // password, or the OAuth 2.0 access token for xoauth2/oauthbearer
  std::string authzid;     // authorization identity, usually empty
  std::string host;        // server host name (OAUTHBEARER's host=), may be empty
  std::uint16_t port = 0;  // server port (OAUTHBEARER's port=), 0 = omit
};

// One SASL exchange, client side (RFC 4422 section 3). Challenges and responses are raw
// bytes; the protocol client does the base64 and the transport framing (POP3 AUTH RFC 5034,
// SMTP AUTH RFC 4954). Errors: mw::ProtocolError for a malformed or unexpected challenge,
// mw::Error(permission) when the server fails mutual authentication; messages never
// contain the secret.
class Mechanism {
public:
  virtual ~Mechanism() = default;

  // The mechanism name as servers advertise it, upper case (RFC 4422 section 3.1).
  virtual std::string_view name() const = 0;

  // The client-first message to send with the AUTH command, or nullopt for server-first
  // mechanisms (RFC 4422 section 5 "initial response"). A client that calls this but then
  // does not send it (e.g. RFC 5034 section 4's 255-octet limit) may answer the server's
  // empty challenge with respond(""), which gives the same message again.
  virtual std::optional<std::string> initial_response() = 0;

  // The response to the next server challenge (RFC 4422 section 3.3); throws
  // mw::ProtocolError when the challenge is malformed or the exchange is already complete.
  virtual std::string respond(std::string_view challenge) = 0;

  // Checks the additional data that came with the server's success outcome (RFC 4422
  // section 3.6), or "" if there was none; SCRAM verifies the server signature here unless
  // respond() already did (RFC 5802 section 5.1). Default: accepts anything.
  virtual void verify_final(std::string_view /*server_final*/) {}
};

// The mechanisms this build implements, strongest first, as the names servers advertise
// them (RFC 4422 section 3.1): SCRAM-SHA-256, CRAM-MD5, PLAIN, LOGIN, XOAUTH2, OAUTHBEARER.
const std::vector<std::string_view>& supported();

// Whether `name` (any case) is an OAuth 2.0 bearer-token mechanism (XOAUTH2, RFC 7628
// OAUTHBEARER), which `--auth auto` never chooses because the secret must be a token.
bool is_oauth(std::string_view name);

// Makes a mechanism by case-insensitive name (RFC 4422 section 3.1); nullptr if unknown.
// `nonce` is the SCRAM client nonce for tests (RFC 5802 section 5.1 "r="); empty = 24 random
// bytes from RAND_bytes, base64-encoded.
std::unique_ptr<Mechanism> make(std::string_view name, const Credentials& credentials,
                                std::string nonce = {});

// The strongest of `offered` (names as a server lists them, any case; RFC 4954 section 3,
// RFC 5034 section 3) that supported() has and that is not OAuth, in supported()'s
// spelling; nullopt if none.
std::optional<std::string> strongest(const std::vector<std::string>& offered);

// The parts of a client response that must never be shown, for scrubbing a server's error reply
// that quotes it: the response itself, its base64 form, and the password or token inside it
// (after PLAIN's last NUL, after "auth=Bearer ").
std::vector<std::string> secret_fragments(std::string_view response);

}  // namespace mw::sasl
