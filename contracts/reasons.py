"""Every reason code ingestion can give a rejected file or row, with its meaning.

Stable names: tests, the simulator's faults.json, reports and runbooks use them. docs/formats.md lists each
with an example. Add codes here (never rename one); keep the order grouped by level.
"""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    # --- whole file -------------------------------------------------------------------------------------
    FILE_UNKNOWN_KIND = "file_unknown_kind"                  # name matches no inbox pattern
    FILE_NAME_INVALID = "file_name_invalid"  # name not UTF-8, or holds control/bidi characters or a My Number
    FILE_CONFLICTING_DUPLICATE = "file_conflicting_duplicate"  # same name as a loaded file, other content
    FILE_TOO_LARGE = "file_too_large"                        # over the configured size limit
    FILE_TOO_MANY_ROWS = "file_too_many_rows"                # over the configured record limit
    FILE_ENCODING_INVALID = "file_encoding_invalid"          # bytes not valid in the declared encoding
    FILE_EMPTY = "file_empty"                                # no bytes, or no header
    CSV_HEADER_INVALID = "csv_header_invalid"                # missing, extra or repeated columns
    CSV_MALFORMED = "csv_malformed"                          # RFC 4180 broken (e.g. unterminated quote)
    FILE_DATE_MISMATCH = "file_date_mismatch"  # the date in the file name is not the content's (bank: 勘定日(至))
    FILE_UNREADABLE = "file_unreadable"  # the file could not be read (permissions, vanished, not a file); retried
    FILE_INTERNAL_ERROR = "file_internal_error"  # reading/checking it raised (class in the detail): a defect
    FILE_CRASHED_INGEST = "file_crashed_ingest"  # the ingest process died while reading it (killed, OOM)
    # --- CSV row ----------------------------------------------------------------------------------------
    CSV_FIELD_COUNT = "csv_field_count"                      # row has more or fewer fields than the header
    FIELD_REQUIRED = "field_required"                        # required field empty
    FIELD_PATTERN = "field_pattern"                          # identifier or code of the wrong shape
    FIELD_ENUM = "field_enum"                                # value not among the allowed values
    MUNICIPALITY_CODE_CHECK_DIGIT = "municipality_code_check_digit"
    AMOUNT_NOT_INTEGER = "amount_not_integer"                # decimal point, exponent, letters
    AMOUNT_SIGNED = "amount_signed"                          # "+", or "-" anywhere but a ledger adjust
    AMOUNT_OUT_OF_RANGE = "amount_out_of_range"  # over 10,000,000 in one transaction (adjust: either way)
    DATE_INVALID = "date_invalid"                            # not YYYY-MM-DD or not a calendar date
    TIMESTAMP_INVALID = "timestamp_invalid"                  # not ISO 8601 with offset
    DATE_OUT_OF_RANGE = "date_out_of_range"                  # date far from the business date, or to < from
    EVENT_DATE_MISMATCH = "event_date_mismatch"              # ledger event not on the file's business date
    MY_NUMBER_DETECTED = "my_number_detected"                # a 12-digit individual number in a text field
    FIELD_CONTROL_CHARACTER = "field_control_character"  # C0/C1 control, DEL or bidi override in a value
    FIELD_TOO_LONG = "field_too_long"  # id over 256 characters, text over 1024 (schemas.py bounds)
    FIELDS_INCONSISTENT = "fields_inconsistent"              # fields that must (not) be set together
    MUNICIPALITY_UNKNOWN = "municipality_unknown"            # not in the master in force
    MERCHANT_UNKNOWN = "merchant_unknown"                    # not in the master in force
    PARTNER_UNKNOWN = "partner_unknown"                      # partner folder/code not in the master
    DUPLICATE_KEY = "duplicate_key"  # key already loaded (or earlier in the same file)
    # --- terminal logs (whole file unless noted) ----------------------------------------------------------
    TERMINAL_JSON_INVALID = "terminal_json_invalid"          # a line is not a JSON object, or torn
    TERMINAL_RECORD_INVALID = "terminal_record_invalid"      # fields missing, extra or of the wrong type
    TERMINAL_LINE_TOO_LONG = "terminal_line_too_long"        # a line over 16 KiB (a record is under 1 KiB)
    TERMINAL_HASH_MISMATCH = "terminal_hash_mismatch"
    TERMINAL_CHAIN_BROKEN = "terminal_chain_broken"
    TERMINAL_SEQ_NOT_CONSECUTIVE = "terminal_seq_not_consecutive"
    TERMINAL_SEAL_MISSING = "terminal_seal_missing"
    TERMINAL_SEAL_NOT_LAST = "terminal_seal_not_last"
    TERMINAL_SEAL_COUNT_MISMATCH = "terminal_seal_count_mismatch"
    TERMINAL_SEAL_SIGNATURE_INVALID = "terminal_seal_signature_invalid"
    TERMINAL_KEY_UNKNOWN = "terminal_key_unknown"  # no key for the terminal in force on the seal date
    TERMINAL_FILE_EMPTY = "terminal_file_empty"
    TERMINAL_FORK = "terminal_fork"  # expected seq, but does not link to the last seal
    TERMINAL_ID_MISMATCH = "terminal_id_mismatch"  # records of another terminal than the folder/name
    TERMINAL_CARD_SIGNATURE_INVALID = "terminal_card_signature_invalid"  # row: card signature does not verify
    TERMINAL_CERT_NOT_VALID = "terminal_cert_not_valid"  # row: no registered, unrevoked cert of that MyKey ID
    # --- Zengin bank statements (whole file) ----------------------------------------------------------------
    ZENGIN_EBCDIC = "zengin_ebcdic"
    ZENGIN_STRUCTURE = "zengin_structure"  # records out of order, missing header/trailer/end
    ZENGIN_RECORD_LENGTH = "zengin_record_length"            # record longer than 200 bytes
    ZENGIN_FIELD_INVALID = "zengin_field_invalid"            # non-digits in a numeric field, bad code value
    ZENGIN_DATE_INVALID = "zengin_date_invalid"  # era date invalid or outside the statement period
    ZENGIN_TRAILER_MISMATCH = "zengin_trailer_mismatch"      # counts or totals differ from the data records
    ZENGIN_BALANCE_MISMATCH = "zengin_balance_mismatch"      # opening + credits - debits != closing
    ZENGIN_ACCOUNT_MISMATCH = "zengin_account_mismatch"      # header account differs from the file name


