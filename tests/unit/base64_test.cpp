// SPDX-License-Identifier: Apache-2.0
#include "util/base64.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace std::string_literals;

TEST_CASE("base64 encodes the RFC 4648 section 10 vectors", "[base64]")
{
  CHECK(mw::base64::encode("") == "");
  CHECK(mw::base64::encode("f") == "Zg==");
  CHECK(mw::base64::encode("fo") == "Zm8=");
  CHECK(mw::base64::encode("foo") == "Zm9v");
  CHECK(mw::base64::encode("foob") == "Zm9vYg==");
  CHECK(mw::base64::encode("fooba") == "Zm9vYmE=");
  CHECK(mw::base64::encode("foobar") == "Zm9vYmFy");
}

TEST_CASE("base64 decodes the RFC 4648 section 10 vectors", "[base64]")
{
  CHECK(mw::base64::decode("") == ""s);
  CHECK(mw::base64::decode("Zg==") == "f"s);
  CHECK(mw::base64::decode("Zm8=") == "fo"s);
  CHECK(mw::base64::decode("Zm9v") == "foo"s);
  CHECK(mw::base64::decode("Zm9vYg==") == "foob"s);
  CHECK(mw::base64::decode("Zm9vYmE=") == "fooba"s);
  CHECK(mw::base64::decode("Zm9vYmFy") == "foobar"s);
}

TEST_CASE("base64 round-trips every byte value", "[base64]")
{
  std::string all;
  for (int i = 0; i < 256; ++i) {
    all += static_cast<char>(i);
  }
  for (std::size_t length = 0; length <= all.size(); length += 37) {
    const std::string bytes = all.substr(0, length);
    CHECK(mw::base64::decode(mw::base64::encode(bytes)) == bytes);
  }
  CHECK(mw::base64::encode("\xff\xfe\xfd"s) == "//79");
  CHECK(mw::base64::encode("\xfb\xef"s) == "++8=");
  CHECK(mw::base64::decode("//79") == "\xff\xfe\xfd"s);
  CHECK(mw::base64::decode("AA==") == "\0"s);
}

TEST_CASE("base64 decoding is strict", "[base64]")
{
  const char* const invalid[] = {
      "Zg",         // missing padding
      "Zg=",        // short padding
      "Zm9",        // length not a multiple of 4
      "Zm9v\r\n",   // line breaks are not ignored
      " Zm9v",      // nor spaces
      "Zm9v Zm9v",  //
      "Zm9-",       // base64url alphabet
      "Zm9_",       //
      "Zm*v",       // outside any alphabet
      "Zg==Zg==",   // padding in the middle
      "Z===",       // too much padding
      "====",       //
      "=Zm9",       //
      "Zm=v",       //
      "Zh==",       // non-zero pad bits (RFC 4648 section 3.5)
      "Zm9=",       //
  };
  for (const char* text : invalid) {
    INFO(text);
    CHECK_FALSE(mw::base64::decode(text).has_value());
  }
  CHECK_FALSE(mw::base64::decode("Zg\0="s).has_value());
  CHECK_FALSE(mw::base64::decode("Zm9v\xc3\xa9=="s).has_value());
}
