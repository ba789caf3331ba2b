//! Rendering a queued email from what it names: the program, the
//! participant, the referral or reward it is about. Done when the email is
//! sent (and for the admin's preview), so a row holds no secret: a sign-in
//! link's token is derived again from its row's id with the secret key.
//! All links are absolute, from `GOODWORD_BASE_URL`.

use time::PrimitiveDateTime;

use crate::crypto::Keys;
use crate::domain::email_kind::EmailKind;
use crate::domain::people::{first_name, mask_name};
use crate::domain::program::{MenuOption, ProgramConfig};
use crate::domain::reward::day;
use crate::services::participants::portal_token;
use crate::storage::emails::EmailRow;
use crate::storage::participants::ParticipantRow;
use crate::storage::rewards::RewardRow;
use crate::storage::{DbConnection, StorageResult, links, participants, programs, referrals, rewards};

use super::message::{Action, Message};
use super::sign_in;
use super::unsubscribe;

/// What rendering needs besides the database.
#[derive(Clone)]
pub struct RenderContext {
    pub base_url: String,
    pub keys: Keys,
    /// Replace secret links (sign-in, set-password) with a placeholder:
    /// the admin's preview.
    pub redact_secrets: bool,
}

impl RenderContext {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url.trim_end_matches('/'))
    }
}

/// An email ready to send: its content, and the sender name and reply-to
/// its program sets.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub message: Message,
    pub sender_name: Option<String>,
    pub reply_to: Option<String>,
}

/// Why an email cannot be rendered (what it names is gone).
pub type Gone = String;

/// Renders `row`; `Err` with the reason when what it names no longer exists.
pub fn prepare(
    conn: &mut DbConnection,
    ctx: &RenderContext,
    row: &EmailRow,
    now: PrimitiveDateTime,
) -> StorageResult<Result<Prepared, Gone>> {
    let Some(kind) = EmailKind::parse(&row.kind) else { return Ok(Err(format!("unknown kind {}", row.kind))) };
    let program = match &row.program_id {
        Some(id) => match programs::find(conn, id)? {
            Some(p) => serde_json::from_str::<ProgramConfig>(&p.config).ok(),
            None => return Ok(Err("its program no longer exists".into())),
        },
        None => None,
    };
    let participant = match &row.participant_id {
        Some(id) => match participants::find(conn, id)? {
            Some(p) => Some(p),
            None => return Ok(Err("its participant no longer exists".into())),
        },
        None => None,
    };
    let program_name = program.as_ref().map(|p| p.name.clone()).unwrap_or_else(|| "goodword".into());
    let people = People { ctx, program_name: &program_name, participant: participant.as_ref() };
    let unsubscribe_url = kind.can_unsubscribe().then(|| ctx.url(&unsubscribe::path(&ctx.keys, &row.to_address, kind)));
    let subject_id = row.subject_id.as_deref().unwrap_or_default();
    let built = match kind {
        EmailKind::Welcome => people.welcome(conn)?,
        EmailKind::SignIn => people.sign_in(subject_id, now),
        EmailKind::ReferralJoined | EmailKind::ReferralWon => people.referral(conn, kind, subject_id)?,
        EmailKind::RewardAvailable | EmailKind::RewardExpiring | EmailKind::CouponCode => {
            people.reward(conn, kind, subject_id)?
        }
        EmailKind::RefereeReward => people.referee_reward(conn, &row.to_name, subject_id)?,
        EmailKind::ReviewDigest => Ok(review_digest(ctx, conn)?),
        EmailKind::AdminInvitation => Ok(admin_invitation(ctx, subject_id)),
        EmailKind::PasswordChanged => Ok(password_changed(ctx)),
    };
    Ok(built.map(|mut message| {
        message.unsubscribe_url = unsubscribe_url;
        Prepared {
            message,
            sender_name: program.as_ref().map(|p| p.emails.sender_name.clone().unwrap_or_else(|| p.name.clone())),
            reply_to: program.and_then(|p| p.emails.reply_to),
        }
    }))
}

/// What a participant's emails share.
struct People<'a> {
    ctx: &'a RenderContext,
    program_name: &'a str,
    participant: Option<&'a ParticipantRow>,
}

