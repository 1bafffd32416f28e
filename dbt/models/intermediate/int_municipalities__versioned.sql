{{ versioned_master(ref('stg_master__municipalities'), ['municipality_code'],
    ['name', 'name_kana', 'prefecture', 'settlement_cycle', 'settlement_day', 'min_payout_yen', 'fee_bearer',
     'payer_bank_code', 'payer_branch_code', 'payer_account_type', 'payer_account_number', 'client_code',
     'client_name_kana']) }}
