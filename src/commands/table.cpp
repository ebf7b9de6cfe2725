// SPDX-License-Identifier: Apache-2.0
#include "commands/table.hpp"

namespace po = boost::program_options;

namespace mw::commands {

// Each command is one file: its options (NAME_options, when it has any) and how it reads
// them into the run it returns (NAME). Adding a command is a file and a row here.
cli::Run stat(const cli::Options& options);
void list_options(po::options_description& options);
cli::Run list(const cli::Options& options);
void top_options(po::options_description& options);
cli::Run top(const cli::Options& options);
void fetch_options(po::options_description& options);
cli::Run fetch(const cli::Options& options);
void check_options(po::options_description& options);
cli::Run check(const cli::Options& options);
void purge_options(po::options_description& options);
cli::Run purge(const cli::Options& options);
void send_options(po::options_description& options);
cli::Run send(const cli::Options& options);
void info_options(po::options_description& options);
cli::Run info(const cli::Options& options);
void session_options(po::options_description& options);
cli::Run session(const cli::Options& options);

const cli::CommandTable& table()
{
  using cli::Service;
  static const cli::CommandTable rows = {
      {"stat", "", "number of messages and total octets (STAT)", Service::pop3, false, nullptr,
       &stat},
      {"list", "[SELECTION]",
       "one row per message: number, octets, UID; --headers adds From, Subject, Date",
       Service::pop3, true, &list_options, &list},
      {"top", "SELECTION", "headers (and --lines N body lines) of the selected messages (TOP)",
       Service::pop3, true, &top_options, &top},
      {"fetch", "[SELECTION]",
       "download messages into a Maildir, an mbox, a folder of .eml files or stdout (RETR)",
       Service::pop3, true, &fetch_options, &fetch},
      {"check", "[SELECTION]",
       "find broken messages: download each (RETR, never stored) and report what is wrong",
       Service::pop3, true, &check_options, &check},
      {"purge", "SELECTION", "delete the selected messages (DELE, QUIT); --dry-run shows them",
       Service::pop3, true, &purge_options, &purge},
      {"send", "", "send one message over SMTP (EHLO, STARTTLS, AUTH, MAIL, RCPT, DATA)",
       Service::smtp, false, &send_options, &send},
      {"info", "",
       "verify a POP3 (or --smtp SMTP) server: capabilities, TLS, certificates; --check judges it",
       Service::pop3, false, &info_options, &info, "smtp"},
      {"session", "",
       "the POP3 (or --smtp SMTP) dialogue, typed at a prompt or read from a script, over TLS",
       Service::pop3, false, &session_options, &session, "smtp"},
  };
  return rows;
}

}  // namespace mw::commands
