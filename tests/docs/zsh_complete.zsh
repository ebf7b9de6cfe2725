# SPDX-License-Identifier: Apache-2.0
# Prints the candidates that zsh's completion system offers for command lines.
#   zsh -f zsh_complete.zsh COMPLETIONS_DIR WORK_FILE 'mailwrench li' 'mailwrench --tls ' ...
# Runs one interactive `zsh -f -i` on a pseudo-terminal (zsh/zpty), loads compinit with
# COMPLETIONS_DIR first in $fpath, and for each line: clears the line (^U), types it and TAB.
# A compadd wrapper appends every match to WORK_FILE, and a comppostfunc ends the answer
# with a marker line. Prints WORK_FILE: the matches of each line, each answer followed by
# the marker line "--MAILWRENCH-COMPLETION-DONE--".
# Exit status: 0 done, 77 no zsh/zpty, 2 a line got no answer within 10 s.
zmodload zsh/zpty 2>/dev/null || { print "SKIP: zsh has no zsh/zpty module"; exit 77 }
zmodload zsh/zselect 2>/dev/null
emulate -L zsh
local compdir=$1 out=$2
shift 2
local setup=$out.setup marker='--MAILWRENCH-COMPLETION-DONE--'
: >| $out
# Matches are written by the inner shell, so the file names are quoted into its code.
cat >| $setup <<SETUP
fpath=(${(q)compdir} \$fpath)
autoload -Uz compinit && compinit -u -D
unsetopt beep
zstyle ':completion:*' insert-tab false
compadd() {
  # Calls that only ask for matches (-O, -A, -D) are not offers.
  if [[ \${@[1,(i)(-|--)]} == *-(O|A|D)\\ * ]]; then builtin compadd "\$@"; return; fi
  local -a __mw_hits
  builtin compadd -A __mw_hits "\$@"
  (( \$#__mw_hits )) && print -rl -- "\${__mw_hits[@]}" >> ${(q)out}
  builtin compadd "\$@"
}
# _main_complete empties comppostfuncs before calling them: arm it again for the next line.
_mw_done() { print -r -- ${(q)marker} >> ${(q)out}; comppostfuncs=(_mw_done) }
comppostfuncs=(_mw_done)
bindkey '^I' complete-word
bindkey '^U' kill-whole-line
PS1='> '
SETUP

answers() {
  local -a lines
  lines=(${(f)"$(<$out)"})
  print ${#${(M)lines:#$marker}}
}

zpty mw_zsh 'zsh -f -i'
zpty -w mw_zsh "source ${(q)setup}"
local n=0 rc=0 line i chunk
for line in "$@"; do
  (( n++ ))
  zpty -w -n mw_zsh $'\C-u'"$line"$'\t'
  for i in {1..500}; do
    # Read what the shell echoes and lists, so that it never blocks on a full terminal.
    while zpty -r -t mw_zsh chunk 2>/dev/null; do :; done
    (( $(answers) >= n )) && break
    zselect -t 2 2>/dev/null || sleep 0.02
  done
  if (( $(answers) < n )); then
    print -u2 "no answer for: $line"
    rc=2
    break
  fi
done
zpty -d mw_zsh 2>/dev/null
cat -- $out
rm -f -- $setup
exit $rc
