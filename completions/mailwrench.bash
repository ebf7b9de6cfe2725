# bash completion for mailwrench(1)                               -*- shell-script -*-
# SPDX-License-Identifier: Apache-2.0
#
# Installed as .../bash-completion/completions/mailwrench. Works with and without the
# bash-completion package (it only borrows _filedir from it when present).
# Checked against `mailwrench --help` and `mailwrench help COMMAND` by tests/docs.

_mailwrench_commands="stat list top fetch check purge send info session help"

_mailwrench_global_opts="-a --account --all-accounts --jobs --config -H --host -p --port --tls -u --user --auth
    --password-command --password-file --allow-plaintext --cacert --fingerprint --insecure
    --tls-cert --tls-key --source-address --proxy --timeout --no-pipelining --json -v --verbose
    -q --quiet --log-file --syslog -h --help --version"

_mailwrench_selection_opts="--uid --uid-file --larger-than --smaller-than --older-than
    --newer-than --from --subject --header --all"

_mailwrench_list_opts="--headers --broken $_mailwrench_selection_opts"

_mailwrench_fetch_opts="-o --output --new --state --delete --flush --limit --max-size --crlf
    --wait-lock --mda-timeout --broken --import-state $_mailwrench_selection_opts"

_mailwrench_purge_opts="-n --dry-run -y --yes --broken $_mailwrench_selection_opts"

_mailwrench_top_opts="--lines --raw $_mailwrench_selection_opts"

_mailwrench_check_opts="--max-header --max-depth --max-parts --retries $_mailwrench_selection_opts"

_mailwrench_send_opts="--from --to --cc --bcc --subject --body --body-file --attach --header
    --raw --ehlo -n --dry-run --chunking --dsn-notify --dsn-return --dsn-envid --await
    --await-timeout --await-purge --quit-after --lmtp"

_mailwrench_info_opts="--check --smtp"

_mailwrench_session_opts="--smtp --script --keep-going --raw --keep-alive"

# The codes --broken=CODES accepts (src/mail/check.cpp known_codes()).
_mailwrench_check_codes="address-invalid bare-cr base64-invalid body-line-too-long charset-unknown connection-lost content-type-invalid date-invalid date-missing encoded-word-invalid encoding-unknown field-duplicate from-invalid from-missing header-8bit header-line-too-long header-missing header-no-separator header-too-large mbox-from-line message-unterminated mime-boundary-missing mime-boundary-unclosed mime-too-deep mime-too-many-parts mime-truncated nul-byte quoted-printable-invalid retr-refused retr-timeout size-mismatch"

# Options that take a value (the next word, or after '=').
_mailwrench_value_opts=" -a --account --jobs --config -H --host -p --port --tls -u --user --auth
    --password-command --password-file --cacert --fingerprint --tls-cert --tls-key
    --source-address --proxy --timeout --uid --uid-file
    --larger-than --smaller-than --older-than --newer-than --from --subject --header
    -o --output --state --limit --max-size --wait-lock --mda-timeout --to --cc --bcc --body --body-file
    --attach --ehlo --dsn-notify --dsn-return --dsn-envid --await --await-timeout --lines
    --max-header --max-depth --max-parts --retries --script --keep-alive --import-state
    --quit-after --log-file "

_mailwrench_takes_value()
{
    [[ $_mailwrench_value_opts == *[[:space:]]"$1"[[:space:]]* ]]
}

