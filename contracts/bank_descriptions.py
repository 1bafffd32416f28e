"""摘要内容 of the paying account's statement lines that a payment file causes (FORMATS.md bank/, "What appears
in it"): the simulated bank writes them, reconciliation and the payout ledger read them.

One owner for the three texts: the payout ledger (payments.ledger) and the simulated bank import them.
"""

from __future__ import annotations

TRANSFER_WITHDRAWAL = "ｿｳｺﾞｳﾌﾘｺﾐ"   # 総合振込: one withdrawal of a payment file's total on its transfer date
FEES_WITHDRAWAL = "ﾌﾘｺﾐﾃｽｳﾘﾖｳ"      # 振込手数料: one withdrawal of the file's transfer fees, the same day
RETURN_DEPOSIT = "ﾌﾘｺﾐﾌﾉｳ"           # 振込不能: a payout the receiving bank could not credit, EDI = payout id
