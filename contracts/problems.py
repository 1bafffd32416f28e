"""The one problem type: why a record or a file is invalid. Validation, the CSV reader, the loaders and the
quarantine all speak it (a quarantined record keeps every Problem of its record)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """One reason a record (or a file) is invalid. code: a `contracts.reasons.Reason` value; column: the column
    (field) at fault, None for the record as a whole; detail: a human sentence, never holding a My Number;
    file: the inbox-relative path and line: the physical line where it starts (0: the file as a whole), set by
    whoever knows where the record came from (`located`); None while unknown."""

    code: str
    column: str | None
    detail: str
    file: str | None = None
    line: int | None = None

    def located(self, file: str | None, line: int | None) -> Problem:
        """This problem at `file`, `line`."""
        return Problem(self.code, self.column, self.detail, file, line)