class ControlFlag(StrEnum):
    """Control breaks of LOADED platform ledger rows (marts.fct_control_flags; FORMATS.md "References not known
    yet", "Cancels in settlement"): the row moves points all the same; reconciliation turns each into a break.
    docs/formats.md lists each with an example; dbt's accepted values are checked against this enum."""

    MUNICIPALITY_UNKNOWN = "municipality_unknown"    # no municipalities snapshot in force on the row's date names it
    MERCHANT_UNKNOWN = "merchant_unknown"            # likewise merchants (a use is held until a snapshot names it)
    PROGRAM_UNKNOWN = "program_unknown"              # likewise programmes
    PARTNER_UNKNOWN = "partner_unknown"              # likewise partners
    CANCEL_EXCEEDS_USE = "cancel_exceeds_use"        # beyond what its use still holds: never taken from the merchant
    CANCEL_MERCHANT_MISMATCH = "cancel_merchant_mismatch"  # names another merchant than its use's, or none


class BreakCode(StrEnum):
    """Every break reconciliation can raise (recon.findings / recon.breaks `break_code`), with its meaning.

    Stable names: the simulator's faults.json (docs/simulator.md, layer "reconciliation"), reports, runbooks and
    the officers use them. docs/reconciliation.md lists each with its pair and an example. Append; never rename.
    """

    # --- the simulator's reconciliation layer (same names) -------------------------------------------------
    TERMINAL_SEQ_GAP = "terminal_seq_gap"                  # a terminal's seq jumps: records never delivered
    USE_MISSING_IN_TERMINAL = "use_missing_in_terminal"    # platform terminal use/cancel, no terminal record
    USE_MISSING_IN_PLATFORM = "use_missing_in_platform"    # a verified terminal record the platform lacks
    AMOUNT_MISMATCH = "amount_mismatch"                    # matched pair, amounts differ beyond tolerance
    MERCHANT_MISMATCH = "merchant_mismatch"                # matched pair, merchants differ
    BALANCE_DRIFT = "balance_drift"                        # platform balance != balance recomputed by seisan
    USE_AT_UNDESIGNATED_MERCHANT = "use_at_undesignated_merchant"  # merchant not designated on the use date
    USE_AT_INACTIVE_MERCHANT = "use_at_inactive_merchant"  # merchant not active on the use date
    GRANT_OVER_ANNUAL_CAP = "grant_over_annual_cap"        # a grant past the programme's annual cap
    PARTNER_SHORT_PAYMENT = "partner_short_payment"        # a partner paid less than the month's receivable
    PARTNER_DOUBLE_PAYMENT = "partner_double_payment"      # a partner paid the month's receivable twice
    ACQUIRER_NET_MISMATCH = "acquirer_net_mismatch"        # an acquirer deposit != sum of net for its date
    # --- matching in general ------------------------------------------------------------------------------
    AMBIGUOUS_MATCH = "ambiguous_match"                    # two equally good candidates: never first-wins
    # --- transaction pairs (reconciliation/rules/*.yml) ------------------------------------------------------
    TYPE_MISMATCH = "type_mismatch"                        # matched pair, one side a use and the other a cancel
    TIME_MISMATCH = "time_mismatch"                        # matched pair, times differ beyond tolerance
    SALE_MISSING_IN_PLATFORM = "sale_missing_in_platform"  # a partner's online sale/refund the platform lacks
    ONLINE_USE_MISSING_IN_SALES = "online_use_missing_in_sales"  # platform online use/cancel, no partner sale row
    CONVERSION_GRANT_MISSING = "conversion_grant_missing"  # an applied partner conversion with no platform grant
    GRANT_WITHOUT_CONVERSION = "grant_without_conversion"  # a platform conversion grant with no applied conversion
    RESIDENT_MISMATCH = "resident_mismatch"                # matched pair, MyKey IDs differ
    MUNICIPALITY_MISMATCH = "municipality_mismatch"        # matched pair, municipality codes differ
    # --- money pairs: partners, acquirer, balances, expiries -------------------------------------------------------
    PARTNER_PAYMENT_MISSING = "partner_payment_missing"    # a month's receivable not paid by its due date (10th)
    PARTNER_OVERPAYMENT = "partner_overpayment"            # paid more than owed in one transfer, or nothing was owed
    ACQUIRER_LINE_MISSING_CHARGE = "acquirer_line_missing_charge"  # an acquirer settlement line, no platform charge
    CHARGE_MISSING_IN_ACQUIRER = "charge_missing_in_acquirer"      # a platform charge, no acquirer settlement line
    ACQUIRER_AMOUNT_MISMATCH = "acquirer_amount_mismatch"  # settlement line amount != its charge's amount
    ACQUIRER_DEPOSIT_MISSING = "acquirer_deposit_missing"  # settlement lines due on a date, no acquirer deposit
    ACQUIRER_DEPOSIT_UNEXPECTED = "acquirer_deposit_unexpected"    # an acquirer deposit no settlement line is due for
    BALANCE_MISSING_IN_PLATFORM = "balance_missing_in_platform"    # seisan holds a balance the platform does not list
    BALANCE_UNEXPECTED_IN_PLATFORM = "balance_unexpected_in_platform"  # the platform lists a balance seisan lacks
    EXPIRY_MISSING_IN_PLATFORM = "expiry_missing_in_platform"      # seisan expired a lot's points, the platform not
    EXPIRY_UNEXPECTED_IN_PLATFORM = "expiry_unexpected_in_platform"  # the platform expired what seisan did not
    EXPIRY_AMOUNT_MISMATCH = "expiry_amount_mismatch"      # both expired the lot that day, amounts differ
    # --- control breaks (check rules; ControlFlag rows of marts.fct_control_flags keep their names) ------------
    MUNICIPALITY_UNKNOWN = "municipality_unknown"          # a ledger row names a municipality no master in force has
    MERCHANT_UNKNOWN = "merchant_unknown"                  # likewise a merchant (its use is held)
    PROGRAM_UNKNOWN = "program_unknown"                    # likewise a programme
    PARTNER_UNKNOWN = "partner_unknown"                    # likewise a partner
    CANCEL_EXCEEDS_USE = "cancel_exceeds_use"              # a cancel beyond what its use still holds
    CANCEL_MERCHANT_MISMATCH = "cancel_merchant_mismatch"  # a cancel naming another merchant than its use's, or none
    # --- what the bank did with the payment files (rule payments_bank_checks: "bank_" + a PayoutCheck problem) ----
    BANK_BATCH_WITHDRAWAL_MISSING = "bank_batch_withdrawal_missing"  # no 総合振込 withdrawal of an issued file's total
    BANK_FEES_OVER_SCHEDULE = "bank_fees_over_schedule"    # the bank charged more transfer fees than the schedule
    BANK_FEES_UNDER_SCHEDULE = "bank_fees_under_schedule"  # the bank charged less than the schedule (ours may be old)
    BANK_FEES_WITHDRAWAL_MISSING = "bank_fees_withdrawal_missing"  # a confirmed file, no fee withdrawal that day
    BANK_PAYOUT_RETURNED = "bank_payout_returned"          # 振込不能: a payout came back; open until paid again
    BANK_RETURN_AMOUNT_MISMATCH = "bank_return_amount_mismatch"    # a 振込不能 deposit != the payout's transfer
    BANK_RETURN_UNKNOWN_PAYOUT = "bank_return_unknown_payout"      # a 振込不能 deposit naming no issued payout


