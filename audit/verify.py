"""`seisan audit verify`: both chains recomputed and every recorded output's bytes hashed again. Read-only."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from audit.chain import ChainHead, ChainProblem, verify_chain
from audit.outputs import OUTPUTS, verify_outputs
from audit.step_runs import STEP_RUNS


@dataclass(frozen=True, slots=True)
class AuditCheck:
    """What verify found: every problem (one sentence each), the head of each chain (keep it outside the
    warehouse: a later verify compares against it), and how many output files were hashed."""

    problems: tuple[ChainProblem, ...]
    step_runs_head: ChainHead
    outputs_head: ChainHead
    outputs_checked: int

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_audit(con, base_dir: Path, *, expect_heads: dict[str, str] | None = None) -> AuditCheck:
    """Recompute audit.step_runs' and audit.outputs' chains and check every output's latest version on disk.
    `expect_heads` (table → "seq:row_hash" noted earlier): that row must still be in the chain, unchanged."""
    runs_problems, runs_head = verify_chain(con, STEP_RUNS)
    outputs_problems, outputs_head = verify_chain(con, OUTPUTS)
    files_problems, checked = verify_outputs(con, base_dir) if outputs_head.rows or outputs_problems else ([], 0)
    anchored = [problem for table, expected in (expect_heads or {}).items()
                if (problem := _check_anchor(con, table, expected)) is not None]
    return AuditCheck(tuple(runs_problems + outputs_problems + files_problems + anchored), runs_head, outputs_head,
                      checked)


def _check_anchor(con, table: str, expected: str) -> ChainProblem | None:
    seq_text, _, digest = expected.partition(":")
    if table not in (STEP_RUNS.name, OUTPUTS.name) or not seq_text.isdigit() or len(digest) != 64:
        return ChainProblem("anchor_unreadable", f"the expected head {table} {expected!r} is not TABLE SEQ:HASH.")
    found = con.execute(f"select row_hash from {table} where seq = ?", [int(seq_text)]).fetchall()
    if [row[0] for row in found] != [digest]:
        return ChainProblem("anchor_lost", f"{table} row seq {seq_text} no longer has the row_hash noted earlier "
                                           f"({digest}): the chain from there was rewritten or cut.")
    return None
