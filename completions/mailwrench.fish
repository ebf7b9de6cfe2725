# SPDX-License-Identifier: Apache-2.0
# fish completion for mailwrench(1). Install as .../fish/vendor_completions.d/mailwrench.fish.
# Checked against `mailwrench --help` and `mailwrench help COMMAND` by tests/docs.

# The command word (stat, list, top, fetch, check, purge, send, info, session, help), skipping options and their values; nothing
# (status 1) before it.
function __mailwrench_command
    set -l tokens (commandline -opc)
    set -e tokens[1]
    set -l skip 0
    for t in $tokens
        if test $skip -eq 1
            set skip 0
            continue
        end
        switch $t
            case -a --account --jobs --config -H --host -p --port --tls -u --user --auth \
                --password-command --password-file --cacert --fingerprint --timeout \
                --tls-cert --tls-key --source-address --proxy \
                --uid --uid-file --larger-than --smaller-than --older-than --newer-than \
                --from --subject --header -o --output --state --limit --max-size --wait-lock --mda-timeout \
                --to --cc --bcc --body --body-file --attach --ehlo --dsn-notify --dsn-return \
                --dsn-envid --await --await-timeout --lines --script --keep-alive \
                --import-state --quit-after --log-file
                set skip 1
            case '-*'
            case '*'
                echo $t
                return 0
        end
    end
    return 1
end

function __mailwrench_no_command
    not __mailwrench_command >/dev/null
end

function __mailwrench_using_command
    set -l command (__mailwrench_command)
    test "$command" = "$argv[1]"
end

# After `help`, one command name.
function __mailwrench_help_topic
    set -l command (__mailwrench_command)
    test "$command" = help; or return 1
    set -l tokens (commandline -opc)
    set -l seen 0
    for t in $tokens[2..-1]
        if test $seen -eq 1
            string match -q -- '-*' $t; or return 1
        else if test "$t" = help
            set seen 1
        end
    end
    return 0
end

# The account names of the config file: the [account NAME] sections of --config FILE on the
# command line, else $MAILWRENCH_CONFIG, else ${XDG_CONFIG_HOME:-~/.config}/mailwrench/config.
function __mailwrench_accounts
    set -l config
    set -l tokens (commandline -opc)
    set -l n (count $tokens)
    for i in (seq $n)
        switch $tokens[$i]
            case --config
                if test $i -lt $n
                    set config $tokens[(math $i + 1)]
                end
            case '--config=*'
                set config (string replace -- --config= '' $tokens[$i])
        end
    end
    if test -z "$config"
        if test -n "$MAILWRENCH_CONFIG"
            set config $MAILWRENCH_CONFIG
        else if test -n "$XDG_CONFIG_HOME"
            set config $XDG_CONFIG_HOME/mailwrench/config
        else
            set config $HOME/.config/mailwrench/config
        end
    end
    set config (string replace -r -- '^~/' "$HOME/" $config)
    test -r "$config"; or return 0
    # Program_options INI: '#' starts a comment anywhere; a section is [account NAME].
    string replace -r -- '#.*' '' <$config | string replace -rf -- '^\s*\[account (.*\S)\s*\]\s*$' '$1'
end

# The value of fetch --import-state: the tool first (mpop:, fetchmail:, getmail:),
# then its record file.
function __mailwrench_import_state
    set -l token (string replace -r -- '^--import-state=' '' (commandline -ct))
    switch $token
        case 'mpop:*' 'fetchmail:*' 'getmail:*'
            set -l kind (string split -m 1 -- : $token)[1]
            set -l path (string split -m 1 -- : $token)[2]
            printf '%s\n' $kind:(__fish_complete_path $path)
        case '*'
            printf '%s\t%s\n' mpop: 'mpop uidls FILE (~/.mpop_uidls/USER_at_HOST)' \
                fetchmail: 'fetchmail .fetchids FILE (~/.fetchids)' \
                getmail: 'getmail oldmail-HOST-PORT-USER FILE (~/.getmail/)'
    end
end

# The value of fetch --output: the kind of target first (maildir:, mbox:, dir:, mda:, or - for
# standard output), then the path after the prefix (directories for maildir: and dir:, a
# command for mda:).
function __mailwrench_output
    set -l token (string replace -r -- '^--output=' '' (commandline -ct))
    switch $token
        case 'maildir:*' 'dir:*'
            set -l kind (string split -m 1 -- : $token)[1]
            set -l path (string split -m 1 -- : $token)[2]
            printf '%s\n' $kind:(__fish_complete_directories $path)
        case 'mbox:*'
            printf '%s\n' mbox:(__fish_complete_path (string sub -s 6 -- $token))
        case 'mda:*'
            printf '%s\n' mda:(complete -C (string sub -s 5 -- $token) | string replace -r -- '\t.*' '')
        case '*'
            printf '%s\t%s\n' maildir: 'Maildir DIR (created if missing)' \
                mbox: 'mbox FILE (mboxrd, locked while written)' \
                dir: 'directory DIR of .eml files, one per UID' \
                mda: 'COMMAND given each message on its stdin (%F sender, %A account)' \
                - 'standard output (one message)'
    end
