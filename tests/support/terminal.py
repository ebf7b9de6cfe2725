# SPDX-License-Identifier: Apache-2.0
"""A real terminal for integration scenarios: a shell command in a detached tmux session on its
own socket (answered with send-keys, read with capture-pane). Used where mailwrench must
behave as it does for a person at a terminal: prompts on /dev/tty, tables as wide as the
window."""
from __future__ import annotations

import shlex
import shutil
import subprocess
import time

from mwtest import Failure, Skip


class TmuxTerminal:
    """A shell command in a detached tmux session (its own server and socket), WIDTH columns.
    The password reaches mailwrench through the tmux server's environment, never argv."""

    def __init__(self, ctx, command: str, *, password: str, width: int = 120):
        if shutil.which("tmux") is None:
            raise Skip("tmux is not installed (scripts/install-deps.sh installs it)")
        self.socket = str(ctx.scratch / "tmux.sock")
        self.rc = ctx.scratch / "rc"
        env = ctx.base_env(None)
        env["MAILWRENCH_PASSWORD"] = password
        env["TERM"] = "xterm"
        script = ctx.scratch / "run.sh"
        script.write_text(f"cd {shlex.quote(str(ctx.scratch))}\n{command}\necho $? >{self.rc}\nsleep 60\n")
        start = ["tmux", "-S", self.socket, "-f", "/dev/null", "new-session", "-d", "-x", str(width),
                 "-y", "50", "sh", str(script)]
        # Under load a new tmux server now and then dies as it starts ("server exited
        # unexpectedly"; seen once in a clean-clone ASan run): clear what is left of it, start again.
        if subprocess.run(start, env=env, capture_output=True, timeout=20).returncode != 0:
            self.close()
            time.sleep(0.2)
            subprocess.run(start, env=env, check=True, timeout=20)

    def screen(self) -> str:
        return subprocess.run(["tmux", "-S", self.socket, "capture-pane", "-p", "-J"], capture_output=True,
                              text=True, timeout=20).stdout

    def wait_for(self, text: str, timeout: float = 20) -> str:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.1)
        raise Failure(f"the terminal never showed {text!r}; it shows:\n{self.screen()}")

    def keys(self, *keys: str):
        subprocess.run(["tmux", "-S", self.socket, "send-keys", *keys], check=True, timeout=20)

    def exit_code(self, timeout: float = 20) -> int:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.rc.exists() and self.rc.read_text().strip():
                return int(self.rc.read_text())
            time.sleep(0.1)
        raise Failure(f"mailwrench did not finish; the terminal shows:\n{self.screen()}")

    def close(self):
        subprocess.run(["tmux", "-S", self.socket, "kill-server"], capture_output=True, timeout=20)
