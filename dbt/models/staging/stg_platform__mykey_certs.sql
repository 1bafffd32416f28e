with

source as (
    select * from {{ source('raw', 'platform_mykey_certs') }}
),

final as (
    select
        mykey_id,
        lower(cert_serial) as cert_serial,
        event as cert_event,
        lower(previous_serial) as previous_serial,
        event_ts,
        business_date,
        file_sha256,
        line_number,
    from source
)

select * from final
