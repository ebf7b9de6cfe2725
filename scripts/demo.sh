#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Build mailwrench, start a throw-away Dovecot (POP3) and Postfix (SMTP) on free loopback
# ports under a temporary directory, and show every command working against them:
# send three mails → stat → list --headers → top → fetch → top --uid → purge --dry-run → purge → --json.
# Everything it starts is stopped on exit; it is safe to run again. Needs root (the mail
# servers' processes run as their own users) and installs what is missing with apt-get.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

if [ "$(id -u)" -ne 0 ]; then
  echo "demo.sh: run as root: it starts a private Dovecot and Postfix (nothing system-wide)" >&2
  exit 77
fi

scripts/install-deps.sh jq
cmake --preset release >/dev/null
cmake --build --preset release -j2 >/dev/null
mw=$repo/build/release/src/mailwrench

dir=$(mktemp -d /tmp/mw-demo.XXXXXX)
chmod 755 "$dir"
cleanup() {
  python3 "$repo/tests/integration/postfix_fixture.py" stop "$dir" >/dev/null 2>&1 || true
  python3 "$repo/tests/integration/dovecot_fixture.py" stop "$dir" >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT

echo "== starting Dovecot and Postfix under $dir"
python3 tests/integration/dovecot_fixture.py start "$dir" >/dev/null
python3 tests/integration/postfix_fixture.py start "$dir" >/dev/null

# The demo account: one of the fixture's send users, reachable over POP3S and submission.
env_json=$dir/env.json
field() { python3 -c "import json,sys; e=json.load(open('$env_json')); print($1)"; }
user=s01
password=$(field "e['send_users']['$user']['password'] if isinstance(e['send_users']['$user'], dict) else e['send_users']['$user']")
printf '%s\n' "$password" > "$dir/demo-password"
chmod 600 "$dir/demo-password"
cat > "$dir/config" <<EOF
[account demo]
host = localhost
port = $(field "e['pop3s_port']")
user = $user
password-file = $dir/demo-password
cacert = $(field "e['ca']")
smtp-port = $(field "e['smtp_port']")
smtp-tls = starttls
from = Demo Sender <$user@lab.test>
EOF
export MAILWRENCH_CONFIG=$dir/config
export XDG_STATE_HOME=$dir/state

show() {
  printf '\n\033[1m$ %s\033[0m\n' "$*"
  "$@"
}
mailwrench() { "$mw" "$@"; }

echo "== the config file ($MAILWRENCH_CONFIG):"
sed "s|$dir|\$DEMO|g" "$dir/config"

printf 'Hello from the mailwrench demo.\n.A line that starts with a dot\nGrüße!\n' > "$dir/note.txt"
show mailwrench -a demo send --to "$user@lab.test" --subject "First demo mail" --body "Hello!"
show mailwrench -a demo send --to "$user@lab.test" --subject "Zweite Nachricht: Grüße" \
  --body-file "$dir/note.txt"
show mailwrench -a demo send --to "$user@lab.test" --subject "With an attachment" \
  --body "See the attached file." --attach "$dir/note.txt"

# Postfix delivers within a moment; wait until the three have arrived.
for _ in $(seq 1 50); do
  n=$("$mw" -a demo stat --json | python3 -c "import json,sys; print(json.load(sys.stdin)['messages'])")
  [ "$n" -ge 3 ] && break
  sleep 0.2
done

show mailwrench -a demo stat
show mailwrench -a demo list --headers
show mailwrench -a demo top 2 --lines 3
show mailwrench -a demo fetch --new -o "maildir:$dir/export"
echo "(the Maildir now holds: $(ls "$dir/export/new" | wc -l) messages)"
show mailwrench -a demo fetch --new -o "maildir:$dir/export"
uid=$("$mw" -a demo list --json --subject 'attachment' |
      python3 -c "import json,sys; print(json.load(sys.stdin)['messages'][0]['uid'])")
show mailwrench -a demo top --uid "$uid"
show mailwrench -a demo purge --uid "$uid" --dry-run
show mailwrench -a demo purge --uid "$uid" --yes
printf '\n\033[1m$ mailwrench -a demo --json list --headers | jq ...\033[0m\n'
if command -v jq >/dev/null; then
  "$mw" -a demo --json list --headers | jq -c '.messages[] | {number, uid, subject}'
else
  "$mw" -a demo --json list --headers
fi
show mailwrench -a demo send --to nobody@lab.test --subject "to nobody" --body x || \
  echo "(exit status $?: every recipient was refused)"

printf '\n== done; stopping the servers and removing %s\n' "$dir"