# The account names of the config file: the [account NAME] sections of --config FILE on the
# command line, else $MAILWRENCH_CONFIG, else ${XDG_CONFIG_HOME:-~/.config}/mailwrench/config.
_mailwrench_accounts()
{
    local config="" i
    for ((i = 1; i < COMP_CWORD; i++)); do
        case ${COMP_WORDS[i]} in
        --config)
            if [[ ${COMP_WORDS[i + 1]} == "=" ]]; then
                config=${COMP_WORDS[i + 2]}
            else
                config=${COMP_WORDS[i + 1]}
            fi
            ;;
        --config=*) config=${COMP_WORDS[i]#--config=} ;;
        esac
    done
    if [[ -z $config ]]; then
        if [[ -n ${MAILWRENCH_CONFIG-} ]]; then
            config=$MAILWRENCH_CONFIG
        else
            config=${XDG_CONFIG_HOME:-$HOME/.config}/mailwrench/config
        fi
    fi
    [[ $config == "~/"* ]] && config=$HOME/${config#"~/"}
    [[ -r $config ]] || return 0
    # Program_options INI: '#' starts a comment anywhere; a section is [account NAME].
    sed -n -e 's/#.*//' \
        -e 's/^[[:space:]]*\[account \(.*[^[:space:]]\)[[:space:]]*\][[:space:]]*$/\1/p' \
        "$config" 2>/dev/null
}

# COMPREPLY = the words of the list "$1" (one a line) that start with "$2".
_mailwrench_add_lines()
{
    local line
    while IFS= read -r line; do
        [[ -n $line && $line == "$2"* ]] && COMPREPLY+=("$line")
    done <<<"$1"
}

_mailwrench_files()
{
    if declare -F _filedir >/dev/null; then
        _filedir
    else
        local IFS=$'\n'
        COMPREPLY+=($(compgen -f -- "$1"))
        compopt -o filenames 2>/dev/null
    fi
}

# The value of --output: first the kind of target (maildir:, mbox:, dir:, mda: or - for standard
# output), then the path after the prefix (directories for maildir: and dir:, files for mbox:,
# commands for mda:).
# $1 is the whole value typed so far, $2 the part of it that readline replaces: all of it, or
# with ':' in COMP_WORDBREAKS (the default) only what follows the colon.
_mailwrench_output()
{
    local value=$1 word=$2
    case $value in
    maildir:* | mbox:* | dir:*) ;;
    mda:*)
        local cut=$((${#value} - ${#2})) f IFS=$'\n'
        for f in $(compgen -c -- "${value#mda:}"); do
            f="mda:$f"
            COMPREPLY+=("${f:cut}")
        done
        return 0
        ;;
    *)
        COMPREPLY=($(compgen -W "maildir: mbox: dir: mda: -" -- "$value"))
        [[ ${COMPREPLY[*]} == - ]] || compopt -o nospace 2>/dev/null
        return 0
        ;;
    esac
    local kind=${value%%:*} path=${value#*:} cut=$((${#value} - ${#word})) f IFS=$'\n'
    local -a found
    if [[ $kind == mbox ]]; then
        found=($(compgen -f -- "$path"))
    else
        found=($(compgen -d -- "$path"))
    fi
    for f in "${found[@]}"; do
        [[ -d $f ]] && f+=/
        f="$kind:$f"
        COMPREPLY+=("${f:cut}")
    done
    # A directory goes on with its entries, a file ends the word.
    if ((${#found[@]} == 1)) && [[ -d ${found[0]} ]] || ((${#found[@]} > 1)); then
        compopt -o nospace 2>/dev/null
    fi
    return 0
}

# The value "$1" of fetch --import-state: mpop:, fetchmail: or getmail:, then a file; the
# candidates are cut to the word being completed, "$2" (as for _mailwrench_output).
_mailwrench_import_state()
{
    local value=$1 word=$2
    case $value in
    mpop:* | fetchmail:* | getmail:*) ;;
    *)
        COMPREPLY=($(compgen -W "mpop: fetchmail: getmail:" -- "$value"))
        compopt -o nospace 2>/dev/null
        return 0
        ;;
    esac
    local kind=${value%%:*} path=${value#*:} cut=$((${#value} - ${#word})) f IFS=$'\n'
    local -a found
    found=($(compgen -f -- "$path"))
    for f in "${found[@]}"; do
        [[ -d $f ]] && f+=/
        f="$kind:$f"
        COMPREPLY+=("${f:cut}")
    done
    # A directory goes on with its entries, a file ends the word.
    if ((${#found[@]} == 1)) && [[ -d ${found[0]} ]] || ((${#found[@]} > 1)); then
        compopt -o nospace 2>/dev/null
    fi
    return 0
}

# The value of send --dsn-notify: NEVER, or a comma-separated list of SUCCESS, FAILURE and
# DELAY; after a comma, the words not yet in the list.
_mailwrench_dsn_notify()
{
    local cur=$1 done="" word
    if [[ $cur == *,* ]]; then
        done=${cur%,*},
        # NEVER stands alone.
        [[ ,$done == *,NEVER,* ]] && return 0
        for word in SUCCESS FAILURE DELAY; do
            [[ ,$done == *,$word,* ]] && continue
            [[ $word == "${cur##*,}"* ]] && COMPREPLY+=("$done$word")
        done
    else
        COMPREPLY=($(compgen -W "NEVER SUCCESS FAILURE DELAY" -- "$cur"))
    fi
    # A list goes on after a comma: no space after SUCCESS, FAILURE or DELAY.
    [[ ${COMPREPLY[*]} == NEVER ]] || compopt -o nospace 2>/dev/null
    return 0
}

# Completes the value "$2" of option "$1"; returns 1 if "$1" takes no value.
# $_mailwrench_command is the command word, when there is one.
_mailwrench_value()
{
    local opt=$1 cur=$2
    case $opt in
    -o | --output)
        _mailwrench_output "$cur" "$cur"
        ;;
    --import-state)
        _mailwrench_import_state "$cur" "$cur"
        ;;
    --tls)
        COMPREPLY=($(compgen -W "implicit starttls none" -- "$cur"))
        ;;
    --auth)
        if [[ ${_mailwrench_command-} == send ]]; then
            # USER/PASS and APOP are POP3 logins; SMTP AUTH has only the SASL mechanisms.
            COMPREPLY=($(compgen -W "auto plain login cram-md5 scram-sha-256 xoauth2
                oauthbearer" -- "$cur"))
        else
            COMPREPLY=($(compgen -W "auto user apop plain login cram-md5 scram-sha-256 xoauth2
                oauthbearer" -- "$cur"))
        fi
        ;;
    -a | --account | --await)
        _mailwrench_add_lines "$(_mailwrench_accounts)" "$cur"
        ;;
    --config | --password-file | --cacert | --tls-cert | --tls-key | --uid-file | --state | --attach | --body-file | --script | --log-file)
        _mailwrench_files "$cur"
        ;;
    --dsn-return)
        COMPREPLY=($(compgen -W "full hdrs" -- "$cur"))
        ;;
    --quit-after)
        COMPREPLY=($(compgen -W "connect tls auth mail rcpt" -- "$cur"))
        ;;
    --broken)
        # --broken=CODE,CODE: the check codes (mailwrench(1), CHECKING MESSAGES).
        local done=${cur%"${cur##*,}"}
        COMPREPLY=($(compgen -P "$done" -W "$_mailwrench_check_codes" -- "${cur##*,}"))
        ;;
    --dsn-notify)
        _mailwrench_dsn_notify "$cur"
        ;;
    --ehlo)
        COMPREPLY=($(compgen -A hostname -- "$cur"))
        ;;
    --password-command)
        COMPREPLY=($(compgen -c -- "$cur"))
        ;;
    -H | --host)
        COMPREPLY=($(compgen -A hostname -- "$cur"))
        ;;
    *)
        _mailwrench_takes_value "$opt" || return 1
        # A port, user, number, size, age, regex, address, text...: nothing to offer.
        ;;
    esac
    return 0
}

