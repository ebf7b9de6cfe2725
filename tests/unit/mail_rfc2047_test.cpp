// SPDX-License-Identifier: Apache-2.0
#include "mail/rfc2047.hpp"

#include <catch2/catch.hpp>

using mw::mail::decode_rfc2047;
using mw::mail::is_valid_utf8;
using mw::mail::sanitize_utf8;

TEST_CASE("rfc2047: RFC 2047 section 8 examples", "[mail]")
{
  CHECK(decode_rfc2047("=?US-ASCII?Q?Keith_Moore?= <moore@cs.utk.edu>") ==
        "Keith Moore <moore@cs.utk.edu>");
  CHECK(decode_rfc2047("=?ISO-8859-1?Q?Keld_J=F8rn_Simonsen?= <keld@dkuug.dk>") ==
        "Keld J\xC3\xB8rn Simonsen <keld@dkuug.dk>");
  CHECK(decode_rfc2047("=?ISO-8859-1?Q?Andr=E9?= Pirard <PIRARD@vm1.ulg.ac.be>") ==
        "Andr\xC3\xA9 Pirard <PIRARD@vm1.ulg.ac.be>");
  CHECK(decode_rfc2047("=?ISO-8859-1?B?SWYgeW91IGNhbiByZWFkIHRoaXMgeW8=?=\r\n"
                       "    =?ISO-8859-2?B?dSB1bmRlcnN0YW5kIHRoZSBleGFtcGxlLg==?=") ==
        "If you can read this you understand the example.");
  CHECK(decode_rfc2047("Nathaniel Borenstein <nsb@thumper.bellcore.com>\r\n"
                       "    (=?iso-8859-8?b?7eXs+SDv4SDp7Oj08A==?=)") ==
        "Nathaniel Borenstein <nsb@thumper.bellcore.com>\r\n"
        "    (\xD7\x9D\xD7\x95\xD7\x9C\xD7\xA9 \xD7\x9F\xD7\x91 \xD7\x99\xD7\x9C\xD7\x98\xD7\xA4"
        "\xD7\xA0)");
}

TEST_CASE("rfc2047: section 8 whitespace table", "[mail]")
{
  CHECK(decode_rfc2047("(=?ISO-8859-1?Q?a?=)") == "(a)");
  CHECK(decode_rfc2047("(=?ISO-8859-1?Q?a?= b)") == "(a b)");
  CHECK(decode_rfc2047("(=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=)") == "(ab)");
  CHECK(decode_rfc2047("(=?ISO-8859-1?Q?a?=  =?ISO-8859-1?Q?b?=)") == "(ab)");
  CHECK(decode_rfc2047("(=?ISO-8859-1?Q?a?=\r\n    =?ISO-8859-1?Q?b?=)") == "(ab)");
  CHECK(decode_rfc2047("(=?ISO-8859-1?Q?a_b?=)") == "(a b)");
  CHECK(decode_rfc2047("(=?ISO-8859-1?Q?a?= =?ISO-8859-2?Q?_b?=)") == "(a b)");
}

TEST_CASE("rfc2047: text around encoded-words is kept", "[mail]")
{
  CHECK(decode_rfc2047("Re: =?utf-8?q?caf=C3=A9?= and more") == "Re: caf\xC3\xA9 and more");
  CHECK(decode_rfc2047("plain text") == "plain text");
  CHECK(decode_rfc2047("") == "");
  CHECK(decode_rfc2047("a =?utf-8?q?x?= b =?utf-8?q?y?= c") == "a x b y c");
}

TEST_CASE("rfc2047: case of charset and encoding, RFC 2231 language suffix", "[mail]")
{
  CHECK(decode_rfc2047("=?utf-8?b?R3LDvMOfZQ==?=") == "Gr\xC3\xBC\xC3\x9F"
                                                      "e");
  CHECK(decode_rfc2047("=?UTF-8?B?R3LDvMOfZQ==?=") == "Gr\xC3\xBC\xC3\x9F"
                                                      "e");
  CHECK(decode_rfc2047("=?utf-8*en?Q?hello_world?=") == "hello world");
  CHECK(decode_rfc2047("=?US-ASCII*EN?Q?Keith_Moore?=") == "Keith Moore");
  CHECK(decode_rfc2047("=?utf-8?q?=c3=a9?=") == "\xC3\xA9");  // lowercase hex
}

TEST_CASE("rfc2047: base64 without padding", "[mail]")
{
  CHECK(decode_rfc2047("=?utf-8?B?R3LDvMOfZQ?=") == "Gr\xC3\xBC\xC3\x9F"
                                                    "e");
}