class BreakResolution(StrEnum):
    """Why an officer resolved a break (recon.break_events `reason_code` of a `resolved` event)."""

    CORRECTED_AT_SOURCE = "corrected_at_source"            # the sender corrected and redelivered the data
    EXPLAINED_TIMING = "explained_timing"                  # a timing difference, confirmed with the sender
    ACCEPTED_DIFFERENCE = "accepted_difference"            # difference accepted (e.g. written off), see note
    DUPLICATE_OF_OTHER_BREAK = "duplicate_of_other_break"  # the same cause as another break (named in the note)
    FALSE_POSITIVE = "false_positive"                      # the data agree; the rule was wrong (note says why)


class GateReason(StrEnum):
    """Why a municipality's release gate is blocked (recon.gate `reasons[].code`)."""

    OPEN_BREAKS_OVER_MATERIALITY = "open_breaks_over_materiality"  # open breaks' amount at risk > threshold
    FAILED_EXPECTATION = "failed_expectation"              # an error-severity data-quality check failed
    MISSING_SOURCE = "missing_source"                      # an expected file for the day did not arrive
    UNRESOLVED_HOLD = "unresolved_hold"                    # settlement items held (unknown/undesignated/inactive)


class PayoutCheck(StrEnum):
    """What confirming payouts against the paying account's bank statement found (payments.bank_checks
    `check_code`, payments.ledger.confirm_from_bank). The *_mismatch / *_over / *_unknown / *_missing codes are
    problems for an officer; the others record a match."""

    BATCH_CONFIRMED = "batch_confirmed"                    # 総合振込 withdrawal of the batch total on its date
    BATCH_WITHDRAWAL_MISSING = "batch_withdrawal_missing"  # statement of the transfer date has no such withdrawal
    FEES_MATCH = "fees_match"                              # ﾌﾘｺﾐﾃｽｳﾘﾖｳ withdrawal = the schedule's fees
    FEES_OVER_SCHEDULE = "fees_over_schedule"              # the bank charged more than the fee schedule
    FEES_UNDER_SCHEDULE = "fees_under_schedule"            # the bank charged less than the fee schedule
    FEES_WITHDRAWAL_MISSING = "fees_withdrawal_missing"    # no fee withdrawal for a confirmed batch
    PAYOUT_RETURNED = "payout_returned"                    # 振込不能 deposit with EDI = an issued payout's id
    RETURN_AMOUNT_MISMATCH = "return_amount_mismatch"      # 振込不能 deposit amount != the payout's transfer
    RETURN_UNKNOWN_PAYOUT = "return_unknown_payout"        # 振込不能 deposit whose EDI names no issued payout


