//! `goodword demo`: a demo program with participants, clicks over the last
//! month and referrals (two of them waiting in the review queue, one
//! rejected), so that a newcomer sees a living dashboard at once.
//! Running it again adds nothing twice: participants are enrolled
//! idempotently and activity is added only to a program without any.

use rand::Rng;
use serde_json::json;
use time::{Duration, PrimitiveDateTime};

use crate::crypto::Keys;
use crate::domain::ProgramSlug;
use crate::domain::program::{Stage, parse_config};
use crate::domain::review::{NOT_IN_TERMS, UNDER_REVIEW};
use crate::storage::Db;
use crate::storage::clicks::{self, ClickRow};
use crate::storage::fraud::FindingRow;
use crate::storage::referrals::{self, ReferralRow};

use super::participants::{self, EnrolInput};
use super::programs;
use super::rewards::issue::{Reached, on_reached};
use super::rewards::lifecycle;
use super::webhooks::{Doorbell, Outbox};
use super::{ServiceError, ServiceResult};

/// Referrals the checks stopped, for the review queue: (email, name,
/// review, stage, check, action, evidence).
type Suspicious = (&'static str, &'static str, &'static str, &'static str, &'static str, &'static str, &'static str);
const SUSPICIOUS: [Suspicious; 3] = [
    (
        "deal.hunter@mailinator.com",
        "Deal Hunter",
        "held",
        "lead",
        "disposable_email",
        "hold",
        "mailinator.com is a disposable email domain",
    ),
    (
        "quick.signup@example.net",
        "Quinn Quick",
        "held",
        "lead",
        "too_fast",
        "hold",
        "claimed 1 s after the click, faster than 3 s",
    ),
    (
        "spam@spam.example",
        "Sam Spam",
        "rejected",
        "rejected",
        "blocklist",
        "reject",
        "on the blocklist: the domain spam.example",
    ),
];

const PEOPLE: [(&str, &str); 12] = [
    ("Ana García", "ana.garcia"),
    ("Ben Okafor", "ben.okafor"),
    ("Chloé Martin", "chloe.martin"),
    ("Dev Patel", "dev.patel"),
    ("Emma Schulz", "emma.schulz"),
    ("Farid Haddad", "farid.haddad"),
    ("Grace Kim", "grace.kim"),
    ("Hiro Tanaka", "hiro.tanaka"),
    ("Ines Costa", "ines.costa"),
    ("Jonas Berg", "jonas.berg"),
    ("Kemi Adeyemi", "kemi.adeyemi"),
    ("Lucas Rossi", "lucas.rossi"),
];
const FRIENDS: [&str; 10] = [
    "Maya Lopez",
    "Noah Fischer",
    "Olivia Brown",
    "Pablo Ruiz",
    "Quinn Taylor",
    "Rosa Weber",
    "Sam Lee",
    "Tara Singh",
    "Umar Ali",
    "Vera Novak",
];
const CHANNELS: [&str; 5] = ["whatsapp", "email", "sms", "linkedin", "x"];

/// What the demo made: the program's slug and one participant's portal token.
pub struct Demo {
    pub slug: String,
    pub portal_token: String,
    pub participants: usize,
}

pub async fn seed(db: &Db, keys: &Keys, now: PrimitiveDateTime) -> ServiceResult<Demo> {
    let slug = ProgramSlug::parse("demo").map_err(|e| ServiceError::invalid("program", e))?;
    let program = match programs::get(db, slug.as_str()).await? {
        Some(p) => p,
        None => {
            let config = parse_config(&json!({
                "name": "Demo friends",
                "destination_url": "https://example.com/signup",
                "landing": {"headline": "Try Demo with a friend's discount", "referee_offer": "20% off your first year",
                            "body": "Demo keeps your team's work in one place."},
                "share_text": {"default": "I use Demo and like it. {offer} {link}"},
                "rewards": [
                    {"id": "welcome", "when": {"stage": "lead"}, "to": "referee", "hold_days": 0, "menu": [
                        {"kind": "percent_off", "percent": 20, "label": "20% off your first year"}]},
                    {"id": "won-referrer", "when": {"stage": "won"}, "to": "referrer", "hold_days": 14, "menu": [
                        {"kind": "credit", "amount": 2000, "currency": "USD", "label": "$20 account credit"},
                        {"kind": "custom", "label": "Early access to new features"}]},
                    {"id": "three-won", "when": {"won_count": 3}, "to": "referrer", "menu": [
                        {"kind": "custom", "label": "A year of Demo Pro"}]}]
            }))
            .map_err(|e| ServiceError::Invalid(e.0))?;
            programs::put(db, "demo".into(), slug.clone(), config, now).await?.0
        }
    };
    let mut enrolled = Vec::new();
    for (i, (name, local)) in PEOPLE.iter().enumerate() {
        let input = EnrolInput::parse(&format!("{local}@example.com"), Some(name), Some(&format!("demo-{i}")), None)
            .map_err(ServiceError::Invalid)?;
        enrolled.push(participants::enrol(db, keys, "demo".into(), &program, input, now).await?);
    }
    let portal_token = enrolled[0].portal_token.clone();
    let program_id = program.id.clone();
    let config = program.config.clone();
    let links: Vec<(String, String, String)> = enrolled
        .iter()
        .filter_map(|e| {
            e.participant.link.as_ref().map(|l| (e.participant.row.id.clone(), l.id.clone(), l.code.clone()))
        })
        .collect();
    db.write(move |conn| {
        if clicks::count_for_program(conn, &program_id)? > 0 {
            return Ok(());
        }
        let mut rng = rand::rng();
        let mut rows = Vec::new();
        let mut friend = 0;
        for (n, (participant_id, link_id, code)) in links.iter().enumerate() {
            // Some participants share a lot, most a little.
            let opens = if n < 3 { 40 - n * 8 } else { rng.random_range(0..10) };
            for _ in 0..opens {
                let at = now - Duration::minutes(rng.random_range(0..30 * 24 * 60));
                let id = crate::domain::click_id::click_id_at(at, rng.random());
                rows.push(ClickRow {
                    id: id.clone(),
                    link_id: link_id.clone(),
                    program_id: program_id.clone(),
                    at,
                    channel: Some(CHANNELS[rng.random_range(0..CHANNELS.len())].to_string()),
                    user_agent: "Mozilla/5.0 (demo)".into(),
                    referrer_host: None,
                    ip_hash: nanoid::nanoid!(22),
                    is_bot: false,
                    is_duplicate: false,
                });
                // About one open in six becomes a referral, moving on from there.
                if rng.random_range(0..6) == 0 && friend < 60 {
                    let name = FRIENDS[friend % FRIENDS.len()];
                    let email = format!("friend{friend}@example.org");
                    let stage = Stage::ALL[rng.random_range(0..Stage::ALL.len())];
                    let step = |s: Stage, mins: i64| (stage >= s).then(|| at + Duration::minutes(mins));
                    let referral = ReferralRow {
                        id: nanoid::nanoid!(),
                        program_id: program_id.clone(),
                        participant_id: participant_id.clone(),
                        link_id: Some(link_id.clone()),
                        click_id: Some(id),
                        code: code.clone(),
                        referee_email: Some(email.clone()),
                        referee_email_normalized: Some(email),
                        referee_name: name.to_string(),
                        referee_external_id: None,
                        stage: stage.as_str().into(),
                        lead_at: step(Stage::Lead, 5),
                        qualified_at: step(Stage::Qualified, 60 * 24),
                        opportunity_at: step(Stage::Opportunity, 60 * 48),
                        won_at: step(Stage::Won, 60 * 96),
                        created_at: at + Duration::minutes(5),
                        updated_at: at + Duration::minutes(5),
                        review: "clear".into(),
                        review_reason: None,
                        referee_ip_hash: None,
                    };
                    referrals::insert(conn, &referral)?;
                    // Rewards as the rules would have issued them on the
                    // day the referral reached its stage; the hold and the
                    // clock job do the rest.
                    let reached = Reached { referral: &referral, from: None, to: stage, amount: Some(9_900) };
                    let on = at + Duration::minutes(60 * 96).min(now - at);
                    on_reached(conn, &mut Outbox::new(), &config, &reached, on)?;
                    friend += 1;
                }
            }
        }
        if let Some((participant_id, link_id, code)) = links.first() {
            let at = now - Duration::hours(20);
            for (n, (email, name, review, stage, check, action, evidence)) in SUSPICIOUS.iter().enumerate() {
                let referral = ReferralRow {
                    id: nanoid::nanoid!(),
                    program_id: program_id.clone(),
                    participant_id: participant_id.clone(),
                    link_id: Some(link_id.clone()),
                    click_id: None,
                    code: code.clone(),
                    referee_email: Some(email.to_string()),
                    referee_email_normalized: Some(email.to_string()),
                    referee_name: name.to_string(),
                    referee_external_id: None,
                    stage: stage.to_string(),
                    lead_at: Some(at + Duration::minutes(n as i64)),
                    qualified_at: None,
                    opportunity_at: None,
                    won_at: None,
                    created_at: at + Duration::minutes(n as i64),
                    updated_at: at + Duration::minutes(n as i64),
                    review: review.to_string(),
                    review_reason: Some(if *review == "held" { UNDER_REVIEW } else { NOT_IN_TERMS }.to_string()),
                    referee_ip_hash: None,
                };
                referrals::insert(conn, &referral)?;
                let finding = FindingRow {
                    id: crate::domain::click_id::click_id_at(referral.created_at, rng.random()),
                    referral_id: referral.id.clone(),
                    check_name: check.to_string(),
                    action: action.to_string(),
                    evidence: evidence.to_string(),
                    created_at: referral.created_at,
                };
                crate::storage::fraud::insert_findings(conn, &[finding])?;
            }
        }
        clicks::insert_batch(conn, &rows)
    })
    .await?;
    // Release the rewards whose hold has ended by now, as the job would.
    lifecycle::run_due(db, &Doorbell::new(), now).await?;
    Ok(Demo { slug: program.slug, portal_token, participants: enrolled.len() })
}
