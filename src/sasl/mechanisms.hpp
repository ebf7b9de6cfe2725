// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "sasl/mechanism.hpp"

#include <memory>

namespace mw::sasl {

// The mechanisms that answer from the credentials alone, for make(); each class is private to
// its .cpp file, as nothing but make() names them.

// CRAM-MD5 (RFC 2195 section 2): server-first; answers the one challenge with
// "user SP hex(HMAC-MD5(password, challenge))".
std::unique_ptr<Mechanism> make_cram_md5(Credentials credentials);

// LOGIN (draft-murchison-sasl-login section 2): server-first; the first challenge gets the user
// name, the second the password, decided by order and not by the challenge text.
std::unique_ptr<Mechanism> make_login(Credentials credentials);

// PLAIN (RFC 4616 section 2): one client-first message "authzid NUL authcid NUL passwd".
std::unique_ptr<Mechanism> make_plain(Credentials credentials);

// XOAUTH2 (Google's and Microsoft's precursor of RFC 7628) and OAUTHBEARER (RFC 7628 section
// 3.1): a client-first message carrying the access token (the password); an error challenge
// gets one acknowledgement, and the server then fails the exchange.
std::unique_ptr<Mechanism> make_xoauth2(Credentials credentials);
std::unique_ptr<Mechanism> make_oauthbearer(Credentials credentials);

}  // namespace mw::sasl