end

# The value of send --dsn-notify: NEVER, or a comma-separated list of SUCCESS, FAILURE and
# DELAY; after a comma, the words not yet in the list.
function __mailwrench_dsn_notify
    set -l token (string replace -r -- '^--dsn-notify=' '' (commandline -ct))
    if string match -q -- '*,*' $token
        set -l done (string replace -r -- ',[^,]*$' ',' $token)
        contains NEVER (string split , -- $done); and return 0
        for word in SUCCESS FAILURE DELAY
            contains $word (string split , -- $done); or printf '%s\n' $done$word
        end
    else
        printf '%s\t%s\n' NEVER 'no notification at all' SUCCESS 'when delivered' \
            FAILURE 'when delivery failed' DELAY 'when delivery is delayed'
    end
end

complete -c mailwrench -f

# Commands
complete -c mailwrench -n __mailwrench_no_command -a stat -d 'number of messages and total octets (STAT)'
complete -c mailwrench -n __mailwrench_no_command -a list -d 'one row per message: number, octets, UID'
complete -c mailwrench -n __mailwrench_no_command -a top -d 'headers and the first --lines N body lines of the selected messages'
complete -c mailwrench -n __mailwrench_no_command -a fetch -d 'download messages into a Maildir, an mbox, a folder of .eml files or stdout'
complete -c mailwrench -n __mailwrench_no_command -a check -d 'find broken messages: download each (RETR, never stored) and report what is wrong'
complete -c mailwrench -n __mailwrench_no_command -a purge -d 'delete the selected messages (DELE, QUIT)'
complete -c mailwrench -n __mailwrench_no_command -a send -d 'send one message over SMTP (EHLO, STARTTLS, AUTH, MAIL, RCPT, DATA)'
complete -c mailwrench -n __mailwrench_no_command -a info -d 'verify a POP3 (or --smtp SMTP) server: greeting, capabilities, TLS session and certificates'
complete -c mailwrench -n __mailwrench_no_command -a session -d 'the POP3 (or --smtp SMTP) dialogue, typed at a prompt or read from a script, over TLS'
complete -c mailwrench -n __mailwrench_no_command -a help -d 'the options of COMMAND'
complete -c mailwrench -n __mailwrench_help_topic -a 'stat list top fetch check purge send info session help'

# Global options (every command)
complete -c mailwrench -s a -l account -x -a '(__mailwrench_accounts)' -d 'use the [account NAME] section of the config file (repeatable)'
complete -c mailwrench -l all-accounts -d 'run the command for every account of the config file'
complete -c mailwrench -l jobs -x -d 'with several accounts, run up to N at once'
complete -c mailwrench -l config -r -F -d 'config file'
complete -c mailwrench -s H -l host -x -a '(__fish_print_hostnames)' -d 'server host name or address'
complete -c mailwrench -s p -l port -x -d 'server port (995 with --tls implicit, else 110; send: 465, 587 with starttls, 25 with none)'
complete -c mailwrench -l tls -x -a 'implicit starttls none' -d 'how the connection is encrypted'
complete -c mailwrench -s u -l user -x -d 'user name to log in as'
complete -c mailwrench -n 'not __mailwrench_using_command send' -l auth -x -a 'auto user apop plain login cram-md5 scram-sha-256 xoauth2 oauthbearer' -d 'login mechanism'
# SMTP AUTH has the SASL mechanisms only: no USER/PASS, no APOP.
complete -c mailwrench -n '__mailwrench_using_command send' -l auth -x -a 'auto plain login cram-md5 scram-sha-256 xoauth2 oauthbearer' -d 'login mechanism'
complete -c mailwrench -l password-command -x -a '(__fish_complete_command)' -d 'command whose first output line is the password'
complete -c mailwrench -l password-file -r -F -d 'file whose first line is the password'
complete -c mailwrench -l allow-plaintext -d 'allow sending the password without TLS (only with --tls none)'
complete -c mailwrench -l cacert -r -F -d 'trust the CA certificates in FILE (PEM)'
complete -c mailwrench -l fingerprint -x -d 'trust only the certificate with this SHA-256 fingerprint'
complete -c mailwrench -l insecure -d 'do not verify the server certificate (dangerous)'
complete -c mailwrench -l tls-cert -r -F -d 'client certificate to present (PEM)'
complete -c mailwrench -l tls-key -r -F -d 'key of the client certificate (PEM, mode 600)'
complete -c mailwrench -l source-address -x -d 'connect from this address of this machine'
complete -c mailwrench -l proxy -x -a 'socks5h:// socks5://' -d 'connect through a SOCKS5 proxy'
complete -c mailwrench -l timeout -x -d 'deadline in seconds for connecting and every read and write'
complete -c mailwrench -l no-pipelining -d 'send one command per round trip'
complete -c mailwrench -l json -d 'print one JSON document on stdout'
complete -c mailwrench -s v -l verbose -d 'protocol transcript on stderr, secrets redacted (-vv: debug)'
complete -c mailwrench -s q -l quiet -d 'print only errors on stderr'
complete -c mailwrench -l log-file -r -F -d 'append a line per run and per failure to FILE'
complete -c mailwrench -l syslog -d 'send those lines to syslog too (facility mail)'
complete -c mailwrench -s h -l help -d 'show the help'
complete -c mailwrench -l version -d 'show the version'