impl People<'_> {
    fn greeting(&self) -> String {
        match self.participant.and_then(|p| first_name(&p.name)) {
            Some(name) => format!("Hi {name},"),
            None => "Hello,".into(),
        }
    }

    fn portal_url(&self) -> Option<String> {
        let p = self.participant?;
        Some(self.ctx.url(&format!("/p/{}", portal_token(&self.ctx.keys, &p.id, &p.portal_nonce))))
    }

    fn portal_action(&self, label: &str) -> Option<Action> {
        self.portal_url().map(|url| Action { label: label.into(), url })
    }

    fn message(&self, subject: String, paragraphs: Vec<String>, action: Option<Action>) -> Message {
        Message {
            subject,
            greeting: self.greeting(),
            paragraphs,
            action,
            details: Vec::new(),
            signature: format!("— {}", self.program_name),
            reason: format!("You get this email because you take part in {}.", self.program_name),
            unsubscribe_url: None,
        }
    }

    fn welcome(&self, conn: &mut DbConnection) -> StorageResult<Result<Message, Gone>> {
        let Some(p) = self.participant else { return Ok(Err("no participant".into())) };
        let link = links::primary_for(conn, std::slice::from_ref(&p.id))?.into_iter().next();
        let mut m = self.message(
            format!("Your link to share {}", self.program_name),
            vec![
                format!("You can now invite friends to {}.", self.program_name),
                "Share your personal link. When friends join through it, your page shows how they get on and the \
                 rewards you earn."
                    .into(),
            ],
            self.portal_action("Open your page"),
        );
        if let Some(link) = link {
            m.details.push(("Your link".into(), self.ctx.url(&format!("/r/{}", link.code))));
        }
        Ok(Ok(m))
    }

    fn sign_in(&self, sign_in_id: &str, now: PrimitiveDateTime) -> Result<Message, Gone> {
        let url = if self.ctx.redact_secrets {
            self.ctx.url("/p/sign-in/…")
        } else {
            self.ctx.url(&sign_in::portal_path(&self.ctx.keys, sign_in_id))
        };
        let mut m = self.message(
            format!("Your sign-in link for {}", self.program_name),
            vec![
                format!("Someone, hopefully you, asked to open your {} page.", self.program_name),
                "The link works once, within 30 minutes.".into(),
            ],
            Some(Action { label: "Open your page".into(), url }),
        );
        m.reason = format!(
            "You get this email because this address was entered at {} on {}. If that was not you, ignore it: \
             nothing happens without the link.",
            self.ctx.url("/p"),
            day(now)
        );
        Ok(m)
    }

    fn referral(
        &self,
        conn: &mut DbConnection,
        kind: EmailKind,
        referral_id: &str,
    ) -> StorageResult<Result<Message, Gone>> {
        let Some(r) = referrals::find(conn, referral_id)? else {
            return Ok(Err("its referral no longer exists".into()));
        };
        let who = if r.referee_name.trim().is_empty() { "A friend".to_string() } else { mask_name(&r.referee_name) };
        Ok(Ok(if kind == EmailKind::ReferralJoined {
            self.message(
                format!("{who} joined through your link"),
                vec![format!("{who} signed up for {} through your link. Thank you for sharing it.", self.program_name)],
                self.portal_action("See your referrals"),
            )
        } else {
            self.message(
                format!("{who} is now a customer"),
                vec![format!(
                    "Thanks to you, {who} became a customer of {}. Any reward this earns you shows in your page.",
                    self.program_name
                )],
                self.portal_action("See your rewards"),
            )
        }))
    }

    fn reward(
        &self,
        conn: &mut DbConnection,
        kind: EmailKind,
        reward_id: &str,
    ) -> StorageResult<Result<Message, Gone>> {
        let Some(r) = rewards::find(conn, reward_id)? else { return Ok(Err("its reward no longer exists".into())) };
        Ok(Ok(match kind {
            EmailKind::RewardAvailable => {
                let mut m = self.message(
                    "You earned a reward — choose yours".into(),
                    vec![
                        format!("Thank you for recommending {}. A reward is ready for you.", self.program_name),
                        format!("Choose one of: {}. Choose before {}.", options(&r), day(r.choose_by)),
                    ],
                    self.portal_action("Choose your reward"),
                );
                m.details.push(("Choose by".into(), day(r.choose_by)));
                m
            }
            EmailKind::RewardExpiring => self.message(
                "Your reward expires in 7 days".into(),
                vec![
                    format!("Your reward from {} is still waiting for your choice.", self.program_name),
                    format!("Choose one of: {} — before {}, or it expires.", options(&r), day(r.choose_by)),
                ],
                self.portal_action("Choose your reward"),
            ),
            _ => {
                let mut m = self.message(
                    "Here is your code".into(),
                    vec![format!("You chose “{}”. Here is your code.", r.chosen_label.clone().unwrap_or_default())],
                    self.portal_action("Open your page"),
                );
                m.details.push(("Code".into(), r.coupon_code.clone().unwrap_or_default()));
                if let Some(use_by) = r.use_by {
                    m.details.push(("Use by".into(), day(use_by)));
                }
                m
            }
        }))
    }

    fn referee_reward(
        &self,
        conn: &mut DbConnection,
        to_name: &str,
        reward_id: &str,
    ) -> StorageResult<Result<Message, Gone>> {
        let Some(r) = rewards::find(conn, reward_id)? else { return Ok(Err("its reward no longer exists".into())) };
        let url = self.ctx.url(&crate::services::rewards::page_path(&self.ctx.keys, &r.id));
        let mut m = self.message(
            format!("Your welcome reward from {}", self.program_name),
            vec![
                format!("Welcome to {}. A friend invited you, and a reward is waiting for you.", self.program_name),
                format!("Choose one of: {}. Choose before {}.", options(&r), day(r.choose_by)),
            ],
            Some(Action { label: "Choose your reward".into(), url }),
        );
        m.greeting = match first_name(to_name) {
            Some(name) => format!("Hi {name},"),
            None => "Hello,".into(),
        };
        m.reason =
            format!("You get this email because you joined {} through a friend's invitation.", self.program_name);
        Ok(Ok(m))
    }
}

