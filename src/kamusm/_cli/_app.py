"""The click commands. Help texts come from :mod:`kamusm._cli._texts` in the language of
``--lang`` (or ``KAMUSM_LANG``), so ``kamusm --help`` is Turkish and ``kamusm --lang en --help``
English. Each command body runs through :func:`kamusm._cli._common.run_guarded`, which turns
every failure into one line and an exit code."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any, ClassVar, TypeVar

import click

from kamusm._cli._common import (
    ENV_PORTAL,
    Settings,
    error_line,
    resolve_lang,
    run_guarded,
    setup_logging,
)
from kamusm._cli._exit import CommandError, ExitCode
from kamusm._cli._terminal import is_terminal
from kamusm._cli._texts import text
from kamusm.errors import InputError
from kamusm.messages import Language
from kamusm.values import Product

F = TypeVar("F", bound=Callable[..., Any])

_META = "kamusm.settings"


def _prescan_lang(args: Sequence[str]) -> Language:
    """The language asked for on the command line, before click parses it (for the help)."""
    value = None
    for i, arg in enumerate(args):
        if arg == "--lang" and i + 1 < len(args):
            value = args[i + 1]
        elif arg.startswith("--lang="):
            value = arg.partition("=")[2]
    return resolve_lang(value)


def _remember(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """Options given to the group or to a command land in one place; the command's win."""
    if value is not None and value is not False:
        ctx.find_root().meta.setdefault(_META, {})[param.name] = value
    return value


def _settings(ctx: click.Context) -> Settings:
    given = ctx.find_root().meta.get(_META, {})
    settings = Settings(
        lang=resolve_lang(given.get("lang")),
        module=given.get("module"),
        debug=bool(given.get("debug")),
    )
    setup_logging(settings.debug)
    return settings


def _common(lang: Language) -> Callable[[F], F]:
    """``--module``, ``--lang`` and ``--debug``, accepted by the group and every command."""

    def decorate(f: F) -> F:
        options = [
            click.option(
                "--module",
                metavar="PATH",
                expose_value=False,
                callback=_remember,
                help=text("cli.help.opt.module", lang),
            ),
            click.option(
                "--lang",
                type=click.Choice(["tr", "en"]),
                expose_value=False,
                callback=_remember,
                help=text("cli.help.opt.lang", lang),
            ),
            click.option(
                "--debug",
                is_flag=True,
                expose_value=False,
                callback=_remember,
                help=text("cli.help.opt.debug", lang),
            ),
            click.help_option("-h", "--help", help=text("cli.help.opt.help", lang)),
        ]
        for option in reversed(options):
            f = option(f)
        return f

    return decorate


class _Formatter(click.HelpFormatter):
    """Click's help layout with its headings ("Usage", "Options", "Commands") in our language."""

    lang: ClassVar[Language] = "tr"

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        if prefix is None:
            prefix = text("cli.help.usage", self.lang) + " "
        super().write_usage(prog, args, prefix)

    @contextlib.contextmanager
    def section(self, name: str) -> Iterator[None]:
        heading = {"Options": "cli.help.options", "Commands": "cli.help.commands"}.get(name)
        with super().section(text(heading, self.lang) if heading else name):
            yield


class _Context(click.Context):
    formatter_class = _Formatter


class _Command(click.Command):
    context_class = _Context


class _Group(click.Group):
    context_class = _Context
    command_class = _Command
    group_class = type  # subgroups are _Group too


def _epilog(lang: Language) -> str:
    lines = [text("cli.help.exit_codes", lang)]
    lines += [f"  {code.value:<4} {code.describe(lang)}" for code in ExitCode]
    return "\b\n" + "\n".join(lines)


def _portal_client(url: str | None, ca_bundle: str | None) -> Any:
    from kamusm.portal import PortalClient  # noqa: PLC0415 (httpx only when a portal is used)

    if not url:
        raise CommandError("cli.no_portal", ExitCode.USAGE)
    try:
        client = PortalClient(url)
    except InputError:
        raise CommandError("cli.portal_url_invalid", ExitCode.USAGE) from None
    if not ca_bundle:
        return client
    client.close()
    try:
        return PortalClient(url, verify=ca_bundle)
    except InputError:
        raise CommandError("cli.ca_bundle_invalid", ExitCode.USAGE, path=ca_bundle) from None


def build(lang: Language) -> click.Group:
    """The ``kamusm`` command group, with its help in ``lang``."""
    context = {"max_content_width": 100}

    _Formatter.lang = lang

    @click.group(
        cls=_Group,
        help=_help(lang)("main"),
        epilog=_epilog(lang),
        context_settings=context,
        add_help_option=False,
    )
    @_common(lang)
    @click.version_option(
        package_name="kamusm", message="kamusm %(version)s", help=_help(lang)("opt.version")
    )
    def cli() -> None:
        pass

    _card_commands(cli, lang)
    _pin_commands(cli, lang)
    _sandbox_commands(cli, lang)
    from kamusm._cli._browser import add_app_command  # noqa: PLC0415 (kamusm app, its own file)

    add_app_command(cli, lang)
    return cli