# top: --lines, --raw (and the selection, below)
complete -c mailwrench -n '__mailwrench_using_command top' -l lines -x -d 'also show the first N lines of the body (default 0)'
complete -c mailwrench -n '__mailwrench_using_command top' -l raw -d 'the bytes as they are, even on a terminal'

# check: the limits and --retries (and the selection, below)
set -l checking '__mailwrench_using_command check'
complete -c mailwrench -n $checking -l max-header -x -d 'a header section larger than SIZE is an error (default 256K)'
complete -c mailwrench -n $checking -l max-depth -x -d 'MIME parts nested deeper than N are an error (default 20)'
complete -c mailwrench -n $checking -l max-parts -x -d 'more than N MIME parts in a message are an error (default 1000)'
complete -c mailwrench -n $checking -l retries -x -d 'reopen the session at most N times after a drop (default 3)'

# list: --headers; list, top, fetch, check and purge: the selection
set -l list '__mailwrench_using_command list'
set -l selecting '__mailwrench_using_command list; or __mailwrench_using_command top; or __mailwrench_using_command fetch; or __mailwrench_using_command check; or __mailwrench_using_command purge'
complete -c mailwrench -n $list -l headers -d 'also show From, Subject and Date'
# list, fetch and purge: --broken[=CODE,...] (a check of every candidate)
complete -c mailwrench -n '__mailwrench_using_command list; or __mailwrench_using_command fetch; or __mailwrench_using_command purge' -l broken -f -a 'address-invalid bare-cr base64-invalid body-line-too-long charset-unknown connection-lost content-type-invalid date-invalid date-missing encoded-word-invalid encoding-unknown field-duplicate from-invalid from-missing header-8bit header-line-too-long header-missing header-no-separator header-too-large mbox-from-line message-unterminated mime-boundary-missing mime-boundary-unclosed mime-too-deep mime-too-many-parts mime-truncated nul-byte quoted-printable-invalid retr-refused retr-timeout size-mismatch' -d 'only what a check finds broken (downloads every candidate)'
complete -c mailwrench -n $selecting -l uid -x -d 'the message with this UID (repeatable)'
complete -c mailwrench -n $selecting -l uid-file -r -F -d "UIDs from FILE, one a line ('-' reads stdin)"
complete -c mailwrench -n $selecting -l larger-than -x -d 'messages larger than SIZE (e.g. 500K, 5M, 1G)'
complete -c mailwrench -n $selecting -l smaller-than -x -d 'messages smaller than SIZE'
complete -c mailwrench -n $selecting -l older-than -x -d 'messages whose Date is older than AGE (e.g. 12h, 30d, 2w)'
complete -c mailwrench -n $selecting -l newer-than -x -d 'messages whose Date is newer than AGE'
complete -c mailwrench -n $selecting -l from -x -d 'messages whose From matches REGEX'
complete -c mailwrench -n $selecting -l subject -x -d 'messages whose Subject matches REGEX'
complete -c mailwrench -n $selecting -l header -x -d "messages with a header NAME matching REGEX ('NAME: REGEX')"
complete -c mailwrench -n $selecting -l all -d 'every message'

