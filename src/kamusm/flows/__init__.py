"""The PIN reset and PIN change procedures: pure state machines, and the drivers that run them.

The package is split at its own seam, as h11 is:

- ``kamusm.flows._machines`` does no I/O. :class:`PinResetFlow` and :class:`PinChangeFlow`
  take events and say what has to happen next; their moves, and the exits their rules can
  take, are data (:data:`RESET_MOVES`, :data:`RESET_TIMEOUTS`, :data:`CHANGE_MOVES`). A DYS
  can drive a machine itself from its own user interface.
- ``kamusm.flows._drivers`` holds :func:`reset_pin`, :func:`change_pin` and their async forms,
  the prompts they ask a person through (:class:`ResetPrompts`, :class:`ChangePrompts`) and
  their results: thin loops that perform what a machine asks through :mod:`kamusm.token` and
  :mod:`kamusm.portal`, each call a named method the type checker follows.

Every public name is importable from here (and from :mod:`kamusm`).
"""

from __future__ import annotations

from kamusm.flows._drivers import (
    AsyncChangePrompts,
    AsyncResetPrompts,
    CardChoice,
    ChangePrompts,
    ChangeResult,
    ResetPrompts,
    ResetResult,
    achange_pin,
    areset_pin,
    cards_of_holder,
    change_pin,
    list_cards,
    reset_pin,
    with_holder,
)
from kamusm.flows._machines import (
    CHANGE_MOVES,
    CHANGE_TRANSITIONS,
    DEFAULT_MAX_CONFIRMATION_ATTEMPTS,
    DEFAULT_PIN_ENTRY_TIMEOUT,
    RESET_MOVES,
    RESET_TIMEOUTS,
    RESET_TRANSITIONS,
    AuthorizationReceived,
    CardCertificate,
    CardChosen,
    CardFacts,
    ChallengeSent,
    ChangeState,
    ChangeStep,
    CodeEntered,
    CodeRedeemed,
    ConfirmationRejected,
    Confirmed,
    ErrorOccurred,
    FinalTryAcknowledged,
    FlowCancelled,
    FlowExit,
    FlowMove,
    NewPinVerified,
    NewSmsDeclined,
    NewSmsRequested,
    OperationFacts,
    PinChanged,
    PinChangeFlow,
    PinChosen,
    PinResetFlow,
    PinsEntered,
    PinWritten,
    ResetState,
    ResetStep,
    ResultReported,
    StatusRead,
)
from kamusm.flows._machines import (
    Event as Event,  # the events' base class: importable, not a name of kamusm
)

__all__ = [
    "CHANGE_MOVES",
    "CHANGE_TRANSITIONS",
    "DEFAULT_MAX_CONFIRMATION_ATTEMPTS",
    "DEFAULT_PIN_ENTRY_TIMEOUT",
    "RESET_MOVES",
    "RESET_TIMEOUTS",
    "RESET_TRANSITIONS",
    "AsyncChangePrompts",
    "AsyncResetPrompts",
    "AuthorizationReceived",
    "CardCertificate",
    "CardChoice",
    "CardChosen",
    "CardFacts",
    "ChallengeSent",
    "ChangePrompts",
    "ChangeResult",
    "ChangeState",
    "ChangeStep",
    "CodeEntered",
    "CodeRedeemed",
    "ConfirmationRejected",
    "Confirmed",
    "ErrorOccurred",
    "FinalTryAcknowledged",
    "FlowCancelled",
    "FlowExit",
    "FlowMove",
    "NewPinVerified",
    "NewSmsDeclined",
    "NewSmsRequested",
    "OperationFacts",
    "PinChangeFlow",
    "PinChanged",
    "PinChosen",
    "PinResetFlow",
    "PinWritten",
    "PinsEntered",
    "ResetPrompts",
    "ResetResult",
    "ResetState",
    "ResetStep",
    "ResultReported",
    "StatusRead",
    "achange_pin",
    "areset_pin",
    "cards_of_holder",
    "change_pin",
    "list_cards",
    "reset_pin",
    "with_holder",
]
