"""Bank business days for the simulated bank statements and acquirer deposit dates: the rule lives in
contracts.bank_calendar (one owner, shared with payout planning); this module only re-exports it."""

from __future__ import annotations

from contracts.bank_calendar import add_bank_days, bank_day_on_or_before, is_bank_business_day

__all__ = ["add_bank_days", "bank_day_on_or_before", "is_bank_business_day"]
