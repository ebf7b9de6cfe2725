// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "sasl/mechanism.hpp"

#include <string>
#include <string_view>

namespace mw::sasl {

// `name` with "=" as "=3D" and "," as "=2C" (RFC 5802 section 5.1 "saslname", also used by
// the GS2 header of RFC 7628 section 3.1).
std::string escape_saslname(std::string_view name);

// Throws mw::ProtocolError naming `mechanism` and what went wrong (`what`, never a secret).
[[noreturn]] void fail(std::string_view mechanism, std::string_view what);

// A client-first mechanism (RFC 4422 section 5): the first message goes either with the
// AUTH command (initial_response()) or in reply to the server's empty challenge, and
// respond() hands every later challenge to next().
class ClientFirstMechanism : public Mechanism {
public:
  // Returns first_message() and notes that the client may have sent it (RFC 4422 section 5).
  std::optional<std::string> initial_response() final;

  // Answers an empty challenge before the exchange began with first_message(), else next()
  // (RFC 4422 section 5: a server asks for a missing initial response with an empty one).
  std::string respond(std::string_view challenge) final;

protected:
  // The client-first message; the same bytes each time it is asked for.
  virtual std::string first_message() = 0;

  // The response to a server challenge that followed the first message.
  virtual std::string next(std::string_view challenge) = 0;

private:
  enum class Stage { fresh, offered, sent };
  Stage m_stage = Stage::fresh;
};

}  // namespace mw::sasl
