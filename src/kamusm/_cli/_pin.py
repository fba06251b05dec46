"""``kamusm change-pin`` and ``kamusm reset-pin``: the two commands that ask a person (and
``change-pin --pin-stdin``, which reads a script). The rules are the flows'
(:mod:`kamusm.flows`); this module picks the card, asks, and ends the command."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from kamusm._cli._common import Settings, no_core_dumps
from kamusm._cli._exit import CommandError, ExitCode, StopWith
from kamusm._cli._inventory import CardRead, open_module, read_cards
from kamusm._cli._prompts import (
    Picked,
    StdinChangePrompts,
    TerminalChangePrompts,
    TerminalResetPrompts,
    Ui,
    pick_card,
)
from kamusm._cli._readers import wait_for_card
from kamusm._cli._terminal import is_terminal
from kamusm._cli._texts import text
from kamusm.errors import CardNotOwnedError, FlowCancelledError, InputError, KamusmError
from kamusm.values import Product

if TYPE_CHECKING:
    from kamusm.portal import PortalClient
    from kamusm.token import Pkcs11Module, Token


@contextmanager
def _interrupt_ends_with_130(ui: Ui) -> Iterator[None]:
    """A question answered with Ctrl-C cancels the flow (the card stays as it was, the portal
    is told); the command then ends with 130, the code the table gives Ctrl-C."""
    try:
        yield
    except KamusmError as err:
        if ui.interrupted:
            raise StopWith(err, ExitCode.INTERRUPTED) from None
        raise


def choose_token(
    module: Pkcs11Module,
    ui: Ui | None,
    *,
    serial: str | None,
    label: str | None,
    holder: str | None = None,
) -> Token:
    """The card to work on: the one named, or the only one (of the holder, with ``holder``);
    with several, the picker ("Kart Seçiniz"), each card named by its holder: never one of
    several chosen silently. Without a person to ask (``ui`` is ``None``), several cards end
    the command (exit 5)."""
    if ui is None and holder is None:
        return module.token(serial=serial, label=label)
    try:
        cards = read_cards(module, serial=serial, label=label, holder=holder)
    except CommandError:
        if ui is None or holder is None:
            raise
        # None of that holder: said so, and every card offered (as reset-pin does); even a
        # single card is asked for, as it is not the holder the person named.
        ui.problem(text("cli.no_card_of_holder", ui.lang, holder=holder))
        cards = read_cards(module, serial=serial, label=label)
        holder = None
        if not cards:
            return module.token(serial=serial, label=label)  # the error saying why
        return _picked(module, ui, cards)
    if len(cards) == 1:
        return module.token(serial=cards[0].info.serial)
    if ui is None or not cards:
        return module.token(serial=serial, label=label)  # the error saying why
    return _picked(module, ui, cards)


def _picked(module: Pkcs11Module, ui: Ui, cards: list[CardRead]) -> Token:
    lang = ui.lang
    shown = [Picked(c.info.serial, c.name(lang), c.info.pin_status.summary) for c in cards]
    chosen = pick_card(ui, shown)
    if chosen is None:
        raise FlowCancelledError()
    return module.token(serial=chosen)


def change_pin_command(
    settings: Settings,
    *,
    serial: str | None,
    label: str | None,
    pin_stdin: bool,
    wait: int = 0,
    holder: str | None = None,
) -> int:
    from kamusm.flows import change_pin  # noqa: PLC0415

    lang = settings.lang
    if not pin_stdin and not is_terminal(sys.stdin):
        raise CommandError("cli.needs_terminal.pin_stdin", ExitCode.USAGE)
    no_core_dumps()  # before the first PIN is read
    module = open_module(settings)
    if not pin_stdin:  # a person at the terminal may still insert the card: wait for it
        wait_for_card(module, lang, timeout=max(0, wait), serial=serial, label=label)
    ui = Ui(lang)
    with _interrupt_ends_with_130(ui):
        token = choose_token(
            module, None if pin_stdin else ui, serial=serial, label=label, holder=holder
        )
        prompts = StdinChangePrompts() if pin_stdin else TerminalChangePrompts(ui)
        if not pin_stdin:
            card = text("cli.card", lang, label=token.info.label, serial=token.info.serial)
            ui.say(text("cli.change.intro", lang, card=card))
            ui.note(text("cli.cancel_hint", lang))
        change_pin(token, prompts)
    ui.success(text("cli.change.done", lang))
    return ExitCode.OK


def portal_client(url: str | None, ca_bundle: str | None) -> PortalClient:
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


def reset_pin_command(
    settings: Settings,
    *,
    portal: str | None,
    ca_bundle: str | None,
    product: str,
    method: str,
    wait: int = 0,
    holder: str | None = None,
) -> int:
    from kamusm.flows import reset_pin  # noqa: PLC0415

    lang = settings.lang
    if not is_terminal(sys.stdin):
        raise CommandError("cli.needs_terminal", ExitCode.USAGE)
    no_core_dumps()  # before the verification code is read
    with portal_client(portal, ca_bundle) as client:
        module = open_module(settings)
        wait_for_card(module, lang, timeout=max(0, wait))  # "Kartınızı takınız", time left
        ui = Ui(lang)
        prompts = TerminalResetPrompts(ui, holder=holder, product=product.replace("-", "_"))
        with _interrupt_ends_with_130(ui), _time_up_ends_with_11(prompts):
            while True:
                try:
                    result = reset_pin(
                        module,
                        client,
                        prompts,
                        product=Product(product.replace("-", "_")),
                        challenge_method=method.replace("-", "_"),
                    )
                    break
                except CardNotOwnedError as not_theirs:
                    # Nothing was spent: the portal refused the code for that card before
                    # opening an operation. The same code, and the card picker again.
                    ui.problem(not_theirs.message(lang))
                    prompts.reuse_code()
    ui.success(text("cli.reset.done", lang))
    if not result.reported:
        ui.note(text("cli.reset.not_reported", lang))
    return ExitCode.OK


@contextmanager
def _time_up_ends_with_11(prompts: TerminalResetPrompts) -> Iterator[None]:
    """A question whose time ran out cancelled the flow (the portal is told); the command says
    which time ran out, and ends with 11. The code kept for a second card is dropped."""
    try:
        yield
    except KamusmError:
        if prompts.timed_out is not None:
            raise StopWith(prompts.timed_out, ExitCode.EXPIRED) from None
        raise
    finally:
        prompts.forget_code()