TEST_CASE("rfc2047: charsets through iconv", "[mail]")
{
  CHECK(decode_rfc2047("=?koi8-r?B?8NLJ18XU?=") ==
        "\xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82");  // Привет
  CHECK(decode_rfc2047("=?Shift_JIS?B?k/qWe4zq?=") ==
        "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E");  // 日本語
  CHECK(decode_rfc2047("=?ISO-2022-JP?B?GyRCRnxLXDhsGyhC?=") ==
        "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E");
  CHECK(decode_rfc2047("=?gb2312?B?1tDOxA==?=") == "\xE4\xB8\xAD\xE6\x96\x87");  // 中文
  CHECK(decode_rfc2047("=?big5?B?pKSk5Q==?=") == "\xE4\xB8\xAD\xE6\x96\x87");
  CHECK(decode_rfc2047("=?windows-1252?B?k3F1b3RlZJQ=?=") == "\xE2\x80\x9Cquoted\xE2\x80\x9D");
  // Mislabelled Windows-1252 quotes in an ISO-8859-1 word decode as Windows-1252.
  CHECK(decode_rfc2047("=?iso-8859-1?Q?=93quoted=94?=") == "\xE2\x80\x9Cquoted\xE2\x80\x9D");
  CHECK(decode_rfc2047("=?iso-8859-15?Q?=A4?=") == "\xE2\x82\xAC");  // €
}

TEST_CASE("rfc2047: a character split across adjacent encoded-words", "[mail]")
{
  CHECK(decode_rfc2047("=?UTF-8?B?5pel5g==?= =?UTF-8?B?nKzoqp4=?=") ==
        "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E");
  CHECK(decode_rfc2047("=?utf-8?q?=C3?= =?UTF-8?Q?=A9?=") == "\xC3\xA9");
}

TEST_CASE("rfc2047: malformed encoded-words and unknown charsets are left as is", "[mail]")
{
  for (const char* text : {
           "=?utf-8?Q?no end",
           "=?utf-8?X?unknown encoding?=",
           "=?utf-8?B?not*base64?=",
           "=?utf-8?B?A?=",  // a single sextet
           "=??Q?empty charset?=",
           "=?no-such-charset?Q?abc?=",
           "=?utf-8?Q?abc",
           "=?",
           "=?utf-8",
           "=?utf-8?Q",
           "=?utf-8?Q?",
           "a=?b",
       }) {
    CAPTURE(text);
    CHECK(decode_rfc2047(text) == text);
  }
  CHECK(decode_rfc2047("=?bogus?Q?x?= =?utf-8?Q?y?=") == "=?bogus?Q?x?= y");
  CHECK(decode_rfc2047("=?utf-8?Q?a=?= ok") == "a= ok");  // stray "=" kept
}

TEST_CASE("rfc2047: raw 8-bit text is left alone, invalid UTF-8 in a word is replaced", "[mail]")
{
  CHECK(decode_rfc2047("raw \xFF\xC3 =?utf-8?q?x?=") == "raw \xFF\xC3 x");
  CHECK(decode_rfc2047("=?utf-8?q?a=FFb?=") == "a\xEF\xBF\xBD"
                                               "b");
  CHECK(decode_rfc2047("=?us-ascii?q?a=FFb?=") == "a\xC3\xBF"
                                                  "b");  // as Windows-1252
}

TEST_CASE("rfc2047: every output of a word is valid UTF-8", "[mail]")
{
  CHECK(is_valid_utf8(decode_rfc2047("=?shift_jis?q?=82?=")));  // truncated double byte
  CHECK(is_valid_utf8(decode_rfc2047("=?iso-2022-jp?q?=1B$B?=")));
}

TEST_CASE("sanitize_utf8: invalid sequences become U+FFFD", "[mail]")
{
  const std::string fffd = "\xEF\xBF\xBD";
  CHECK(sanitize_utf8("plain ascii") == "plain ascii");
  CHECK(sanitize_utf8("\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80") ==
        "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80");
  CHECK(sanitize_utf8("a\xFF"
                      "b") == "a" + fffd + "b");
  CHECK(sanitize_utf8("\xC0\x80") == fffd + fffd);                        // overlong
  CHECK(sanitize_utf8("\xE0\x80\x80") == fffd + fffd + fffd);             // overlong
  CHECK(sanitize_utf8("\xED\xA0\x80") == fffd + fffd + fffd);             // surrogate
  CHECK(sanitize_utf8("\xF4\x90\x80\x80") == fffd + fffd + fffd + fffd);  // > U+10FFFF
  CHECK(sanitize_utf8("\xE2\x82") == fffd);  // truncated: one maximal subpart
  CHECK(sanitize_utf8("\xE2\x82x") == fffd + "x");
  CHECK(sanitize_utf8("\xF0\x9F\x98") == fffd);
  CHECK(sanitize_utf8(std::string("a\0b", 3)) == std::string("a\0b", 3));
  CHECK(is_valid_utf8("\xC3\xA9"));
  CHECK_FALSE(is_valid_utf8("\xC3"));
}
