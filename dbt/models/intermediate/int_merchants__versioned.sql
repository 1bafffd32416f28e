{{ versioned_master(ref('stg_master__merchants'), ['merchant_id'],
    ['name', 'name_kana', 'category', 'channel', 'bank_code', 'branch_code', 'account_type', 'account_number',
     'account_holder_kana', 'merchant_status']) }}
