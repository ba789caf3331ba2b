//! The one diesel schema both backends share. Portable column types only:
//! text ids, BigInt amounts, UTC `Timestamp`s.

diesel::table! {
    instance_values (name) {
        name -> Text,
        value -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    admin_users (id) {
        id -> Text,
        email -> Text,
        password_hash -> Text,
        role -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    admin_sessions (token_hash) {
        token_hash -> Text,
        user_id -> Text,
        created_at -> Timestamp,
        last_seen_at -> Timestamp,
    }
}

diesel::table! {
    api_keys (id) {
        id -> Text,
        name -> Text,
        prefix -> Text,
        key_hash -> Text,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    audit_log (id) {
        id -> Text,
        at -> Timestamp,
        actor -> Text,
        action -> Text,
        subject -> Text,
        detail -> Text,
    }
}

diesel::joinable!(admin_sessions -> admin_users (user_id));
diesel::joinable!(api_keys -> admin_users (created_by));

diesel::allow_tables_to_appear_in_same_query!(instance_values, admin_users, admin_sessions, api_keys, audit_log,);

diesel::table! {
    programs (id) {
        id -> Text,
        slug -> Text,
        name -> Text,
        status -> Text,
        config -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    participants (id) {
        id -> Text,
        program_id -> Text,
        external_id -> Nullable<Text>,
        email -> Text,
        email_normalized -> Text,
        name -> Text,
        timezone -> Nullable<Text>,
        portal_nonce -> Text,
        portal_token_hash -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    links (id) {
        id -> Text,
        program_id -> Text,
        participant_id -> Text,
        code -> Text,
        is_vanity -> Bool,
        disabled_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    clicks (id) {
        id -> Text,
        link_id -> Text,
        program_id -> Text,
        at -> Timestamp,
        channel -> Nullable<Text>,
        user_agent -> Text,
        referrer_host -> Nullable<Text>,
        ip_hash -> Text,
        is_bot -> Bool,
        is_duplicate -> Bool,
    }
}

diesel::table! {
    click_daily (link_id, day, channel) {
        link_id -> Text,
        day -> Date,
        channel -> Text,
        program_id -> Text,
        clicks -> BigInt,
        counted -> BigInt,
    }
}

diesel::table! {
    click_visits (visit_key) {
        visit_key -> Text,
        last_counted_at -> Timestamp,
    }
}

diesel::table! {
    click_journal_positions (journal_id) {
        journal_id -> Text,
        segment -> BigInt,
        byte_offset -> BigInt,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    referrals (id) {
        id -> Text,
        program_id -> Text,
        participant_id -> Text,
        link_id -> Nullable<Text>,
        click_id -> Nullable<Text>,
        code -> Text,
        referee_email -> Nullable<Text>,
        referee_email_normalized -> Nullable<Text>,
        referee_name -> Text,
        referee_external_id -> Nullable<Text>,
        stage -> Text,
        lead_at -> Nullable<Timestamp>,
        qualified_at -> Nullable<Timestamp>,
        opportunity_at -> Nullable<Timestamp>,
        won_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        review -> Text,
        review_reason -> Nullable<Text>,
        referee_ip_hash -> Nullable<Text>,
    }
}

diesel::table! {
    conversion_events (program_id, event_id) {
        program_id -> Text,
        event_id -> Text,
        kind -> Text,
        body_hash -> Text,
        referral_id -> Nullable<Text>,
        attributed -> Bool,
        stage -> Nullable<Text>,
        outcome -> Text,
        amount -> Nullable<BigInt>,
        currency -> Nullable<Text>,
        occurred_at -> Timestamp,
        received_at -> Timestamp,
    }
}

diesel::table! {
    ip_salts (day) {
        day -> Text,
        salt -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    webhook_endpoints (id) {
        id -> Text,
        url -> Text,
        description -> Text,
        event_types -> Text,
        secret_salt -> Text,
        previous_secret_salt -> Nullable<Text>,
        previous_secret_until -> Nullable<Timestamp>,
        enabled -> Bool,
        disabled_reason -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> Text,
        endpoint_id -> Text,
        message_id -> Text,
        event_type -> Text,
        payload -> Text,
        status -> Text,
        attempts -> Integer,
        max_attempts -> Integer,
        next_attempt_at -> Timestamp,
        lease_until -> Nullable<Timestamp>,
        leased_by -> Nullable<Text>,
        last_attempt_at -> Nullable<Timestamp>,
        last_status_code -> Nullable<Integer>,
        last_error -> Nullable<Text>,
        delivered_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    webhook_attempts (delivery_id, attempt) {
        delivery_id -> Text,
        attempt -> Integer,
        at -> Timestamp,
        status_code -> Nullable<Integer>,
        error -> Nullable<Text>,
        response_excerpt -> Text,
        duration_ms -> Integer,
    }
}

diesel::table! {
    rewards (id) {
        id -> Text,
        program_id -> Text,
        rule_id -> Text,
        dedupe_key -> Text,
        beneficiary -> Text,
        participant_id -> Text,
        referral_id -> Nullable<Text>,
        tier -> Nullable<Integer>,
        menu -> Text,
        value_amount -> BigInt,
        status -> Text,
        reason -> Text,
        available_at -> Timestamp,
        choose_within_days -> Integer,
        use_within_days -> Integer,
        choose_by -> Timestamp,
        chosen_option -> Nullable<Integer>,
        chosen_kind -> Nullable<Text>,
        chosen_label -> Nullable<Text>,
        amount -> Nullable<BigInt>,
        currency -> Nullable<Text>,
        percent -> Nullable<Integer>,
        coupon_code -> Nullable<Text>,
        chosen_at -> Nullable<Timestamp>,
        use_by -> Nullable<Timestamp>,
        fulfilled_at -> Nullable<Timestamp>,
        fulfilment_reference -> Nullable<Text>,
        clawback_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        review_hold -> Bool,
        reminded_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    reward_entries (id) {
        id -> Text,
        reward_id -> Text,
        participant_id -> Text,
        kind -> Text,
        note -> Text,
        actor -> Text,
        at -> Timestamp,
    }
}

diesel::table! {
    coupon_codes (program_id, pool, code) {
        program_id -> Text,
        pool -> Text,
        code -> Text,
        reward_id -> Nullable<Text>,
        assigned_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    fraud_findings (id) {
        id -> Text,
        referral_id -> Text,
        check_name -> Text,
        action -> Text,
        evidence -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    fraud_decisions (id) {
        id -> Text,
        referral_id -> Text,
        decision -> Text,
        reason_code -> Text,
        note -> Text,
        actor -> Text,
        at -> Timestamp,
    }
}

diesel::table! {
    fraud_lists (kind, value) {
        kind -> Text,
        value -> Text,
        note -> Text,
        created_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    velocity_counts (key, bucket) {
        key -> Text,
        bucket -> Timestamp,
        count -> Integer,
    }
}

diesel::table! {
    participant_devices (participant_id, device_hash) {
        participant_id -> Text,
        device_hash -> Text,
        first_seen_at -> Timestamp,
    }
}

diesel::table! {
    participant_visits (participant_id, day, ip_hash, user_agent_hash) {
        participant_id -> Text,
        day -> Text,
        ip_hash -> Text,
        user_agent_hash -> Text,
        at -> Timestamp,
    }
}

diesel::table! {
    emails (id) {
        id -> Text,
        kind -> Text,
        to_address -> Text,
        to_name -> Text,
        program_id -> Nullable<Text>,
        participant_id -> Nullable<Text>,
        subject_id -> Nullable<Text>,
        dedupe_key -> Nullable<Text>,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        first_attempt_at -> Nullable<Timestamp>,
        lease_until -> Nullable<Timestamp>,
        leased_by -> Nullable<Text>,
        last_error -> Nullable<Text>,
        subject -> Nullable<Text>,
        sent_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    email_suppressions (address, kind) {
        address -> Text,
        kind -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    sign_in_links (id) {
        id -> Text,
        token_hash -> Text,
        purpose -> Text,
        owner_id -> Text,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::joinable!(participants -> programs (program_id));
diesel::joinable!(links -> participants (participant_id));
diesel::joinable!(links -> programs (program_id));
diesel::joinable!(clicks -> links (link_id));
diesel::joinable!(click_daily -> links (link_id));
diesel::joinable!(referrals -> participants (participant_id));
diesel::joinable!(webhook_deliveries -> webhook_endpoints (endpoint_id));
diesel::joinable!(webhook_attempts -> webhook_deliveries (delivery_id));
diesel::joinable!(rewards -> participants (participant_id));
diesel::joinable!(rewards -> programs (program_id));
diesel::joinable!(reward_entries -> rewards (reward_id));
diesel::joinable!(fraud_findings -> referrals (referral_id));
diesel::joinable!(fraud_decisions -> referrals (referral_id));

diesel::allow_tables_to_appear_in_same_query!(
    programs,
    participants,
    links,
    clicks,
    click_daily,
    click_visits,
    click_journal_positions,
    referrals,
    conversion_events,
    ip_salts,
    webhook_endpoints,
    webhook_deliveries,
    webhook_attempts,
    rewards,
    reward_entries,
    coupon_codes,
    fraud_findings,
    fraud_decisions,
    fraud_lists,
    participant_devices,
    participant_visits,
    velocity_counts,
    emails,
    email_suppressions,
    sign_in_links
);