def _short(lang: Language, key: str) -> str:
    return text(f"cli.short.{key}", lang)


def _help(lang: Language) -> Callable[[str], str]:
    def h(key: str) -> str:
        return text(f"cli.help.{key}", lang)

    return h


def _card_commands(cli: click.Group, lang: Language) -> None:
    """tokens, certs, doctor, demo: reading cards, and the demo."""
    h = _help(lang)

    @cli.command(help=h("tokens"), short_help=_short(lang, "tokens"), add_help_option=False)
    @_common(lang)
    @click.option("--json", "as_json", is_flag=True, help=h("opt.json"))
    @click.pass_context
    def tokens(ctx: click.Context, as_json: bool) -> int:
        from kamusm._cli._inventory import tokens_command  # noqa: PLC0415

        settings = _settings(ctx)
        return run_guarded(lambda: tokens_command(settings, as_json=as_json), settings)

    @cli.command(help=h("certs"), short_help=_short(lang, "certs"), add_help_option=False)
    @_common(lang)
    @click.option("--serial", help=h("opt.serial"))
    @click.option("--label", help=h("opt.label"))
    @click.option("--json", "as_json", is_flag=True, help=h("opt.json"))
    @click.pass_context
    def certs(ctx: click.Context, serial: str | None, label: str | None, as_json: bool) -> int:
        from kamusm._cli._render import certs_command  # noqa: PLC0415

        settings = _settings(ctx)
        return run_guarded(
            lambda: certs_command(settings, serial=serial, label=label, as_json=as_json),
            settings,
        )

    @cli.command(help=h("doctor"), short_help=_short(lang, "doctor"), add_help_option=False)
    @_common(lang)
    @click.option("--portal", metavar="URL", envvar=ENV_PORTAL, help=h("opt.portal"))
    @click.option(
        "--ca-bundle", type=click.Path(exists=True, dir_okay=False), help=h("opt.ca_bundle")
    )
    @click.option("--serial", help=h("opt.serial"))
    @click.option("--label", help=h("opt.label"))
    @click.option("--json", "as_json", is_flag=True, help=h("opt.json"))
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

    @cli.command(help=h("demo"), short_help=_short(lang, "demo"), add_help_option=False)
    @_common(lang)
    @click.pass_context
    def demo(ctx: click.Context) -> int:
        from kamusm._cli._demo import demo_command  # noqa: PLC0415

        settings = _settings(ctx)
        return run_guarded(lambda: demo_command(settings), settings)


def _pin_commands(cli: click.Group, lang: Language) -> None:
    """change-pin and reset-pin: the two commands that ask a person."""
    h = _help(lang)

    @cli.command(
        "change-pin",
        help=h("change_pin"),
        short_help=_short(lang, "change_pin"),
        add_help_option=False,
    )
    @_common(lang)
    @click.option("--serial", help=h("opt.serial"))
    @click.option("--label", help=h("opt.label"))
    @click.option("--pin-stdin", is_flag=True, help=h("opt.pin_stdin"))
    @click.pass_context
    def change_pin_command(
        ctx: click.Context, serial: str | None, label: str | None, pin_stdin: bool
    ) -> int:
        settings = _settings(ctx)

        def body() -> int:
            from kamusm._cli._inventory import open_module  # noqa: PLC0415
            from kamusm._cli._prompts import (  # noqa: PLC0415
                StdinChangePrompts,
                TerminalChangePrompts,
                Ui,
            )
            from kamusm.flows import change_pin  # noqa: PLC0415

            if not pin_stdin and not is_terminal(sys.stdin):
                raise CommandError("cli.needs_terminal.pin_stdin", ExitCode.USAGE)
            token = open_module(settings).token(serial=serial, label=label)
            ui = Ui(settings.lang)
            prompts = StdinChangePrompts() if pin_stdin else TerminalChangePrompts(ui)
            if not pin_stdin:
                ui.say(text("cli.change.intro", settings.lang, card=token.info.describe()))
                ui.note(text("cli.cancel_hint", settings.lang))
            change_pin(token, prompts)
            ui.success(text("cli.change.done", settings.lang))
            return ExitCode.OK

        return run_guarded(body, settings)

    @cli.command(
        "reset-pin",
        help=h("reset_pin"),
        short_help=_short(lang, "reset_pin"),
        add_help_option=False,
    )
    @_common(lang)
    @click.option("--portal", metavar="URL", envvar=ENV_PORTAL, help=h("opt.portal"))
    @click.option(
        "--ca-bundle", type=click.Path(exists=True, dir_okay=False), help=h("opt.ca_bundle")
    )
    @click.option(
        "--product",
        type=click.Choice(["nes", "mali-muhur"]),
        default="nes",
        help=h("opt.product"),
    )
    @click.option(
        "--method",
        type=click.Choice(["sms", "web-password"]),
        default="sms",
        help=h("opt.method"),
    )
    @click.pass_context
    def reset_pin_command(
        ctx: click.Context, portal: str | None, ca_bundle: str | None, product: str, method: str
    ) -> int:
        settings = _settings(ctx)

        def body() -> int:
            from kamusm._cli._inventory import open_module  # noqa: PLC0415
            from kamusm._cli._prompts import TerminalResetPrompts, Ui  # noqa: PLC0415
            from kamusm.flows import reset_pin  # noqa: PLC0415

            if not is_terminal(sys.stdin):
                raise CommandError("cli.needs_terminal", ExitCode.USAGE)
            with _portal_client(portal, ca_bundle) as client:
                module = open_module(settings)
                ui = Ui(settings.lang)
                result = reset_pin(
                    module,
                    client,
                    TerminalResetPrompts(ui),
                    product=Product(product.replace("-", "_")),
                    challenge_method=method.replace("-", "_"),
                )
            ui.success(text("cli.reset.done", settings.lang))
            if not result.reported:
                ui.note(text("cli.reset.not_reported", settings.lang))
            return ExitCode.OK

        return run_guarded(body, settings)


