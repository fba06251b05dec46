"""Reading one answer from a person at a terminal, with a live countdown in the prompt.

With ``termios`` and standard input a terminal (POSIX), the line is read with echo off, one key
at a time. When standard output is a terminal too, the prompt line is redrawn every second with
the time left, so the countdown runs while the person types; otherwise the prompt goes once to
standard error, with the time left at that moment, and nothing is redrawn. Hidden answers (PINs,
codes) show nothing at all; visible ones (a card number) are echoed by the reader itself.
Everything happens in one thread: ``select`` waits for a key or the next second, so nothing
races the person's typing. When the time is up the question ends (:class:`TimeUp`).

Where ``termios`` is missing (Windows), a console is read one key at a time through
``msvcrt`` and the prompt is rewritten in place each second with the time left, so the live
countdown and the time limit work there too. Where standard input is not a terminal at all,
the prompt is written once with the time left, hidden answers are read with
:func:`getpass.getpass`, and an answer given after the time is up counts as :class:`TimeUp`.
"""

from __future__ import annotations

import codecs
import contextlib
import getpass
import importlib
import math
import os
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any, TextIO

try:
    import select
    import termios
except ImportError:  # pragma: no cover - Windows
    termios = None  # type: ignore[assignment]

_NO_TERMIOS: bool = termios is None
#: Windows' console keys (``kbhit``, ``getwch``), where termios is missing; else ``None``.
msvcrt: Any = None
if _NO_TERMIOS:  # pragma: no cover - Windows
    try:
        msvcrt = importlib.import_module("msvcrt")
    except ImportError:
        msvcrt = None

#: How often the Windows console is looked at for a key (it cannot be waited on with select).
_CONSOLE_POLL = 0.05

#: How the time left is written: seconds (0 when the time is up) -> text.
Countdown = Callable[[int], str]


class TimeUp(Exception):  # noqa: N818 (an outcome of a question, like EOFError)
    """The question's time ran out before it was answered."""


_ERASE_LINE = "\r\x1b[2K"


def is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class LineReader:
    """Asks for one line at a time. ``ask`` returns ``None`` at end of input (Ctrl-D on an
    empty line); Ctrl-C raises :class:`KeyboardInterrupt` as usual."""

    def __init__(self, *, stdin: TextIO | None = None, stdout: TextIO | None = None) -> None:
        self._in = stdin if stdin is not None else sys.stdin
        self._out = stdout if stdout is not None else sys.stdout
        self._pending = ""  # what was typed after an Enter, for the next question
        #: Keys are read one at a time (echo off, a deadline ends the question).
        self.keys = termios is not None and is_terminal(self._in)
        #: And the prompt is redrawn with the time left every second.
        self.live = self.keys and is_terminal(self._out)
        #: Without termios (Windows): the console's keys, and the prompt redrawn each second.
        self.console = (
            not self.keys
            and msvcrt is not None
            and is_terminal(self._in)
            and is_terminal(self._out)
        )

    def ask(
        self,
        prompt: str,
        *,
        hidden: bool,
        deadline: float | None = None,
        countdown: Countdown | None = None,
    ) -> str | None:
        """One answer. ``deadline`` is a :func:`time.monotonic` time shown as a countdown; when
        it passes, :class:`TimeUp` is raised."""
        self._out.flush()
        if self.keys:
            return self._ask_keys(prompt, hidden=hidden, deadline=deadline, countdown=countdown)
        if self.console:
            return self._ask_console(prompt, hidden=hidden, deadline=deadline, countdown=countdown)
        answer = self._ask_plain(prompt, hidden=hidden, deadline=deadline, countdown=countdown)
        if deadline is not None and time.monotonic() >= deadline and answer is not None:
            raise TimeUp  # answered, but too late: the answer is not used
        return answer

    @staticmethod
    def _label(prompt: str, deadline: float | None, countdown: Countdown | None) -> str:
        if deadline is None or countdown is None:
            return f"{prompt}: "
        left = max(0, math.ceil(deadline - time.monotonic()))
        return f"{prompt} [{countdown(left)}]: "

    def _ask_plain(
        self, prompt: str, *, hidden: bool, deadline: float | None, countdown: Countdown | None
    ) -> str | None:
        label = self._label(prompt, deadline, countdown)
        if hidden:
            try:
                return getpass.getpass(label, stream=sys.stderr)
            except EOFError:
                return None
        sys.stderr.write(label)
        sys.stderr.flush()
        line = self._in.readline()
        return None if not line else line.rstrip("\r\n")

    @contextlib.contextmanager
    def _raw(self) -> Iterator[int]:
        """Standard input without echo and line editing (Ctrl-C still interrupts)."""
        assert termios is not None  # noqa: S101 (keys is only set where termios exists)
        fd = self._in.fileno()
        saved = termios.tcgetattr(fd)
        raw = termios.tcgetattr(fd)
        raw[3] &= ~(termios.ECHO | termios.ICANON)  # keep ISIG: Ctrl-C still interrupts
        raw[6][termios.VMIN] = 1
        raw[6][termios.VTIME] = 0
        termios.tcsetattr(fd, termios.TCSADRAIN, raw)
        try:
            yield fd
        finally:
            termios.tcsetattr(fd, termios.TCSADRAIN, saved)

    def _screen(self) -> TextIO:
        """Where prompts and echo go: standard output when it is the terminal, else standard
        error (standard output is then a pipe or a file; the questions still reach the person)."""
        return self._out if self.live else sys.stderr

    def _ask_keys(
        self, prompt: str, *, hidden: bool, deadline: float | None, countdown: Countdown | None
    ) -> str | None:
        out = self._screen()
        line = _Line(out, hidden=hidden, redraw=self.live)
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

        def draw() -> None:
            line.draw(self._label(prompt, deadline, countdown))

        with self._raw() as fd:
            draw()
            while True:
                if self._pending:
                    data, self._pending = self._pending, ""
                else:
                    ready, _, _ = select.select([fd], [], [], _next_tick(deadline))
                    if not ready:
                        if deadline is not None and time.monotonic() >= deadline:
                            if self.live:
                                draw()  # shows the time is up
                            out.write("\n")
                            out.flush()
                            raise TimeUp
                        if self.live:
                            draw()
                        continue
                    chunk = os.read(fd, 4096)
                    if not chunk:  # the terminal went away
                        out.write("\n")
                        return None
                    data = decoder.decode(chunk)
                for i, ch in enumerate(data):
                    outcome = line.feed(ch, redraw=draw)
                    if outcome is not None:
                        rest = data[i + 1 :]
                        self._pending = rest[1:] if ch == "\r" and rest[:1] == "\n" else rest
                        out.write("\n")
                        out.flush()
                        return None if outcome is _EOF else line.text
                out.flush()

    def _ask_console(
        self, prompt: str, *, hidden: bool, deadline: float | None, countdown: Countdown | None
    ) -> str | None:
        """The live question on a console without termios (Windows): keys from ``msvcrt``
        (no echo), the prompt rewritten in place (a carriage return, no escape sequence) each
        time the time left changes, :class:`TimeUp` when it runs out."""
        assert msvcrt is not None  # noqa: S101 (console is only set where msvcrt exists)
        out = self._out
        line = _Line(out, hidden=hidden, erase="\r")
        shown = ""

        def draw() -> None:
            nonlocal shown
            label = self._label(prompt, deadline, countdown)
            if label != shown:
                line.draw(label)
                shown = label

        draw()
        while True:
            if not msvcrt.kbhit():
                if deadline is not None and time.monotonic() >= deadline:
                    out.write("\n")
                    out.flush()
                    raise TimeUp
                draw()
                time.sleep(_CONSOLE_POLL)  # the console has no select: look again shortly
                continue
            ch = msvcrt.getwch()
            if ch in ("\x00", "\xe0"):  # the first half of an arrow or function key
                msvcrt.getwch()
                continue
            if ch == "\x03":
                raise KeyboardInterrupt
            outcome = line.feed("\x04" if ch == "\x1a" else ch, redraw=draw)  # Ctrl-Z: end
            if outcome is not None:
                out.write("\n")
                out.flush()
                return None if outcome is _EOF else line.text
            out.flush()