# PayoutChecks that are problems for an officer: reconciliation raises each as the break "bank_" + its code
# (BreakCode.BANK_*; rule reconciliation/rules/payments_bank_checks.yml). The others record a match.
PAYOUT_CHECK_PROBLEMS = frozenset({
    PayoutCheck.BATCH_WITHDRAWAL_MISSING, PayoutCheck.FEES_OVER_SCHEDULE, PayoutCheck.FEES_UNDER_SCHEDULE,
    PayoutCheck.FEES_WITHDRAWAL_MISSING, PayoutCheck.PAYOUT_RETURNED, PayoutCheck.RETURN_AMOUNT_MISMATCH,
    PayoutCheck.RETURN_UNKNOWN_PAYOUT,
})


class CarryReason(StrEnum):
    """Why payout planning carried a merchant's balance forward instead of paying it (payments.planning)."""

    BELOW_MINIMUM = "below_minimum"                        # 0 < balance < the municipality's min_payout_yen
    NOT_POSITIVE = "not_positive"                          # net owed is zero or negative (owed back): never sent
    ACCOUNT_UNCHANGED_AFTER_RETURN = "account_unchanged_after_return"  # a 振込不能 return, account not corrected
    NO_ACCOUNT_IN_FORCE = "no_account_in_force"            # no merchants master row in force on the date
    FEE_EXCEEDS_AMOUNT = "fee_exceeds_amount"              # payee bears the fee and it leaves nothing to send


