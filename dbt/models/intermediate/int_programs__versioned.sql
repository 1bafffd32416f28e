{{ versioned_master(ref('stg_master__programs'), ['program_code'],
    ['municipality_code', 'name', 'kind', 'funding', 'expiry_rule', 'annual_cap_per_person_yen']) }}
