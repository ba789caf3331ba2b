//! The kinds of email goodword sends, who gets each, and which of them a
//! person can turn off (a sign-in link or an admin's security notice
//! always goes out).

/// One kind of email.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EmailKind {
    /// A new participant's link and portal.
    Welcome,
    /// A portal sign-in link asked for at `/p`.
    SignIn,
    /// Someone joined through the participant's link.
    ReferralJoined,
    /// A referral became a customer.
    ReferralWon,
    /// A reward is ready to choose.
    RewardAvailable,
    /// A reward not chosen yet expires in 7 days.
    RewardExpiring,
    /// A chosen coupon's code.
    CouponCode,
    /// The referee's own reward (double-sided programs).
    RefereeReward,
    /// To reviewers: referrals wait in the review queue.
    ReviewDigest,
    /// A new admin user's set-password link.
    AdminInvitation,
    /// An admin user's password was changed.
    PasswordChanged,
}

impl EmailKind {
    pub const ALL: [EmailKind; 11] = [
        EmailKind::Welcome,
        EmailKind::SignIn,
        EmailKind::ReferralJoined,
        EmailKind::ReferralWon,
        EmailKind::RewardAvailable,
        EmailKind::RewardExpiring,
        EmailKind::CouponCode,
        EmailKind::RefereeReward,
        EmailKind::ReviewDigest,
        EmailKind::AdminInvitation,
        EmailKind::PasswordChanged,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EmailKind::Welcome => "welcome",
            EmailKind::SignIn => "sign_in",
            EmailKind::ReferralJoined => "referral_joined",
            EmailKind::ReferralWon => "referral_won",
            EmailKind::RewardAvailable => "reward_available",
            EmailKind::RewardExpiring => "reward_expiring",
            EmailKind::CouponCode => "coupon_code",
            EmailKind::RefereeReward => "referee_reward",
            EmailKind::ReviewDigest => "review_digest",
            EmailKind::AdminInvitation => "admin_invitation",
            EmailKind::PasswordChanged => "password_changed",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == raw)
    }

    /// What the kind is, in the words of the preferences page and the admin.
    pub fn label(self) -> &'static str {
        match self {
            EmailKind::Welcome => "Welcome, with your link",
            EmailKind::SignIn => "Sign-in links",
            EmailKind::ReferralJoined => "Someone joined through your link",
            EmailKind::ReferralWon => "Your referral became a customer",
            EmailKind::RewardAvailable => "A reward is ready to choose",
            EmailKind::RewardExpiring => "Reminders before a reward expires",
            EmailKind::CouponCode => "Your coupon codes",
            EmailKind::RefereeReward => "Your welcome reward",
            EmailKind::ReviewDigest => "Daily review queue digest",
            EmailKind::AdminInvitation => "Admin invitations",
            EmailKind::PasswordChanged => "Password change notices",
        }
    }

    /// Whether the recipient can turn this kind off. A sign-in link is
    /// asked for, an invitation and a password notice guard an account.
    pub fn can_unsubscribe(self) -> bool {
        !matches!(self, EmailKind::SignIn | EmailKind::AdminInvitation | EmailKind::PasswordChanged)
    }

    /// The kinds a participant or referee receives and can turn off, for
    /// their preferences page.
    pub fn for_people() -> impl Iterator<Item = EmailKind> {
        [
            EmailKind::Welcome,
            EmailKind::ReferralJoined,
            EmailKind::ReferralWon,
            EmailKind::RewardAvailable,
            EmailKind::RewardExpiring,
            EmailKind::CouponCode,
            EmailKind::RefereeReward,
        ]
        .into_iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_read_back_and_security_mail_cannot_be_turned_off() {
        for kind in EmailKind::ALL {
            assert_eq!(EmailKind::parse(kind.as_str()), Some(kind));
        }
        assert!(!EmailKind::SignIn.can_unsubscribe());
        assert!(EmailKind::for_people().all(EmailKind::can_unsubscribe));
    }
}
