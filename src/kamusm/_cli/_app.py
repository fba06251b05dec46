"""The click commands, defined once at module level.

Every help text is a key into :mod:`kamusm._cli._texts`, put into the reader's language only
when the help is drawn: the language of ``--lang`` (given to the group or the command, before
or after ``--help``) or ``KAMUSM_LANG``, so ``kamusm --help`` is Turkish and ``kamusm --help
--lang en`` English. Each command body runs through :func:`kamusm._cli._common.run_guarded`,
which turns every failure into one line and an exit code."""

from __future__ import annotations

import copy
import importlib
import re
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn, TypeVar

import click

from kamusm._cli._click_texts import CLICK_MODULES, METAVARS_TR, PLURALS_TR, TEXTS_TR
from kamusm._cli._common import (
    ENV_PORTAL,
    Settings,
    error_line,
    resolve_lang,
    run_guarded,
    setup_logging,
)
from kamusm._cli._exit import ExitCode
from kamusm._cli._texts import text
from kamusm.messages import Language
from kamusm.values import Product

F = TypeVar("F", bound=Callable[..., Any])

_META = "kamusm.settings"


def _remember(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """Options given to the group or to a command land in one place; the command's win."""
    if value is not None and value is not False:
        ctx.find_root().meta.setdefault(_META, {})[param.name] = value
    return value


def _lang(ctx: click.Context | None = None) -> Language:
    """The language of ``ctx`` (default: the context being parsed or run): ``--lang`` given to
    the group or the command, else ``KAMUSM_LANG``, else Turkish."""
    if ctx is None:
        ctx = click.get_current_context(silent=True)
    given = {} if ctx is None else ctx.find_root().meta.get(_META, {})
    return resolve_lang(given.get("lang"))


def _settings(ctx: click.Context) -> Settings:
    given = ctx.find_root().meta.get(_META, {})
    settings = Settings(
        lang=resolve_lang(given.get("lang")),
        module=given.get("module"),
        debug=bool(given.get("debug")),
    )
    setup_logging(settings.debug)
    return settings


def _help_asked(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    """``--help`` is noted, and shown once the whole command line is read (see
    :meth:`_Command.parse_args`), so that a ``--lang`` after it still applies."""
    if value is True and isinstance(ctx, _Context) and not ctx.resilient_parsing:
        ctx.help_asked = True


class _Option(click.Option):
    """An option whose ``help`` is a text key and whose placeholder a word, both put in the
    reader's language when shown."""

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        shown = copy.copy(self)
        shown.help = text(self.help, _lang(ctx)) if self.help else None
        return click.Option.get_help_record(shown, ctx)

    def make_metavar(self, ctx: click.Context) -> str:
        return _metavar(super().make_metavar(ctx))


def _common(f: F) -> F:
    """``--module``, ``--lang``, ``--debug`` and ``--help``, taken by the group and every
    command."""
    options = [
        click.option(
            "--module",
            cls=_Option,
            metavar="PATH",
            expose_value=False,
            callback=_remember,
            help="cli.help.opt.module",
        ),
        click.option(
            "--lang",
            cls=_Option,
            type=click.Choice(["tr", "en"]),
            expose_value=False,
            callback=_remember,
            help="cli.help.opt.lang",
        ),
        click.option(
            "--debug",
            cls=_Option,
            is_flag=True,
            expose_value=False,
            callback=_remember,
            help="cli.help.opt.debug",
        ),
        click.option(
            "-h",
            "--help",
            cls=_Option,
            is_flag=True,
            is_eager=True,
            expose_value=False,
            callback=_help_asked,
            help="cli.help.opt.help",
        ),
    ]
    for option in reversed(options):
        f = option(f)
    return f


class _Context(click.Context):
    """A context that remembers ``--help`` until the whole line is read."""

    help_asked = False


def _ours() -> Language | None:
    """The language of the ``kamusm`` command being read or run, or ``None`` outside one (a
    click program of someone else's in the same process keeps click's English)."""
    ctx = click.get_current_context(silent=True)
    return _lang(ctx) if isinstance(ctx, _Context) else None


def _gettext(message: str) -> str:
    """Click's :func:`gettext.gettext`: its own texts in the command's language."""
    if _ours() == "tr":
        return TEXTS_TR.get(message, message)
    return message


def _ngettext(singular: str, plural: str, n: int) -> str:
    """Click's :func:`gettext.ngettext`, likewise."""
    found = PLURALS_TR.get((singular, plural)) if _ours() == "tr" else None
    one, several = found or (singular, plural)
    return one if n == 1 else several


def _metavar(value: str) -> str:
    """A placeholder of the usage line or the option list in the command's language."""
    return METAVARS_TR.get(value, value) if _ours() == "tr" else value


# Click asks gettext for each of its texts through the names each module imported; they answer
# from kamusm's tables now (only inside a kamusm command, see _ours).
for _module_name in CLICK_MODULES:
    _module = importlib.import_module(f"click.{_module_name}")
    for _name, _function in (("_", _gettext), ("ngettext", _ngettext)):
        if hasattr(_module, _name):
            setattr(_module, _name, _function)


def _epilog(lang: Language) -> str:
    lines = [text("cli.help.exit_codes", lang)]
    lines += [f"  {code.value:<4} {code.describe(lang)}" for code in ExitCode]
    return "\b\n" + "\n".join(lines)


class _Command(click.Command):
    """A command whose ``help`` and ``short_help`` are text keys, put in the reader's language
    when shown; its help is shown after the whole command line is read."""

    context_class = _Context

    def _shown(self, lang: Language) -> click.Command:
        shown = copy.copy(self)
        shown.help = text(self.help, lang) if self.help else None
        shown.short_help = text(self.short_help, lang) if self.short_help else None
        if isinstance(self, click.Group) and self.epilog == _EXIT_CODES:
            shown.epilog = _epilog(lang)
        return shown

    def collect_usage_pieces(self, ctx: click.Context) -> list[str]:
        return [_metavar(piece) for piece in super().collect_usage_pieces(ctx)]

    def get_short_help_str(self, limit: int = 45) -> str:
        return click.Command.get_short_help_str(self._shown(_lang()), limit)

    def format_help_text(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        click.Command.format_help_text(self._shown(_lang(ctx)), ctx, formatter)

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        click.Command.format_epilog(self._shown(_lang(ctx)), ctx, formatter)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        given = list(args)  # click's parser consumes the list
        try:
            rest = super().parse_args(ctx, args)
        except click.UsageError as err:
            if err.ctx is None:  # the parser's own errors: told in this command's language
                err.ctx = ctx
            if isinstance(ctx, _Context) and ctx.help_asked:
                _show_help(ctx)
            if not ctx.resilient_parsing:
                told_in = _lang(ctx)
                self._read_lang(ctx, list(given))
                if _lang(ctx) != told_in:  # said again, in the language asked for
                    return super().parse_args(ctx, given)
            raise
        if isinstance(ctx, _Context) and ctx.help_asked:
            _show_help(ctx)
        return rest

    def _read_lang(self, ctx: click.Context, args: list[str]) -> None:
        """After a usage error: read the rest of the line for a ``--lang`` (as in ``kamusm
        tokens --colour --lang en``), so that the error is told in that language. Click reads
        it, forgiving every mistake; nothing runs."""
        probe = self.context_class(
            self,
            info_name=ctx.info_name,
            parent=ctx,  # the same settings: a --lang found lands where _lang looks
            resilient_parsing=True,
            ignore_unknown_options=True,
            allow_extra_args=True,
        )
        click.Command.parse_args(self, probe, args)


def _show_help(ctx: click.Context) -> NoReturn:
    click.echo(ctx.get_help(), color=ctx.color)
    ctx.exit()


#: The epilog of the main group: the table of exit codes, in the reader's language.
_EXIT_CODES = "exit-codes"


class _Group(_Command, click.Group):
    """A group of :class:`_Command` (its subgroups are :class:`_Group` too)."""

    command_class = _Command
    group_class = type

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        try:
            return super().resolve_command(ctx, args)
        except click.UsageError:  # no such command: a --lang after it still applies
            told_in = _lang(ctx)
            self._read_lang(ctx, args[1:])
            if _lang(ctx) == told_in:
                raise
            return super().resolve_command(ctx, args)  # said again, in that language


def _opt(*decls: str, **attrs: Any) -> Callable[[F], F]:
    """``click.option`` with its help a text key (see :class:`_Option`)."""
    return click.option(*decls, cls=_Option, **attrs)


@click.group(
    cls=_Group,
    help="cli.help.main",
    epilog=_EXIT_CODES,
    context_settings={"max_content_width": 100},
    add_help_option=False,
)
@_common
@click.version_option(
    package_name="kamusm",
    message="kamusm %(version)s",
    cls=_Option,
    help="cli.help.opt.version",
)
def cli() -> None:
    """The ``kamusm`` command group."""


# ---- tokens, certs, doctor, demo: reading cards, and the demo ----------


@cli.command(help="cli.help.tokens", short_help="cli.short.tokens", add_help_option=False)
@_common
@_opt("--json", "as_json", is_flag=True, help="cli.help.opt.json")
@click.pass_context
def tokens(ctx: click.Context, as_json: bool) -> int:
    from kamusm._cli._inventory import tokens_command  # noqa: PLC0415

    settings = _settings(ctx)
    return run_guarded(lambda: tokens_command(settings, as_json=as_json), settings)


@cli.command(help="cli.help.certs", short_help="cli.short.certs", add_help_option=False)
@_common
@_opt("--serial", help="cli.help.opt.serial")
@_opt("--label", help="cli.help.opt.label")
@_opt("--holder", metavar="NAME", help="cli.help.opt.holder")
@_opt("--json", "as_json", is_flag=True, help="cli.help.opt.json")
@click.pass_context
def certs(
    ctx: click.Context, serial: str | None, label: str | None, holder: str | None, as_json: bool
) -> int:
    from kamusm._cli._render import certs_command  # noqa: PLC0415

    settings = _settings(ctx)
    return run_guarded(
        lambda: certs_command(settings, serial=serial, label=label, holder=holder, as_json=as_json),
        settings,
    )


@cli.command(help="cli.help.doctor", short_help="cli.short.doctor", add_help_option=False)
@_common
@_opt("--portal", metavar="URL", envvar=ENV_PORTAL, help="cli.help.opt.portal")
@_opt("--ca-bundle", type=click.Path(exists=True, dir_okay=False), help="cli.help.opt.ca_bundle")
@_opt("--serial", help="cli.help.opt.serial")
@_opt("--label", help="cli.help.opt.label")
@_opt("--json", "as_json", is_flag=True, help="cli.help.opt.json")
@click.pass_context
def doctor(
    ctx: click.Context,
    *,
    portal: str | None,
    ca_bundle: str | None,
    serial: str | None,
    label: str | None,
    as_json: bool,
) -> int:
    from kamusm._cli._render import doctor_command  # noqa: PLC0415

    settings = _settings(ctx)
    return run_guarded(
        lambda: doctor_command(
            settings,
            portal=portal,
            ca_bundle=ca_bundle,
            as_json=as_json,
            serial=serial,
            label=label,
        ),
        settings,
    )


@cli.command(help="cli.help.readers", short_help="cli.short.readers", add_help_option=False)
@_common
@_opt("--json", "as_json", is_flag=True, help="cli.help.opt.json")
@click.pass_context
def readers(ctx: click.Context, as_json: bool) -> int:
    from kamusm._cli._readers import readers_command  # noqa: PLC0415

    settings = _settings(ctx)
    return run_guarded(lambda: readers_command(settings, as_json=as_json), settings)


@cli.command(help="cli.help.demo", short_help="cli.short.demo", add_help_option=False)
@_common
@click.pass_context
def demo(ctx: click.Context) -> int:
    from kamusm._cli._demo import demo_command  # noqa: PLC0415

    settings = _settings(ctx)
    return run_guarded(lambda: demo_command(settings), settings)


@cli.command(
    "sign-pdf",
    help="cli.help.sign_pdf",
    short_help="cli.short.sign_pdf",
    add_help_option=False,
)
@_common
@click.argument("source", metavar="IN", type=click.Path(dir_okay=False))
@click.argument("target", metavar="OUT", type=click.Path(dir_okay=False))
@_opt("--serial", help="cli.help.opt.serial")
@_opt("--label", help="cli.help.opt.label")
@_opt("--pin-stdin", is_flag=True, help="cli.help.opt.sign_pin_stdin")
@_opt("--timestamp-url", metavar="URL", help="cli.help.opt.timestamp_url")
@_opt("--trust", type=click.Path(exists=True, dir_okay=False), help="cli.help.opt.trust")
@_opt("--field", metavar="NAME", help="cli.help.opt.field")
@click.pass_context
def sign_pdf_command(  # noqa: PLR0917 (click passes every option by position)
    ctx: click.Context,
    source: str,
    target: str,
    serial: str | None,
    label: str | None,
    pin_stdin: bool,
    timestamp_url: str | None,
    trust: str | None,
    field: str | None,
) -> int:
    from kamusm._cli._sign import sign_pdf_command  # noqa: PLC0415

    settings = _settings(ctx)
    return run_guarded(
        lambda: sign_pdf_command(
            settings,
            source=source,
            target=target,
            serial=serial,
            label=label,
            pin_stdin=pin_stdin,
            timestamp_url=timestamp_url,
            trust=trust,
            field=field,
        ),
        settings,
    )


# ---- change-pin and reset-pin: the two commands that ask a person ----------


@cli.command(
    "change-pin",
    help="cli.help.change_pin",
    short_help="cli.short.change_pin",
    add_help_option=False,
)
@_common
@_opt("--serial", help="cli.help.opt.serial")
@_opt("--label", help="cli.help.opt.label")
@_opt("--holder", metavar="NAME", help="cli.help.opt.holder")
@_opt("--pin-stdin", is_flag=True, help="cli.help.opt.pin_stdin")
@_opt("--wait", "wait", type=int, default=120, help="cli.help.opt.wait")
@click.pass_context
def change_pin_command(
    ctx: click.Context,
    *,
    serial: str | None,
    label: str | None,
    holder: str | None,
    pin_stdin: bool,
    wait: int,
) -> int:
    from kamusm._cli._pin import change_pin_command  # noqa: PLC0415

    settings = _settings(ctx)
    return run_guarded(
        lambda: change_pin_command(
            settings, serial=serial, label=label, holder=holder, pin_stdin=pin_stdin, wait=wait
        ),
        settings,
    )


@cli.command(
    "reset-pin",
    help="cli.help.reset_pin",
    short_help="cli.short.reset_pin",
    add_help_option=False,
)
@_common
@_opt("--portal", metavar="URL", envvar=ENV_PORTAL, help="cli.help.opt.portal")
@_opt("--ca-bundle", type=click.Path(exists=True, dir_okay=False), help="cli.help.opt.ca_bundle")
@_opt(
    "--product",
    type=click.Choice(["nes", "mali-muhur"]),
    default="nes",
    help="cli.help.opt.product",
)
@_opt(
    "--method",
    type=click.Choice(["sms", "web-password"]),
    default="sms",
    help="cli.help.opt.method",
)
@_opt("--holder", metavar="NAME", help="cli.help.opt.holder")
@_opt("--wait", "wait", type=int, default=120, help="cli.help.opt.wait")
@click.pass_context
def reset_pin_command(
    ctx: click.Context,
    *,
    portal: str | None,
    ca_bundle: str | None,
    product: str,
    method: str,
    holder: str | None,
    wait: int,
) -> int:
    from kamusm._cli._pin import reset_pin_command  # noqa: PLC0415

    settings = _settings(ctx)
    return run_guarded(
        lambda: reset_pin_command(
            settings,
            portal=portal,
            ca_bundle=ca_bundle,
            product=product,
            method=method,
            holder=holder,
            wait=wait,
        ),
        settings,
    )


# ---- sandbox serve and sandbox provision ----------


@cli.group(help="cli.help.sandbox", short_help="cli.short.sandbox", add_help_option=False)
@_common
def sandbox() -> None:
    pass


@sandbox.command(
    "serve",
    help="cli.help.sandbox_serve",
    short_help="cli.short.sandbox_serve",
    add_help_option=False,
)
@_common
@_opt(
    "--host",
    type=click.Choice(["127.0.0.1", "::1", "localhost"]),
    default="127.0.0.1",
    show_default=True,
    help="cli.help.opt.host",
)
@_opt("--port", type=int, default=8080, show_default=True, help="cli.help.opt.port")
@_opt("--database", type=click.Path(dir_okay=False), help="cli.help.opt.database")
@_opt("--manual-clock", is_flag=True, help="cli.help.opt.manual_clock")
@_opt("--training", is_flag=True, help="cli.help.opt.training")
@_opt(
    "--ssl-certfile", type=click.Path(exists=True, dir_okay=False), help="cli.help.opt.ssl_certfile"
)
@_opt(
    "--ssl-keyfile", type=click.Path(exists=True, dir_okay=False), help="cli.help.opt.ssl_keyfile"
)
@_opt("--trusted-proxy", multiple=True, metavar="IP", help="cli.help.opt.trusted_proxy")
@_opt("--allowed-host", multiple=True, metavar="DNS", help="cli.help.opt.allowed_host")
@click.pass_context
def serve(
    ctx: click.Context,
    *,
    host: str,
    port: int,
    database: str | None,
    manual_clock: bool,
    training: bool,
    ssl_certfile: str | None,
    ssl_keyfile: str | None,
    trusted_proxy: tuple[str, ...],
    allowed_host: tuple[str, ...],
) -> int:
    from kamusm._cli._sandbox import serve_command  # noqa: PLC0415

    settings = _settings(ctx)
    return run_guarded(
        lambda: serve_command(
            settings,
            host=host,
            port=port,
            database=database,
            manual_clock=manual_clock,
            ssl_certfile=ssl_certfile,
            ssl_keyfile=ssl_keyfile,
            training=training,
            trusted_proxies=trusted_proxy,
            allowed_hosts=allowed_host,
        ),
        settings,
    )


@sandbox.command(
    "provision",
    help="cli.help.sandbox_provision",
    short_help="cli.short.sandbox_provision",
    add_help_option=False,
)
@_common
@_opt("--url", required=True, metavar="URL", help="cli.help.opt.url")
@_opt(
    "--admin-token",
    required=True,
    envvar="KAMUSM_SANDBOX_ADMIN_TOKEN",
    metavar="TOKEN",
    help="cli.help.opt.admin_token",
)
@_opt("--store", type=click.Path(file_okay=False), help="cli.help.opt.store")
@_opt("--tckn", default="10000000146", show_default=True, help="cli.help.opt.tckn")
@_opt("--name", default="IŞIL ÇAĞRI ÖZGÜR ŞİMŞEK", show_default=True, help="cli.help.opt.name")
@_opt("--phone", help="cli.help.opt.phone")
@_opt(
    "--birth-date",
    default="1985-04-23",
    show_default=True,
    metavar="YYYY-MM-DD",
    help="cli.help.opt.birth_date",
)
@_opt(
    "--product",
    type=click.Choice(["nes", "mali-muhur"]),
    default="nes",
    help="cli.help.opt.product",
)
@click.pass_context
def provision(
    ctx: click.Context,
    *,
    url: str,
    admin_token: str,
    store: str | None,
    tckn: str,
    name: str,
    phone: str | None,
    birth_date: str,
    product: str,
) -> int:
    from kamusm._cli._sandbox import provision_command  # noqa: PLC0415

    settings = _settings(ctx)
    return run_guarded(
        lambda: provision_command(
            settings,
            url=url,
            admin_token=admin_token,
            store=store,
            tckn=tckn,
            name=name,
            phone=phone,
            birth_date=birth_date,
            product=Product(product.replace("-", "_")),
        ),
        settings,
    )


# kamusm app lives in its own file and registers itself on the group.
from kamusm._cli import _browser  # noqa: E402, F401 (after the group it adds to)


def run(args: Sequence[str]) -> int:
    """Parse ``args`` with click and run the command; returns the exit status."""
    try:
        result = cli.main(args=list(args), prog_name="kamusm", standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as shown:
        shown.show()
        return ExitCode.USAGE
    except click.UsageError as err:
        error_line_usage(err, _lang(err.ctx), args)
        return ExitCode.USAGE
    except click.ClickException as err:
        error_line(err.format_message(), _lang())
        return ExitCode.USAGE
    except click.Abort:
        sys.stderr.write("\n" + text("cli.interrupted", _lang()) + "\n")
        return ExitCode.INTERRUPTED
    return result if isinstance(result, int) else ExitCode.OK


def error_line_usage(err: click.UsageError, lang: Language, args: Sequence[str] = ()) -> None:
    """One line for a usage error, without echoing what was typed: a PIN or a code put on the
    command line by mistake must not be printed back (nor reach a terminal log). Only the
    command's own words (its command names and the values its choices offer) are shown."""
    if err.ctx is not None:
        with err.ctx.scope(cleanup=False):  # click's words in the command's language
            message = err.format_message()
    else:
        message = err.format_message()
    message = " ".join(message.split())
    typed = {arg.partition("=")[2] if arg.startswith("-") else arg for arg in args}
    for value in sorted(typed - _command_words(), key=len, reverse=True):
        if value:  # the value itself, not the same letters inside a word ("de" in "değer")
            message = re.sub(rf"(?<!\w){re.escape(value)}(?!\w)", "…", message)
    # The help of the command that was mistyped: "kamusm reset-pin --help", not the group's.
    command = err.ctx.command_path if err.ctx is not None else "kamusm"
    if not command.startswith("kamusm"):
        command = "kamusm"
    sys.stderr.write(text("cli.usage_error", lang, message=message, command=command) + "\n")


def _command_words(command: click.Command = cli) -> frozenset[str]:
    """The command names under ``command`` and the values of every choice its options offer."""
    words: set[str] = set()
    for param in command.params:
        if isinstance(param.type, click.Choice):
            words.update(str(choice) for choice in param.type.choices)
    for name, sub in getattr(command, "commands", {}).items():
        words.add(name)
        words |= _command_words(sub)
    return frozenset(words)
