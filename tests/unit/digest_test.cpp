// SPDX-License-Identifier: Apache-2.0
#include "util/digest.hpp"
#include "util/error.hpp"

#include <catch2/catch.hpp>

#include <string>

using mw::digest::hex;

TEST_CASE("md5 and sha256 match known digests", "[digest]")
{
  // RFC 1321 appendix A.5.
  CHECK(hex(mw::digest::md5("")) == "d41d8cd98f00b204e9800998ecf8427e");
  CHECK(hex(mw::digest::md5("abc")) == "900150983cd24fb0d6963f7d28e17f72");
  // FIPS 180-2 appendix B.1.
  CHECK(hex(mw::digest::sha256("abc")) ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(mw::digest::md5("x").size() == 16);
  CHECK(mw::digest::sha256("x").size() == 32);
}

TEST_CASE("hmac_md5 and hmac_sha256 match RFC 2202 and RFC 4231", "[digest]")
{
  // RFC 2202 section 2, test case 2; RFC 4231 section 4.3, test case 2.
  CHECK(hex(mw::digest::hmac_md5("Jefe", "what do ya want for nothing?")) ==
        "750c783e6ab0b503eaa86e310a5db738");
  CHECK(hex(mw::digest::hmac_sha256("Jefe", "what do ya want for nothing?")) ==
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  // RFC 2202 test case 1 (key 0x0b x 16, "Hi There").
  CHECK(hex(mw::digest::hmac_md5(std::string(16, '\x0b'), "Hi There")) ==
        "9294727a3638bb1c13f48ef8158bfc9d");
  // An empty key and empty data are valid HMAC inputs.
  CHECK(hex(mw::digest::hmac_sha256("", "")) ==
        "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

TEST_CASE("pbkdf2_sha256 matches RFC 7914 section 11", "[digest]")
{
  CHECK(hex(mw::digest::pbkdf2_sha256("passwd", "salt", 1, 64)) ==
        "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
        "49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783");
  CHECK(mw::digest::pbkdf2_sha256("p", "s", 2, 32).size() == 32);
  CHECK_THROWS_AS(mw::digest::pbkdf2_sha256("p", "s", 0, 32), mw::Error);
}

TEST_CASE("hex is lower case, two digits a byte", "[digest]")
{
  CHECK(hex("") == "");
  CHECK(hex(std::string("\x00\x0f\xa0\xff", 4)) == "000fa0ff");
}

TEST_CASE("apop matches the RFC 1939 section 7 example", "[digest]")
{
  CHECK(mw::digest::apop("<1896.697170952@dbc.mtview.ca.us>", "tanstaaf") ==
        "c4c9334bac560ecc979e58001b3e22fb");
}
