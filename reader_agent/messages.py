"""What the agent says to shop staff and residents: Japanese by default, English with `--lang en`.

Every error sentence says what to do next. Templates take only safe parameters (amounts, tries left, status
words, file names, reason codes) — never a PIN, a certificate, a serial or a My Number.
"""

# ruff: noqa: E501 - each sentence stays on one line, next to its translation, for whoever edits them.

from __future__ import annotations

LANGS = ("ja", "en")

_TEXT: dict[str, tuple[str, str]] = {
    # --- errors (keys = errors.Reason values) ---
    "pcsc_unavailable": ("カードリーダーのサービス (pcscd) に接続できません。pcscd を起動してから、もう一度お試しください。",
                         "Cannot reach the card reader service (pcscd). Start pcscd and try again."),
    "no_reader": ("カードリーダーが見つかりません。リーダーの接続を確認してください。",
                  "No card reader found. Check that the reader is plugged in."),
    "no_card": ("カードが置かれませんでした。マイナンバーカードをリーダーに置いて、もう一度お試しください。",
                "No card was presented. Place the My Number Card on the reader and try again."),
    "card_in_use": ("カードを他のプログラムが使用中です。他のソフトを閉じて、もう一度お試しください。",
                    "Another program is using the card. Close it and try again."),
    "card_removed": ("処理中にカードが取り外されました。お支払いは完了していません。カードを置いたまま、最初からやり直してください。",
                     "The card was removed during the transaction. Nothing was paid. Keep the card on the reader "
                     "and start again."),
    "card_reset": ("カードがリセットされました。お支払いは完了していません。最初からやり直してください。",
                   "The card was reset. Nothing was paid. Start again."),
    "card_timeout": ("カードの応答がありません。お支払いは完了していません。カードを置き直して、もう一度お試しください。",
                     "The card did not answer in time. Nothing was paid. Re-insert the card and try again."),
    "card_error": ("カードが予期しない応答をしました (SW {sw})。お支払いは完了していません。もう一度お試しください。",
                   "The card gave an unexpected answer (SW {sw}). Nothing was paid. Try again."),
    "not_jpki": ("マイナンバーカードではないか、電子証明書が搭載されていません。マイナンバーカードをお使いください。",
                 "This is not a My Number Card, or it carries no electronic certificate. Use a My Number Card."),
    "token_unsupported": ("このカードの種類には対応していません。マイナンバーカード (ICカード) をお使いください。",
                          "This kind of card is not supported. Use a My Number Card (IC card)."),
    "cert_unreadable": ("カードの電子証明書を読み取れませんでした。カードを置き直して、もう一度お試しください。",
                        "Could not read the card's certificate. Re-insert the card and try again."),
    "cert_foreign": ("このカードの証明書は公的個人認証 (利用者証明用) のものではありません。マイナンバーカードをお使いください。",
                     "The card's certificate is not a JPKI user-authentication certificate. Use a My Number Card."),
    "cert_expired": ("利用者証明用電子証明書の有効期限が切れています。お住まいの市区町村の窓口で更新してください。",
                     "The user-authentication certificate has expired. Renew it at the municipal office."),
    "pin_locked": ("暗証番号がロックされています。お住まいの市区町村の窓口 (本人確認書類をお持ちください) でロックを解除してください。",
                   "The PIN is locked. The municipal office can reset it (bring photo ID)."),
    "pin_last_try": ("暗証番号の残り回数が 1 回です。間違えるとロックされ、市区町村の窓口での解除が必要になります。"
                     "ここでは入力を受け付けません。マイナポータル等で暗証番号を確認してから、もう一度お越しください。",
                     "Only one PIN try is left; one more mistake locks it and only the municipal office can "
                     "reset it. The PIN is not asked for here. Check the PIN elsewhere (e.g. Mynaportal) first."),
    "pin_wrong": ("暗証番号が違います。残り {tries_left} 回です。お支払いは完了していません。確認のうえ、最初からやり直してください。",
                  "Wrong PIN. {tries_left} tries left. Nothing was paid. Check the PIN and start again."),
    "pin_format": ("暗証番号は数字 4 桁です。カードには送信していません (残り回数は減っていません)。",
                   "The PIN is 4 digits. Nothing was sent to the card (no try was used)."),
    "pin_timeout": ("暗証番号の入力が時間切れになりました。お支払いは完了していません。最初からやり直してください。",
                    "PIN entry timed out. Nothing was paid. Start again."),
    "signature_invalid": ("カードの署名を確認できませんでした。お支払いは完了していません。もう一度お試しください。",
                          "The card's signature did not check out. Nothing was paid. Try again."),
    "platform_unreachable": ("ポイントサーバーに接続できません。お支払いは完了していません (ポイントは使われていません)。"
                             "通信を確認して、しばらくしてからお試しください。",
                             "Cannot reach the points platform. Nothing was paid (no points were used). "
                             "Check the network and try again later."),
    "platform_declined": ("お取引は承認されませんでした: {reason_text} お支払いは完了していません。",
                          "The platform declined the transaction: {reason_text} Nothing was paid."),
    "platform_uncertain": ("ポイントサーバーからの応答がなく、結果を確認できません。記録は保存しました。"
                           "通信が戻ったら `seisan-reader recover` を実行してください (自動でも確認します)。",
                           "No answer from the platform; the outcome is not known yet. The attempt is saved. "
                           "When the network is back run `seisan-reader recover` (it is also checked automatically)."),
    "pending_unresolved": ("前回のお取引の結果をポイントサーバーでまだ確認できていません (応答: {answer})。記録は端末に保存したままです。"
                           "通信を確認して `seisan-reader recover` を実行してください。同じ応答が続く場合は本部に連絡してください (log/pending.json は消さないでください)。",
                           "The platform has not yet confirmed how the previous transaction ended (answer: {answer}). "
                           "Its record is kept on this terminal. Check the network and run `seisan-reader recover`; "
                           "if the same answer repeats, contact head office (never delete log/pending.json)."),
    "terminal_not_initialised": ("端末が初期化されていません。`seisan-reader init-terminal` を実行してください。",
                                 "This terminal is not set up. Run `seisan-reader init-terminal`."),
    "terminal_key_exists": ("端末鍵はすでにあります。上書きしません。鍵を作り直す場合は本部に連絡してください。",
                            "A terminal key already exists; it is not overwritten. Contact head office to rotate it."),
    "upload_failed": ("ログを送信できませんでした ({detail})。ログは保存されています。通信を確認して再度 `seisan-reader upload` "
                      "を実行してください。", "Could not deliver the log ({detail}). It is kept. Check the network "
                      "and run `seisan-reader upload` again."),
    "upload_conflict": ("受信側に同名で内容の異なるファイルがあります ({detail})。送信を止めました。本部に連絡してください。",
                        "The inbox holds a different file under the same name ({detail}). Delivery stopped. "
                        "Contact head office."),
    "log_corrupt": ("取引ログが壊れています ({detail})。端末を使わず、本部に連絡してください。",
                    "The transaction log is damaged ({detail}). Stop using the terminal and contact head office."),
    "log_full": ("未送信の取引記録が上限 ({records} 件) に達しました。お支払いは完了していません。"
                 "`seisan-reader upload` を実行してから、もう一度お試しください。",
                 "The log holds the most records one upload file may ({records}). Nothing was paid. Run "
                 "`seisan-reader upload`, then start again."),
    "agent_running": ("この端末では別の seisan-reader が動作中です。その処理が終わるのを待つか、そのウィンドウを閉じてから、もう一度お試しください。",
                      "Another seisan-reader is running on this terminal. Wait for it to finish or close it, "
                      "then try again."),
    "transaction_timeout": ("お取引が制限時間内に終わらなかったため中止しました。お支払いは完了していません。カードを置き直して、最初からやり直してください。",
                            "The transaction did not finish within its time limit and was stopped. Nothing was "
                            "paid. Place the card again and start again."),
    "platform_answer_invalid": ("ポイントサーバーの応答が正しくありません (項目: {field})。お支払いは完了していません。本部に連絡してください。",
                                "The platform's answer is malformed (field: {field}). Nothing was paid. Contact "
                                "head office."),
    "system_error": ("端末のファイル操作に失敗しました ({detail})。ディスクの空き容量と設定フォルダーの書き込み権限を確認してください。"
                     "レシートが表示されていなければお支払いは完了していません。続ける前に `seisan-reader recover` を実行してください。",
                     "A file operation on this terminal failed ({detail}). Check the free disk space and that "
                     "the state directory is writable. Unless a receipt was shown nothing was paid; run "
                     "`seisan-reader recover` before going on."),
    "interrupted": ("処理を中断しました。レシートが表示されていなければお支払いは完了していません。"
                    "次のお取引の前に `seisan-reader recover` を実行してください。",
                    "Stopped. Unless a receipt was shown nothing was paid. Run `seisan-reader recover` before "
                    "the next transaction."),
    "internal_error": ("端末ソフトの内部エラーです ({detail})。`seisan-reader recover` を実行し、本部に連絡してください。",
                       "Internal error in the terminal software ({detail}). Run `seisan-reader recover` and "
                       "contact head office."),
    "usage": ("使い方が正しくありません: {detail}。`seisan-reader --help` (コマンドごとに `seisan-reader <コマンド> --help`) を確認してください。",
              "Wrong usage: {detail}. See `seisan-reader --help` (and `seisan-reader <command> --help`)."),
    "key_exposed": ("端末鍵ファイル {path} が他のユーザーから読める状態です (権限 {mode})。この鍵は使いません。`{command}` を実行してから、もう一度お試しください。鍵が複製された可能性があるため、本部にも連絡してください。",
                    "The terminal key file {path} can be read by other users (mode {mode}); it is not used. Run "
                    "`{command}`, then try again. Tell head office too: the key may have been copied."),
    "state_dir_insecure": ("{path} が他のユーザーに開かれていて (権限 {mode})、別のユーザーの所有のため端末ソフトでは直せません。所有者 (または管理者) が `{command}` を実行してから、もう一度お試しください。",
                           "{path} is open to other users (mode {mode}) and belongs to another user, so the agent "
                           "cannot fix it. Have its owner (or an administrator) run `{command}`, then try again."),
    # --- platform decline reasons ---
    "decline.insufficient_balance": ("ポイント残高が足りません (残高 {balance} 円)。残高以下の金額でお支払いいただくか、残りを他の方法でお支払いください。",
                                     "Not enough points (balance ¥{balance}). Pay at most the balance in points, "
                                     "and the rest another way."),
    "decline.card_not_registered": ("このカードは MyKey ID に登録されていません。マイナポータル等で MyKey ID の設定 (マイキーID作成) を済ませてから、もう一度お試しください。",
                                    "This card is not registered to a MyKey ID. Set up the MyKey ID (e.g. on "
                                    "Mynaportal) first, then try again."),
    "decline.card_revoked": ("このカードの証明書は失効しています。市区町村の窓口にご相談ください。",
                             "This card's certificate is revoked. Ask the municipal office."),
    "decline.not_designated": ("この店舗ではお住まいの自治体のポイントを使えません。ポイントを使える店舗はお住まいの自治体にご確認ください。",
                               "This shop cannot accept your municipality's points. Ask your municipality "
                               "which shops take them."),
    "decline.merchant_not_active": ("この店舗は現在ポイントを受け付けられません。本部に連絡してください。",
                                    "This shop cannot accept points at the moment. Contact head office."),
    "decline.terminal_unknown": ("この端末は登録されていません。本部に連絡してください。",
                                 "This terminal is not registered. Contact head office."),
    "decline.cancel_invalid": ("取り消せる取引ではありません (取引番号・カード・金額を確認してください)。",
                               "This transaction cannot be cancelled (check the id, the card and the amount)."),
    "decline.auth_expired": ("承認の有効期限が切れました。最初からやり直してください。",
                             "The authorisation expired. Start again."),
    "decline.request_stale": ("端末の時計がポイントサーバーと 5 分以上ずれています。端末の時刻を合わせて (NTP による時刻同期を確認して) から、もう一度お試しください。",
                              "The terminal's clock is more than 5 minutes off the platform's. Set the terminal's "
                              "time (check its NTP time sync) and try again."),
    "decline.request_replayed": ("同じ要求が二度届いたため、ポイントサーバーが二度目を拒否しました。最初からやり直してください。続く場合は本部に連絡してください。",
                                 "The platform received the same request twice and refused the copy. Start again; "
                                 "if it repeats, contact head office."),
    "decline.other": ("理由: {reason}。本部に連絡してください。", "Reason: {reason}. Contact head office."),
    # --- prompts and progress ---
    "wait_card": ("マイナンバーカードをリーダーに置いてください。", "Place the My Number Card on the reader."),
    "tries_left": ("暗証番号の残り回数: {tries_left} 回", "PIN tries left: {tries_left}"),
    "amount": ("お支払い金額: {amount} 円 (ポイント)", "Amount: ¥{amount} (points)"),
    "cancel_amount": ("取り消し金額: {amount} 円 (ポイント)", "Cancel amount: ¥{amount} (points)"),
    "pin_prompt": ("利用者証明用暗証番号 (数字 4 桁) を入力してください: ", "Enter the 4-digit user-authentication PIN: "),
    "remove_card": ("カードをお取りください。", "Please take your card."),
    "paid": ("お支払いが完了しました。取引番号 {auth_id}、{amount} 円、残高 {balance} 円。",
             "Paid. Transaction {auth_id}, ¥{amount}, balance ¥{balance}."),
    "cancelled": ("取り消しが完了しました。取引番号 {auth_id}、{amount} 円を戻しました。残高 {balance} 円。",
                  "Cancelled. Transaction {auth_id}, ¥{amount} returned. Balance ¥{balance}."),
    "recovered": ("前回のお取引を確認しました: {outcome} (seq {seq})。", "Previous transaction checked: {outcome} (seq {seq})."),
    "uploaded": ("送信しました: {name}", "Delivered: {name}"),
    "nothing_to_upload": ("送信するログはありません。", "Nothing to upload."),
    "status_readers": ("カードリーダー: {readers}", "Readers: {readers}"),
    "status_card": ("カード: {state}", "Card: {state}"),
    "status_jpki": ("公的個人認証 AP: {state}", "JPKI applet: {state}"),
    "status_tries": ("暗証番号の残り回数: {tries}", "Auth-PIN tries left: {tries}"),
    "terminal_ready": ("端末鍵を作成しました (権限 0600)。次の行を端末マスタに登録してください:",
                       "Terminal key created (mode 0600). Add this line to the terminals master file:"),
}


class _Params(dict):
    """Template parameters; one that was not given shows as "-" rather than as a raw `{name}`."""

    def __missing__(self, key: str) -> str:
        return "-"


def text(key: str, lang: str = "ja", **params: object) -> str:
    """The sentence for `key` in `lang` (ja/en), with params filled in; the key itself if unknown."""
    pair = _TEXT.get(key)
    if pair is None:
        return key
    template = pair[1] if lang == "en" else pair[0]
    try:
        return template.format_map(_Params(params))
    except (KeyError, IndexError, ValueError):
        return template


def decline_text(reason: str, lang: str, **params: object) -> str:
    key = f"decline.{reason}"
    if key not in _TEXT:
        return text("decline.other", lang, reason=reason)
    return text(key, lang, **params)


def has_text(key: str) -> bool:
    return key in _TEXT
