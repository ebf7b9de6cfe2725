// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// SMTP protocol core, sans-IO: an incremental reply parser, EHLO keywords, command encoding
// and the DATA encoder. Nothing here touches a socket; the client (smtp/client.hpp) feeds it
// bytes and writes what it returns.

namespace mw::smtp {

// The longest reply line accepted. RFC 5321 section 4.5.3.1.5 allows 512 octets; real
// servers send longer text, so be generous.
inline constexpr std::size_t k_max_line = 8192;

// The most lines one reply may have (RFC 5321 sets no limit; an EHLO reply has a few dozen):
// a server that sends more gets a ProtocolError rather than our memory.
inline constexpr std::size_t k_max_reply_lines = 1000;

// An enhanced status code "class.subject.detail" (RFC 3463 section 2), e.g. 5.1.1.
struct EnhancedCode {
  int class_ = 0;  // 2, 4 or 5; 0 when the reply carries none
  int subject = 0;
  int detail = 0;

  // The code in its wire form, "5.1.1"; "" when not present (RFC 3463 section 2).
  std::string text() const;

  // Whether the reply carried an enhanced code (RFC 2034 section 4).
  bool present() const { return class_ != 0; }
};

// One complete reply (RFC 5321 section 4.2): the code, its lines' texts (without the
// "250-"/"250 " prefix, still with any enhanced code), and the enhanced code of the first
// line when the server sends one (RFC 2034 section 4).
struct Reply {
  int code = 0;
  std::vector<std::string> lines;
  EnhancedCode enhanced;

  // 2yz and 3yz replies (RFC 5321 section 4.2.1).
  bool positive() const { return code >= 200 && code < 400; }
  // 4yz: transient negative completion (RFC 5321 section 4.2.1).
  bool transient() const { return code >= 400 && code < 500; }
  // 5yz: permanent negative completion (RFC 5321 section 4.2.1).
  bool permanent() const { return code >= 500; }

  // The non-empty lines joined with " ", an enhanced code stripped from the start of each
  // (RFC 2034 section 4 puts it at the start of every line of the reply).
  std::string text() const;
};

// Incremental parser for replies (RFC 5321 section 4.2): feed any bytes, split anywhere;
// it returns a Reply when one is complete and keeps only the current line in memory.
class ReplyParser {
public:
  // Consumes a prefix of input (sets consumed) and returns a complete reply, or nullopt when
  // it needs more bytes (then all input was consumed). Bytes after a complete reply are left
  // for the next call. Lines end with CRLF; a bare LF is accepted too (RFC 5321 section
  // 4.1.1.4 forbids it, but servers send it). Throws ProtocolError for a malformed line: no
  // 3-digit code, a code outside 2yz-5yz (RFC 5321 section 4.2), a separator other than ' ',
  // '-' or the end of the line, a continuation line with a different code (section 4.2.1),
  // a line longer than k_max_line, or a reply of more than k_max_reply_lines lines. After an
  // exception the parser starts afresh.
  std::optional<Reply> feed(std::string_view input, std::size_t& consumed);

  // Call with true once EHLO advertised ENHANCEDSTATUSCODES (RFC 2034 section 3): then an
  // enhanced code at the start of the first line is taken whatever its class. When off, one
  // is still recognised if its class matches the reply's first digit (Postfix sends them
  // regardless).
  void set_enhanced(bool on) { m_enhanced = on; }

private:
  // Parses one complete line (without line ending); true when it was the reply's last.
  bool take_line(std::string_view line);

  bool m_enhanced = false;
  std::string m_line;
  Reply m_reply;
};

// The EHLO keywords a server offers (RFC 5321 section 4.1.1.1 and the extensions' RFCs).
struct Extensions {
  bool known = false;                  // EHLO succeeded (false after a HELO fallback)
  std::optional<std::uint64_t> size;   // SIZE n (RFC 1870 section 4); 0 = no fixed limit
                                       // (also for SIZE without a number); nullopt = not offered
  bool pipelining = false;             // PIPELINING, RFC 2920
  bool eight_bit_mime = false;         // 8BITMIME, RFC 6152
  bool smtputf8 = false;               // SMTPUTF8, RFC 6531
  bool dsn = false;                    // DSN, RFC 3461
  bool starttls = false;               // STARTTLS, RFC 3207
  bool enhanced_status_codes = false;  // ENHANCEDSTATUSCODES, RFC 2034
  bool chunking = false;               // CHUNKING (BDAT), RFC 3030
  std::vector<std::string> auth;       // AUTH mechanisms, upper case, no duplicates
                                       // (RFC 4954 section 3, also the obsolete "AUTH=" form)
  std::string greeting_name;           // the server's domain: the first word of the first line
  std::vector<std::string> lines;      // the keyword lines as sent (all but the first), for info

