//! Admin roles and what each may do.

use std::fmt;
use std::str::FromStr;

/// An admin user's role, from most to least powerful.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    Viewer,
    Reviewer,
    Marketer,
    Owner,
}

/// Something a page or action needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Read dashboards, lists and reports.
    View,
    /// Decide held referrals in the review queue.
    Review,
    /// Change programs, participants, rewards, emails and webhooks.
    Manage,
    /// Create and revoke API keys.
    ManageApiKeys,
    /// Invite, change and remove admin users.
    ManageUsers,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Owner, Role::Marketer, Role::Reviewer, Role::Viewer];

    pub fn can(self, permission: Permission) -> bool {
        let needed = match permission {
            Permission::View => Role::Viewer,
            Permission::Review => Role::Reviewer,
            Permission::Manage | Permission::ManageApiKeys => Role::Marketer,
            Permission::ManageUsers => Role::Owner,
        };
        self >= needed
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Marketer => "marketer",
            Role::Reviewer => "reviewer",
            Role::Viewer => "viewer",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Role::Owner => "everything, including admin users",
            Role::Marketer => "programs, participants, rewards, emails, webhooks and API keys",
            Role::Reviewer => "the review queue, and reading everything",
            Role::Viewer => "reading dashboards, lists and reports",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("choose one of owner, marketer, reviewer or viewer")]
pub struct UnknownRole;

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL.into_iter().find(|r| r.as_str() == s).ok_or(UnknownRole)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_nest_from_viewer_to_owner() {
        assert!(Role::Owner.can(Permission::ManageUsers));
        assert!(!Role::Marketer.can(Permission::ManageUsers));
        assert!(Role::Marketer.can(Permission::ManageApiKeys));
        assert!(Role::Reviewer.can(Permission::Review));
        assert!(!Role::Reviewer.can(Permission::Manage));
        assert!(Role::Viewer.can(Permission::View));
        assert!(!Role::Viewer.can(Permission::Review));
    }

    #[test]
    fn roles_round_trip_through_text() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        assert!("admin".parse::<Role>().is_err());
    }
}