/// The menu's option labels, in words.
fn options(reward: &RewardRow) -> String {
    let menu: Vec<MenuOption> = serde_json::from_str(&reward.menu).unwrap_or_default();
    let labels: Vec<&str> = menu.iter().map(|o| o.label.as_str()).collect();
    match labels.len() {
        0 => "the reward".into(),
        1 => labels[0].into(),
        n => format!("{} or {}", labels[..n - 1].join(", "), labels[n - 1]),
    }
}

fn admin_message(subject: String, paragraphs: Vec<String>, action: Action, reason: &str) -> Message {
    Message {
        subject,
        greeting: "Hello,".into(),
        paragraphs,
        action: Some(action),
        details: Vec::new(),
        signature: "— goodword".into(),
        reason: reason.into(),
        unsubscribe_url: None,
    }
}

fn review_digest(ctx: &RenderContext, conn: &mut DbConnection) -> StorageResult<Message> {
    let waiting = referrals::held_count(conn, None)?;
    let m = admin_message(
        format!("{waiting} {} for review", if waiting == 1 { "referral waits" } else { "referrals wait" }),
        vec![format!(
            "{waiting} held {} in the review queue, oldest first. Their rewards stay pending until someone decides.",
            if waiting == 1 { "referral waits" } else { "referrals wait" }
        )],
        Action { label: "Open the review queue".into(), url: ctx.url("/admin/review") },
        "You get this daily digest because you review referrals in goodword.",
    );
    Ok(m)
}

fn admin_invitation(ctx: &RenderContext, sign_in_id: &str) -> Message {
    let url = if ctx.redact_secrets {
        ctx.url("/admin/invitation/…")
    } else {
        ctx.url(&sign_in::invitation_path(&ctx.keys, sign_in_id))
    };
    admin_message(
        "You are invited to goodword".into(),
        vec![
            format!("You have an admin account at {}.", ctx.url("/admin")),
            "Choose your password with the link below. It works once, within 7 days.".into(),
        ],
        Action { label: "Set your password".into(), url },
        "You get this email because an owner added you as an admin user.",
    )
}

fn password_changed(ctx: &RenderContext) -> Message {
    admin_message(
        "Your goodword password was changed".into(),
        vec![
            "The password of your goodword admin account was just changed, and your other sessions were signed out."
                .into(),
            "If this was not you, ask an owner to reset your account at once.".into(),
        ],
        Action { label: "Sign in".into(), url: ctx.url("/admin/login") },
        "You get this security notice whenever your password changes; it cannot be turned off.",
    )
}