  // Reads the keywords from the lines after the first of a 250 reply to EHLO (RFC 5321
  // section 4.1.1.1); a reply that is not 250 gives known == false and nothing offered.
  // Keywords are case-insensitive; unknown ones are ignored.
  static Extensions from_ehlo(const Reply& reply);
};

// Parameters of MAIL FROM (RFC 5321 section 4.1.1.2 and the extensions named).
struct MailParameters {
  std::optional<std::uint64_t> size;  // SIZE=n (RFC 1870 section 6)
  bool eight_bit = false;             // BODY=8BITMIME (RFC 6152 section 3)
  bool smtputf8 = false;              // SMTPUTF8 (RFC 6531 section 3.4)
  std::string ret;                    // RET=FULL or RET=HDRS (RFC 3461 section 4.3), or ""
  std::string envid;                  // ENVID=xtext (RFC 3461 section 4.4), or ""
};

// Parameters of RCPT TO (RFC 3461 section 4.1 and 4.2).
struct RcptParameters {
  std::string notify;  // "NEVER" or a comma list of SUCCESS, FAILURE, DELAY; or ""
  bool orcpt = false;  // add ORCPT=rfc822;<xtext of the address>
};

// Command encoding (RFC 5321 section 4.1.1): each returns the line with CRLF. Arguments
// that would break the line (CR, LF, other control characters, and for addresses '<' or
// '>'; for EHLO/HELO also spaces or an empty name) throw UsageError, as do invalid
// RET/NOTIFY values.

// EHLO domain (RFC 5321 section 4.1.1.1).
std::string ehlo(std::string_view domain);
// HELO domain (RFC 5321 section 4.1.1.1), for servers that refuse EHLO.
std::string helo(std::string_view domain);
// LHLO domain (RFC 2033 section 4.1): LMTP's EHLO, answered like it.
std::string lhlo(std::string_view domain);
// "MAIL FROM:<addr> SIZE=n BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=xtext" (RFC 5321 section
// 4.1.1.2); an empty address gives the null reverse-path "<>".
std::string mail_from(std::string_view address, const MailParameters& parameters);
// "RCPT TO:<addr> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;xtext" (RFC 5321 section 4.1.1.3,
// RFC 3461 section 4).
std::string rcpt_to(std::string_view address, const RcptParameters& parameters);

// AUTH mechanism [initial-response] (RFC 4954 section 4); the response is base64 or "=".
std::string auth(std::string_view mechanism, std::optional<std::string_view> initial_response);
// A response line in an AUTH exchange (RFC 4954 section 4): the base64 answer to a 334
// challenge (possibly empty), or "*" that cancels the exchange.
std::string auth_response(std::string_view response);
// BDAT size LAST (RFC 3030 section 2): the whole message as one last chunk.
std::string bdat_last(std::uint64_t size);
// The message data as BDAT carries it (RFC 3030 section 2): every line ending (CRLF, bare LF,
// bare CR) made CRLF, a CRLF added after a last line without one, and no dot-stuffing.
std::string bdat_data(std::string_view message);
// The commands without arguments: STARTTLS (RFC 3207 section 4), DATA (RFC 5321 section
// 4.1.1.4), RSET (4.1.1.5), QUIT (4.1.1.10).
std::string_view starttls();
std::string_view data();
std::string_view rset();
std::string_view quit();
// The line "." alone, which ends the message data (RFC 5321 section 4.1.1.4); sent by itself
// after a pipelined DATA that was accepted although no recipient was (RFC 2920 section 3.1).
std::string_view end_of_data();

// xtext encoding (RFC 3461 section 4): '!'..'~' except '+' and '=' as they are, every other
// octet as "+XX" with upper-case hex.
std::string xtext(std::string_view text);

// Streaming DATA encoder (RFC 5321 section 4.5.2): converts every line ending (CRLF, bare
// LF, bare CR) to CRLF and dot-stuffs lines that start with '.', for input split at any
// byte. It also measures the longest line (RFC 5322 section 2.1.1 limits lines to 998
// octets) and notes any octet >= 0x80 (8-bit content, RFC 6152).
class DataEncoder {
public:
  // Appends the encoded form of chunk to out (RFC 5321 section 4.5.2).
  void encode(std::string_view chunk, std::string& out);

  // Appends what ends the message: a CRLF if the last line had none, then ".\r\n" (RFC 5321
  // section 4.1.1.4). The encoder can then start another message.
  void finish(std::string& out);

  // The longest line seen, in octets of the message (without line ending or stuffed dot).
  std::size_t longest_line() const { return m_longest; }

  // Whether any octet >= 0x80 was seen (RFC 6152 section 3: needs BODY=8BITMIME).
  bool eight_bit() const { return m_eight_bit; }

private:
  void end_line(std::string& out);

  bool m_line_start = true;
  bool m_pending_cr = false;  // a CR ended the last chunk; an LF may follow in the next
  bool m_eight_bit = false;
  std::size_t m_line_length = 0;
  std::size_t m_longest = 0;
};

// Which recipient each reply after the message belongs to in LMTP (RFC 2033 section 4.2): one
// reply for each RCPT TO that was accepted, in the order of the RCPT commands; none for a
// recipient refused at RCPT.
class LmtpReplies {
public:
  // `rcpt_replies`: the reply to each RCPT TO, in the order they were sent.
  explicit LmtpReplies(const std::vector<Reply>& rcpt_replies);

  // How many replies are still due (RFC 2033 section 4.2).
  std::size_t due() const { return m_accepted.size() - m_next; }

  // Takes the next reply and returns the index of the recipient it is for; throws
  // ProtocolError when none is due (the server's replies are out of step).
  std::size_t take(Reply reply);

  // Each recipient's reply after the message, by the index of its RCPT TO; nullopt for one
  // refused at RCPT (or whose reply is still due).
  const std::vector<std::optional<Reply>>& replies() const { return m_replies; }

private:
  std::vector<std::size_t> m_accepted;  // indices of the recipients accepted at RCPT
  std::size_t m_next = 0;
  std::vector<std::optional<Reply>> m_replies;
};

// The queue id the server names in its positive final reply to DATA (RFC 5321 section
// 4.1.1.4 leaves the text free; these are the servers' conventions): Postfix "queued as X",
// Exim "id=X", Sendmail "X Message accepted for delivery", Exchange "<X> [InternalId=...]"
// (returned with its brackets), Gmail "OK <time> X - gsmtp", qmail "ok <time> qp N"
// (returned as "qp N"), and "Ok <id>" (Amazon SES and others). nullopt when nothing
// plausible is found or the reply is not 2yz.
std::optional<std::string> queue_id(const Reply& final_reply);

}  // namespace mw::smtp
