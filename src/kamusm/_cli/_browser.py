"""``kamusm app``: the browser wizard for card holders (extra ``app``).

Starts :mod:`kamusm.app` on 127.0.0.1 and opens its launch URL, which carries the random token
of this start, in the default browser. The URL is printed too, for a browser opened by hand; it
opens one session, once. Ctrl-C stops the server.
"""

from __future__ import annotations

import sys

import click

from kamusm._cli._app import _common, _opt, _settings, cli
from kamusm._cli._common import ENV_PORTAL, Settings, run_guarded
from kamusm._cli._exit import CommandError, ExitCode
from kamusm._cli._texts import text

__all__ = ["app_command"]


def app_command(
    settings: Settings,
    *,
    portal: str | None,
    ca_bundle: str | None,
    port: int,
    open_browser: bool,
) -> int:
    """Serve the wizard until Ctrl-C."""
    from kamusm.app import AppConfig, serve  # noqa: PLC0415 (jinja2 and uvicorn only here)
    from kamusm.errors import InputError  # noqa: PLC0415
    from kamusm.portal import PortalClient  # noqa: PLC0415

    if not portal:
        raise CommandError("cli.no_portal", ExitCode.USAGE)
    if not 0 <= port <= 65535:
        raise CommandError("cli.app.bad_port", ExitCode.USAGE)
    try:
        PortalClient(portal).close()  # the address is checked now, not at the first reset
    except InputError:
        raise CommandError("cli.portal_url_invalid", ExitCode.USAGE) from None
    config = AppConfig(
        portal_url=portal, module_path=settings.module, ca_bundle=ca_bundle, lang=settings.lang
    )

    def announce(url: str) -> None:
        sys.stdout.write(text("cli.app.url", settings.lang, url=url) + "\n")
        sys.stdout.write(text("cli.app.stop", settings.lang) + "\n")
        sys.stdout.flush()

    try:
        serve(config, port=port, open_browser=open_browser, announce=announce)
    except KeyboardInterrupt:
        sys.stdout.write(text("cli.app.stopped", settings.lang) + "\n")
    return ExitCode.OK


@cli.command("app", help="cli.help.app", short_help="cli.short.app", add_help_option=False)
@_common
@_opt("--portal", metavar="URL", envvar=ENV_PORTAL, help="cli.help.opt.portal")
@_opt("--ca-bundle", type=click.Path(exists=True, dir_okay=False), help="cli.help.opt.ca_bundle")
@_opt("--port", type=int, default=0, help="cli.help.opt.app_port")
@_opt("--no-browser", is_flag=True, help="cli.help.opt.no_browser")
@click.pass_context
def app(
    ctx: click.Context,
    *,
    portal: str | None,
    ca_bundle: str | None,
    port: int,
    no_browser: bool,
) -> int:
    settings = _settings(ctx)
    return run_guarded(
        lambda: app_command(
            settings, portal=portal, ca_bundle=ca_bundle, port=port, open_browser=not no_browser
        ),
        settings,
    )
