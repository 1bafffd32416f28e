"""The agent's errors: one exception type carrying a stable reason code and safe parameters.

Codes are what tests, docs/reader-agent.md and the shop's support line use; `messages.text(code, lang)` turns
one into a Japanese or English sentence that says what to do. Parameters must never carry a PIN (the flow
never passes one) nor a My Number; they are small values such as tries left or a status word.
"""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    PCSC_UNAVAILABLE = "pcsc_unavailable"
    NO_READER = "no_reader"
    NO_CARD = "no_card"
    CARD_IN_USE = "card_in_use"
    CARD_REMOVED = "card_removed"
    CARD_RESET = "card_reset"
    CARD_TIMEOUT = "card_timeout"
    CARD_ERROR = "card_error"
    NOT_JPKI = "not_jpki"
    TOKEN_UNSUPPORTED = "token_unsupported"
    CERT_UNREADABLE = "cert_unreadable"
    CERT_FOREIGN = "cert_foreign"
    CERT_EXPIRED = "cert_expired"
    PIN_LOCKED = "pin_locked"
    PIN_LAST_TRY = "pin_last_try"
    PIN_WRONG = "pin_wrong"
    PIN_FORMAT = "pin_format"
    PIN_TIMEOUT = "pin_timeout"
    SIGNATURE_INVALID = "signature_invalid"
    PLATFORM_UNREACHABLE = "platform_unreachable"
    PLATFORM_DECLINED = "platform_declined"
    PLATFORM_UNCERTAIN = "platform_uncertain"
    PENDING_UNRESOLVED = "pending_unresolved"
    TERMINAL_NOT_INITIALISED = "terminal_not_initialised"
    TERMINAL_KEY_EXISTS = "terminal_key_exists"
    UPLOAD_FAILED = "upload_failed"
    UPLOAD_CONFLICT = "upload_conflict"
    LOG_CORRUPT = "log_corrupt"
    LOG_FULL = "log_full"                      # too many unsealed records: run upload first
    AGENT_RUNNING = "agent_running"            # the state directory is locked by another seisan-reader
    TRANSACTION_TIMEOUT = "transaction_timeout"  # the whole card part took longer than the cap
    PLATFORM_ANSWER_INVALID = "platform_answer_invalid"  # a 2xx answer without the fields the protocol says
    SYSTEM_ERROR = "system_error"              # an OSError (disk full, permissions, read-only file system)
    INTERRUPTED = "interrupted"                # Ctrl+C / SIGINT
    INTERNAL_ERROR = "internal_error"          # a bug: an exception the agent did not expect
    USAGE = "usage"
    KEY_EXPOSED = "key_exposed"                # the terminal key file is readable by group or others: refused
    STATE_DIR_INSECURE = "state_dir_insecure"  # a state-dir entry open to others that the agent cannot chmod


class AgentError(Exception):
    """A failure to tell shop staff or the resident about; `code` is stable, `params` are safe to show."""

    def __init__(self, code: Reason, **params: object) -> None:
        super().__init__(code.value)
        self.code = code
        self.params = params

    def __str__(self) -> str:
        extra = ", ".join(f"{k}={v}" for k, v in sorted(self.params.items()))
        return f"{self.code.value}({extra})" if extra else self.code.value
