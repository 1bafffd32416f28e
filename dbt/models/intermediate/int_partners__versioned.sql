{{ versioned_master(ref('stg_master__partners'), ['partner_code'],
    ['name', 'kind', 'encoding', 'payer_name_kana']) }}