_EOF = object()
_DONE = object()


class _Line:
    """The answer being typed: keys in, echo (when not hidden) out."""

    def __init__(
        self, out: TextIO, *, hidden: bool, redraw: bool = True, erase: str = _ERASE_LINE
    ) -> None:
        self._out = out
        self._hidden = hidden
        self._redraw = redraw
        self._erase = erase
        self._width = 0
        self._drawn = False
        self._typed: list[str] = []
        self._escape = False

    @property
    def text(self) -> str:
        return "".join(self._typed)

    def draw(self, label: str) -> None:
        """The prompt and what is shown of the answer; without redrawing (into a pipe), the
        prompt is written once and never erased."""
        if not self._redraw:
            if not self._drawn:
                self._out.write(label)
                self._out.flush()
            self._drawn = True
            return
        shown = label + ("" if self._hidden else self.text)
        if self._erase == _ERASE_LINE:
            self._out.write(_ERASE_LINE + shown)
        else:  # a console without escape sequences: overwrite, blank what is left of the old
            pad = max(0, self._width - len(shown))
            self._out.write(self._erase + shown + " " * pad + "\b" * pad)
        self._width = len(shown)
        self._out.flush()

    def feed(self, ch: str, *, redraw: Callable[[], None]) -> object | None:
        """Take one key; ``_DONE`` at Enter, ``_EOF`` at Ctrl-D on an empty line."""
        if self._escape:  # the rest of an arrow or function key: ignored
            self._escape = not ch.isalpha() and ch != "~"
        elif ch in "\r\n":
            return _DONE
        elif ch == "\x04":
            return None if self._typed else _EOF
        elif ch in "\x7f\b":
            if self._typed:
                self._typed.pop()
                if not self._hidden:
                    self._out.write("\b \b")
        elif ch == "\x15":  # Ctrl-U: start the line again
            self._typed.clear()
            redraw()
        elif ch == "\x1b":
            self._escape = True
        elif ch.isprintable():
            self._typed.append(ch)
            if not self._hidden:
                self._out.write(ch)
        return None


def _next_tick(deadline: float | None) -> float | None:
    """Seconds until the shown countdown changes (``None``: it never does; ``0``: the time is
    already up)."""
    if deadline is None:
        return None
    left = deadline - time.monotonic()
    if left <= 0:
        return 0.0  # the time is up: look once more, without waiting
    return max(left - (math.ceil(left) - 1), 0.01)