# fetch
set -l fetch '__mailwrench_using_command fetch'
complete -c mailwrench -n $fetch -s o -l output -x -a '(__mailwrench_output)' -d 'maildir:DIR | mbox:FILE | dir:DIR | mda:COMMAND | - (stdout)'
complete -c mailwrench -n $fetch -l new -d 'skip messages whose UID the state file records'
complete -c mailwrench -n $fetch -l state -r -F -d 'the state file of --new'
complete -c mailwrench -n $fetch -l delete -d 'delete each message on the server once it is safely stored'
complete -c mailwrench -n $fetch -l flush -d 'with --new: also delete the messages earlier runs stored'
complete -c mailwrench -n $fetch -l limit -x -d 'fetch at most N messages'
complete -c mailwrench -n $fetch -l max-size -x -d 'skip (and report) messages larger than SIZE'
complete -c mailwrench -n $fetch -l crlf -d 'store CRLF line endings as sent (default: LF)'
complete -c mailwrench -n $fetch -l wait-lock -x -d 'wait this long (seconds) for another run on the same mailbox'
complete -c mailwrench -n $fetch -l import-state -x -a '(__mailwrench_import_state)' -d 'first record the UIDs mpop, fetchmail or getmail retrieved (implies --new)'
complete -c mailwrench -n $fetch -l mda-timeout -x -d 'kill an mda: command still running after SECONDS (exit 75)'

# purge
set -l purge '__mailwrench_using_command purge'
complete -c mailwrench -n $purge -s n -l dry-run -d 'show what would be deleted; delete nothing'
complete -c mailwrench -n $purge -s y -l yes -d 'do not ask for confirmation'

# info
complete -c mailwrench -n '__mailwrench_using_command info' -l check -d 'judge the server: a verdict list, exit 1 on a fail'
complete -c mailwrench -n '__mailwrench_using_command info' -l smtp -d 'the account\'s SMTP server: EHLO keywords, STARTTLS, AUTH'

# session (no arguments: the commands are typed, or read from a script)
set -l session '__mailwrench_using_command session'
complete -c mailwrench -n $session -l smtp -d 'the SMTP dialogue with the account\'s SMTP server'
complete -c mailwrench -n $session -l script -r -F -d 'read the commands from FILE, one a line'
complete -c mailwrench -n $session -l keep-going -d 'in a script, go on after a command fails (exit 1 at the end)'
complete -c mailwrench -n $session -l raw -d 'send commands mailwrench does not know to the server as they are'
complete -c mailwrench -n $session -l keep-alive -x -d 'at a terminal, send NOOP after SECONDS without a command (default 60; 0: never)'

# send
set -l send '__mailwrench_using_command send'
complete -c mailwrench -n $send -l from -x -d 'sender (From header and MAIL FROM)'
complete -c mailwrench -n $send -l to -x -d 'recipient (repeatable)'
complete -c mailwrench -n $send -l cc -x -d 'copy recipient (repeatable)'
complete -c mailwrench -n $send -l bcc -x -d 'blind copy recipient, envelope only (repeatable)'
complete -c mailwrench -n $send -l subject -x -d 'the Subject'
complete -c mailwrench -n $send -l body -x -d 'the text of the message'
complete -c mailwrench -n $send -l body-file -r -F -d "read the text from FILE ('-' reads stdin)"
complete -c mailwrench -n $send -l attach -r -F -d 'attach FILE (repeatable; type from the extension)'
complete -c mailwrench -n $send -l header -x -d "add or replace a header field ('NAME: VALUE', repeatable)"
complete -c mailwrench -n $send -l raw -d 'stdin is a complete message'
complete -c mailwrench -n $send -l ehlo -x -a '(__fish_print_hostnames)' -d "the name to greet with (default: this machine's FQDN)"
complete -c mailwrench -n $send -s n -l dry-run -d 'print the message that would be sent; connect to nothing'
complete -c mailwrench -n $send -l chunking -d 'send with BDAT when the server offers CHUNKING'
complete -c mailwrench -n $send -l dsn-notify -x -a '(__mailwrench_dsn_notify)' -d 'when to send delivery status notifications'
complete -c mailwrench -n $send -l dsn-return -x -a 'full\t"the full message" hdrs\t"its headers only"' -d 'what a bounce returns'
complete -c mailwrench -n $send -l dsn-envid -x -d 'envelope id for DSNs'
complete -c mailwrench -n $send -l await -x -a '(__mailwrench_accounts)' -d 'then poll the POP3 account ACCOUNT until the message arrives'
complete -c mailwrench -n $send -l await-timeout -x -d 'how long --await waits, in seconds (default 60)'
complete -c mailwrench -n $send -l await-purge -d 'delete the message from ACCOUNT once it arrived'
complete -c mailwrench -n $send -l quit-after -x -a 'connect\t"after the greeting" tls\t"after STARTTLS and EHLO" auth\t"after AUTH" mail\t"after MAIL FROM" rcpt\t"after RCPT TO"' -d 'probe: stop there, QUIT, send no message'
complete -c mailwrench -n $send -l lmtp -d 'speak LMTP to a local delivery agent (-H /PATH: a Unix socket)'