class PaymentRefusal(StrEnum):
    """Why a payment file is refused by `seisan payments approve | verify | export` (payments.signing). Each
    refusal is shown as one sentence; docs/formats.md lists each with an example. Append; never rename."""

    FILE_TAMPERED = "payment_file_tampered"                # the bytes' SHA-256 is not the manifest's
    FILE_UNREADABLE = "payment_file_unreadable"            # the independent reader rejects the Zengin file
    MANIFEST_MISMATCH = "payment_manifest_mismatch"        # count, total, payout ids or file name differ
    MANIFEST_MISSING = "payment_manifest_missing"          # no manifest beside the file, or not a manifest
    SIGNATURE_MISSING = "payment_signature_missing"        # no preparer's, or no approver's (second) signature
    SIGNATURE_INVALID = "payment_signature_invalid"        # a signature does not verify over the manifest
    SAME_OFFICER = "payment_same_officer"                  # the approver is the preparer: four eyes need two
    KEY_UNREGISTERED = "payment_key_unregistered"          # signer not in the registry, or not with that key
    WRONG_ROLE = "payment_wrong_role"                      # signer registered without the preparer/approver role
    ALREADY_APPROVED = "payment_already_approved"          # another officer approved the file already
    PAYOUT_IN_OTHER_FILE = "payment_payout_in_other_file"  # a payout id already handed over in another file