_mailwrench()
{
    COMPREPLY=()
    local cur=${COMP_WORDS[COMP_CWORD]} prev="" cword=$COMP_CWORD
    ((cword > 0)) && prev=${COMP_WORDS[cword - 1]}

    # COMP_WORDBREAKS usually holds '=', so "--tls=st" arrives as "--tls" "=" "st".
    local after_eq=""
    if [[ $cur == "=" && $prev == --* ]]; then
        cur="" cword=$((cword - 1)) after_eq=1
    elif [[ $prev == "=" ]] && ((cword >= 2)) && [[ ${COMP_WORDS[cword - 2]} == --* ]]; then
        prev=${COMP_WORDS[cword - 2]} cword=$((cword - 2)) after_eq=1
    fi

    # Find the command word, skipping options and their values.
    local command="" command_at=0 i word
    for ((i = 1; i < cword; i++)); do
        word=${COMP_WORDS[i]}
        if [[ $word == "--" ]]; then
            ((i + 1 < cword)) && command=${COMP_WORDS[i + 1]} command_at=$((i + 1))
            break
        fi
        if [[ $word == -* ]]; then
            if _mailwrench_takes_value "$word"; then
                ((i++))
                [[ ${COMP_WORDS[i]} == "=" ]] && ((i++))
                # "maildir:DIR" split at ':' is three words.
                [[ ${COMP_WORDS[i + 1]} == : ]] && ((i += 2))
            fi
            continue
        fi
        command=$word command_at=$i
        break
    done
    # For _mailwrench_value: send takes other --auth values.
    local _mailwrench_command=$command

    # With ':' in COMP_WORDBREAKS (the default), "-o maildir:/tm" arrives as "-o" "maildir" ":"
    # "/tm", right after the colon as "-o" "maildir" ":", and "--output=maildir:" after
    # "--output" "=" (or as "--output=maildir" without '=' in COMP_WORDBREAKS).
    local kind_at=0 word=""
    if [[ $cur == : ]]; then
        kind_at=$((cword - 1))
    elif [[ $prev == : ]] && ((cword >= 2)); then
        kind_at=$((cword - 2)) word=$cur
    fi
    if ((kind_at >= 1)); then
        local kind=${COMP_WORDS[kind_at]} opt=""
        if [[ $kind == --output=* ]]; then
            kind=${kind#--output=} opt=--output
        elif [[ $kind == --import-state=* ]]; then
            kind=${kind#--import-state=} opt=--import-state
        else
            local opt_at=$((kind_at - 1))
            [[ ${COMP_WORDS[opt_at]} == "=" ]] && ((opt_at--))
            ((opt_at >= 1)) && opt=${COMP_WORDS[opt_at]}
        fi
        if [[ $opt == -o || $opt == --output ]]; then
            _mailwrench_output "$kind:$word" "$word"
            return 0
        fi
        if [[ $opt == --import-state ]]; then
            _mailwrench_import_state "$kind:$word" "$word"
            return 0
        fi
    fi
    # Without '=' in COMP_WORDBREAKS: "--tls=st" is one word.
    if [[ $cur == --*=* ]]; then
        local opt=${cur%%=*} value=${cur#*=}
        # The whole word is replaced: keep the option in front.
        _mailwrench_value "$opt" "$value" && COMPREPLY=("${COMPREPLY[@]/#/$opt=}")
        return 0
    fi

    # The value of an option.
    # (--broken takes its codes only after '=': "--broken 3" is --broken and message 3.)
    if [[ $prev == -* ]] && [[ $prev != --broken || -n $after_eq ]] &&
        _mailwrench_value "$prev" "$cur"; then
        return 0
    fi

    if [[ $cur == -* ]]; then
        local opts=$_mailwrench_global_opts
        case $command in
        list) opts+=" $_mailwrench_list_opts" ;;
        fetch) opts+=" $_mailwrench_fetch_opts" ;;
        purge) opts+=" $_mailwrench_purge_opts" ;;
        send) opts+=" $_mailwrench_send_opts" ;;
        top) opts+=" $_mailwrench_top_opts" ;;
        info) opts+=" $_mailwrench_info_opts" ;;
        session) opts+=" $_mailwrench_session_opts" ;;
        check) opts+=" $_mailwrench_check_opts" ;;
        esac
        COMPREPLY=($(compgen -W "$opts" -- "$cur"))
        return 0
    fi

    if [[ -z $command ]]; then
        COMPREPLY=($(compgen -W "$_mailwrench_commands" -- "$cur"))
    elif [[ $command == help ]]; then
        # help COMMAND: one command name.
        local n=0
        for ((i = command_at + 1; i < cword; i++)); do
            [[ ${COMP_WORDS[i]} != -* ]] && ((n++))
        done
        ((n == 0)) && COMPREPLY=($(compgen -W "$_mailwrench_commands" -- "$cur"))
    fi
    # list/fetch/check/purge/top SELECTION: numbers, nothing to offer; send and session take
    # no arguments.
    return 0
}

complete -F _mailwrench mailwrench