def _sandbox_commands(cli: click.Group, lang: Language) -> None:
    """sandbox serve and sandbox provision."""
    h = _help(lang)

    @cli.group(help=h("sandbox"), short_help=_short(lang, "sandbox"), add_help_option=False)
    @_common(lang)
    def sandbox() -> None:
        pass

    @sandbox.command(
        "serve",
        help=h("sandbox_serve"),
        short_help=_short(lang, "sandbox_serve"),
        add_help_option=False,
    )
    @_common(lang)
    @click.option(
        "--host",
        type=click.Choice(["127.0.0.1", "::1", "localhost"]),
        default="127.0.0.1",
        show_default=True,
        help=h("opt.host"),
    )
    @click.option("--port", type=int, default=8080, show_default=True, help=h("opt.port"))
    @click.option("--database", type=click.Path(dir_okay=False), help=h("opt.database"))
    @click.option("--manual-clock", is_flag=True, help=h("opt.manual_clock"))
    @click.option("--training", is_flag=True, help=h("opt.training"))
    @click.option(
        "--ssl-certfile", type=click.Path(exists=True, dir_okay=False), help=h("opt.ssl_certfile")
    )
    @click.option(
        "--ssl-keyfile", type=click.Path(exists=True, dir_okay=False), help=h("opt.ssl_keyfile")
    )
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
            ),
            settings,
        )

    @sandbox.command(
        "provision",
        help=h("sandbox_provision"),
        short_help=_short(lang, "sandbox_provision"),
        add_help_option=False,
    )
    @_common(lang)
    @click.option("--url", required=True, metavar="URL", help=h("opt.url"))
    @click.option(
        "--admin-token",
        required=True,
        envvar="KAMUSM_SANDBOX_ADMIN_TOKEN",
        metavar="TOKEN",
        help=h("opt.admin_token"),
    )
    @click.option("--store", type=click.Path(file_okay=False), help=h("opt.store"))
    @click.option("--tckn", default="10000000146", show_default=True, help=h("opt.tckn"))
    @click.option(
        "--name", default="IŞIL ÇAĞRI ÖZGÜR ŞİMŞEK", show_default=True, help=h("opt.name")
    )
    @click.option("--phone", help=h("opt.phone"))
    @click.option(
        "--birth-date",
        default="1985-04-23",
        show_default=True,
        metavar="YYYY-MM-DD",
        help=h("opt.birth_date"),
    )
    @click.option(
        "--product",
        type=click.Choice(["nes", "mali-muhur"]),
        default="nes",
        help=h("opt.product"),
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


def run(args: Sequence[str]) -> int:
    """Parse ``args`` with click and run the command; returns the exit status."""
    lang = _prescan_lang(args)
    cli = build(lang)
    try:
        result = cli.main(args=list(args), prog_name="kamusm", standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as shown:
        shown.show()
        return ExitCode.USAGE
    except click.UsageError as err:
        error_line_usage(err, lang, args)
        return ExitCode.USAGE
    except click.ClickException as err:
        error_line(err.format_message(), lang)
        return ExitCode.USAGE
    except click.Abort:
        sys.stderr.write("\n" + text("cli.interrupted", lang) + "\n")
        return ExitCode.INTERRUPTED
    return result if isinstance(result, int) else ExitCode.OK


def error_line_usage(err: click.UsageError, lang: Language, args: Sequence[str] = ()) -> None:
    """One line for a usage error, without echoing what was typed: a PIN or a code put on the
    command line by mistake must not be printed back (nor reach a terminal log)."""
    message = " ".join(err.format_message().split())
    for typed in sorted(set(args), key=len, reverse=True):
        if typed and not typed.startswith("-") and typed not in _COMMAND_WORDS:
            message = message.replace(typed, "…")
    sys.stderr.write(text("cli.usage_error", lang, message=message) + "\n")


#: Words of the command line that may be shown back in a usage error: the command names.
_COMMAND_WORDS = frozenset(
    {
        "tokens",
        "certs",
        "doctor",
        "change-pin",
        "reset-pin",
        "sandbox",
        "serve",
        "provision",
        "demo",
        "app",
        "tr",
        "en",
        "nes",
        "mali_muhur",
        "sms",
        "web_password",
    }
)
