"""The console's words, Japanese first (the default) and English (`?lang=en`, kept in the session and the
account). Gate reasons and break event names are the daily report's own (reports.daily_recon.TEXT), so the
console and the report say the same thing."""

from __future__ import annotations

from reports.daily_recon import TEXT as REPORT_TEXT

LANGUAGES = ("ja", "en")

_WORDS: dict[str, tuple[str, str]] = {
    "app": ("精算コンソール", "seisan console"),
    "today": ("本日", "Today"), "breaks": ("差異", "Breaks"), "payments": ("支払ファイル", "Payments"),
    "reports": ("レポート", "Reports"), "auditor": ("監査", "Auditor"), "logout": ("ログアウト", "Log out"),
    "login": ("ログイン", "Log in"), "username": ("ユーザー名", "User name"), "password": ("パスワード", "Password"),
    "login_failed": ("ユーザー名またはパスワードが違います。", "Wrong user name or password."),
    "signed_in_as": ("ログイン中", "Signed in as"), "role_officer": ("精算担当", "officer"),
    "role_municipality": ("自治体", "municipality"), "role_auditor": ("監査", "auditor"),
    "run_date": ("業務日", "Business date"), "municipality": ("自治体", "Municipality"),
    "gate": ("支払ゲート", "Release gate"), "open": ("開放（支払可）", "open (may pay)"),
    "blocked": ("停止（支払不可）", "blocked (no payment)"), "undecided": ("未判定", "not decided"),
    "reasons": ("理由", "Reasons"), "none": ("なし", "none"),
    "files": ("予定ファイルと到着", "Files expected and arrived"),
    "source": ("ファイル", "File"), "arrived": ("到着", "Arrived"), "missing": ("未着", "missing"),
    "yes": ("あり", "yes"), "by_code": ("差異コード別", "Breaks by code"), "code": ("差異コード", "Break code"),
    "status": ("状態", "Status"), "count": ("件数", "Count"), "at_risk": ("リスク金額", "Amount at risk"),
    "oldest": ("最長経過日数", "Oldest (days)"), "changes": ("前日からの変化", "What changed since yesterday"),
    "event": ("出来事", "Event"), "chart": ("過去30日の一致額と保留額", "Matched and held, last 30 days"),
    "matched": ("一致額", "matched"), "held": ("保留・リスク額", "held and at risk"),
    "no_data": ("データがありません。", "No data."),
    "no_warehouse": ("まだ実行されていません（倉庫がありません）。", "Nothing has run yet (no warehouse)."),
    "busy": ("処理の実行中です。しばらくしてから再読み込みしてください。",
             "A run is using the warehouse; reload in a moment."),
    "filter": ("絞り込み", "Filter"), "all": ("すべて", "all"), "break_id": ("差異ID", "Break id"),
    "age": ("経過日数", "Age (days)"), "assignee": ("担当", "Assignee"), "left": ("左", "Left"),
    "right": ("右", "Right"), "expected": ("期待値", "Expected"), "actual": ("実際", "Actual"),
    "lineage": ("出所（ファイルと行）", "Lineage (file and line)"), "history": ("履歴", "History"),
    "at": ("日時 (UTC)", "At (UTC)"), "actor": ("実行者", "Actor"), "reason": ("理由コード", "Reason code"),
    "note": ("メモ", "Note"), "assign": ("担当を割り当てる", "Assign"), "assign_to": ("担当者ID", "Officer id"),
    "comment": ("コメントする", "Comment"), "resolve": ("解決する", "Resolve"), "reopen": ("再開する", "Reopen"),
    "pair": ("照合ペア", "Pair"), "data_date": ("データ日付", "Data date"), "first_seen": ("初出", "First seen"),
    "resolution": ("解決理由", "Resolution"), "done": ("記録しました。", "Recorded."),
    "gate_redecided": ("支払ゲートを再判定しました", "Release gate decided again"),
    "read_only": ("閲覧のみ", "read only"), "total": ("合計", "Total"),
    "file": ("ファイル", "File"), "transfer_date": ("振込日", "Transfer date"), "payouts": ("振込件数", "Payouts"),
    "transferred": ("振込金額", "Transferred"), "owed": ("支払額", "Owed"), "fees": ("手数料", "Fees"),
    "fee_payer": ("自治体負担", "borne by municipality"), "fee_payee": ("加盟店負担", "borne by merchants"),
    "prepared_by": ("作成者", "Prepared by"), "approved_by": ("承認者", "Approved by"),
    "exported": ("銀行へ引渡し済", "Handed to the bank"), "verified": ("検証", "Verification"),
    "verified_ok": ("両署名とも検証済", "both signatures verified"), "merchant": ("加盟店", "Merchant"),
    "payout": ("振込ID", "Payout"), "fee_bearer": ("手数料負担", "Fee borne by"), "digest": ("SHA-256", "SHA-256"),
    "approve": ("第二承認者として承認", "Approve as second officer"),
    "approve_how": ("秘密鍵はこの画面に渡りません。ご自身の端末で署名し、署名（base64）を貼り付けてください。",
                    "Your private key never comes here: sign on your own machine and paste the signature (base64)."),
    "approve_step1": ("1. ファイルとマニフェストを同じフォルダーにダウンロード",
                      "1. Download the file and its manifest into one folder"),
    "approve_step2": ("2. ご自身の端末で実行", "2. On your own machine, run"),
    "approve_step3": ("3. 表示された署名を貼り付けて送信", "3. Paste the signature it prints and submit"),
    "approve_server": ("サーバーで直接作業する場合", "Working on the server itself"),
    "signature": ("承認署名 (base64)", "Approval signature (base64)"), "or_upload": ("またはファイル", "or a file"),
    "download": ("ダウンロード", "Download"), "manifest": ("マニフェスト", "Manifest"),
    "approved_now": ("承認を記録しました。", "Approval recorded."), "size": ("サイズ", "Size"),
    "kind": ("種類", "Kind"), "checks": ("データ品質チェック", "Data-quality checks"),
    "data_docs": ("Data Docs", "Data Docs"), "run_log": ("実行ログ (audit.step_runs)", "Run log (audit.step_runs)"),
    "step": ("ステップ", "Step"), "started": ("開始", "Started"), "seconds": ("秒", "Seconds"),
    "summary": ("要約", "Summary"), "console_audit": ("コンソール操作ログ", "Console audit log"),
    "action": ("操作", "Action"), "target": ("対象", "Target"), "outcome": ("結果", "Outcome"),
    "success": ("成否", "Success"), "severity": ("重大度", "Severity"), "expectation": ("チェック", "Expectation"),
    "target_table": ("対象", "Target"), "observed": ("観測値", "Observed"),
    "trace_note": ("ハッシュ連鎖の検証と追跡（コマンドでは `seisan audit verify` / `seisan trace`）:",
                   "Hash-chain verification and tracing (on the command line `seisan audit verify` / `seisan trace`):"),
    "language": ("English", "日本語"), "not_found": ("見つかりません。", "Not found."),
    "forbidden": ("この操作はできません。", "You may not do this."),
    "csrf": ("フォームの有効期限が切れました。ページを再読み込みしてください。",
             "The form has expired; reload the page and try again."),
    "breaks_of_none": ("自治体不明", "no municipality"),
    "verify": ("監査証跡の検証", "Verify the audit trail"), "trace": ("追跡", "Trace"),
    "verify_ok": ("OK — 両方のハッシュ連鎖が再計算で一致し、記録された出力ファイルはすべて記録どおりのSHA-256です。",
                  "OK — both chains recompute and every recorded output has its recorded SHA-256."),
    "verify_failed": ("不整合があります（監査証跡の不整合）", "FAILED — the audit trail does not verify"),
    "verify_none": ("ハッシュ連鎖の監査テーブルがまだありません。", "No hash-chained audit tables yet."),
    "chain_head": ("連鎖の先頭", "Chain head"), "rows": ("行数", "Rows"),
    "outputs_checked": ("再ハッシュした出力ファイル", "Output files hashed again"),
    "trace_kind": ("起点", "Start from"), "trace_id": ("ID", "Id"), "trace_go": ("追跡する", "Trace"),
    "sender": ("送信元", "Source"), "day_before": ("前日", "the day before"),
    "payout_lines": ("振込明細", "Payouts, merchant by merchant"),
    "awaiting": ("第二承認待ち（作成者の署名は検証済）",
                 "awaiting the second approval (preparer's signature verified)"),
    "registry_missing": ("担当者登録簿がありません", "no officer registry"),
}


def words(language: str) -> dict[str, str]:
    """Every label of the console in `language`, with the daily report's gate-reason and event names."""
    index = 0 if language == "ja" else 1
    found = {key: pair[index] for key, pair in _WORDS.items()}
    report = REPORT_TEXT["ja" if index == 0 else "en"]
    found.update({k: v for k, v in report.items() if k.startswith(("reason_", "ev_"))})
    return found
