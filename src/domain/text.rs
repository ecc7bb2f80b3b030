use std::fmt;

/// A lower-cased, trimmed e-mail address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let s = raw.trim().to_lowercase();
        if s.is_empty() {
            return Err("required");
        }
        if s.len() > 254 {
            return Err("too_long");
        }
        let Some((local, domain)) = s.split_once('@') else {
            return Err("invalid");
        };
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && domain.chars().all(|c| c.is_alphanumeric() || c == '.' || c == '-');
        let local_ok = !local.is_empty() && local.len() <= 64 && !local.chars().any(|c| c.is_whitespace() || c == '@');
        if local_ok && domain_ok { Ok(Self(s)) } else { Err("invalid") }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// 3–32 characters of `[a-z0-9_]`, stored lower-case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let s = raw.trim();
        match s.chars().count() {
            0..=2 => Err("too_short"),
            33.. => Err("too_long"),
            _ if !s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') => Err("invalid_characters"),
            _ => Ok(Self(s.to_ascii_lowercase())),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A display name: trimmed, 1–100 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FullName(String);

impl FullName {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let s = raw.trim();
        match s.chars().count() {
            0 => Err("required"),
            101.. => Err("too_long"),
            _ if s.chars().any(char::is_control) => Err("invalid_characters"),
            _ => Ok(Self(s.to_string())),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A password as typed. Its `Debug` never shows it.
#[derive(Clone)]
pub struct Password(String);

/// Passwords refused however long they are: the most common ones in public breach lists.
const COMMON_PASSWORDS: &str = include_str!("common_passwords.txt");

impl Password {
    /// Bounded below by policy and above so hashing cost stays bounded.
    pub fn parse(raw: &str, min_len: usize) -> Result<Self, &'static str> {
        let n = raw.chars().count();
        if n == 0 {
            return Err("required");
        }
        if n < min_len {
            return Err("too_short");
        }
        if n > 128 {
            return Err("too_long");
        }
        let lower = raw.to_lowercase();
        if COMMON_PASSWORDS.lines().any(|common| common == lower) {
            return Err("too_common");
        }
        Ok(Self(raw.to_string()))
    }

    /// For verifying a login attempt: no policy, only the upper bound.
    pub fn for_login(raw: &str) -> Result<Self, &'static str> {
        match raw.chars().count() {
            0 => Err("required"),
            129.. => Err("too_long"),
            _ => Ok(Self(raw.to_string())),
        }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// Message text: trimmed, at most 5,000 characters. Empty means "no text".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageText(String);

impl MessageText {
    pub const MAX_CHARS: usize = 5000;

    pub fn parse(raw: &str) -> Result<Option<Self>, &'static str> {
        let s = raw.trim();
        if s.is_empty() {
            return Ok(None);
        }
        if s.chars().count() > Self::MAX_CHARS {
            return Err("too_long");
        }
        Ok(Some(Self(s.to_string())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The chat-API tutorial's user `type`: a label (natter's permissions come from `Role`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UserType {
    #[default]
    Consumer,
    Support,
}

impl UserType {
    pub const ALL: &'static [&'static str] = &["consumer", "support"];

    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Consumer => "consumer",
            Self::Support => "support",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "consumer" => Some(Self::Consumer),
            "support" => Some(Self::Support),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Moderator,
    Admin,
}

impl Role {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Moderator => "moderator",
            Self::Admin => "admin",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "user" => Some(Self::User),
            "moderator" => Some(Self::Moderator),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }

    pub fn is_staff(&self) -> bool {
        matches!(self, Self::Moderator | Self::Admin)
    }

    /// The JWT-auth tutorial's `roles`: each role with those it includes (an admin may do
    /// what a moderator may).
    pub fn authorities(&self) -> &'static [&'static str] {
        match self {
            Self::User => &["ROLE_USER"],
            Self::Moderator => &["ROLE_USER", "ROLE_MODERATOR"],
            Self::Admin => &["ROLE_USER", "ROLE_MODERATOR", "ROLE_ADMIN"],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_lowercased_and_checked() {
        assert_eq!(Email::parse("  Ann@Example.COM ").unwrap().as_str(), "ann@example.com");
        for bad in ["", "ann", "ann@", "@example.com", "ann@example", "a b@example.com", "ann@exa..com"] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be rejected");
        }
        assert_eq!(Email::parse(&format!("{}@example.com", "a".repeat(250))), Err("too_long"));
    }

    #[test]
    fn usernames_at_the_edges() {
        assert_eq!(Username::parse("ab"), Err("too_short"));
        assert_eq!(Username::parse("abc").unwrap().as_str(), "abc");
        assert_eq!(Username::parse(&"a".repeat(32)).unwrap().as_str().len(), 32);
        assert_eq!(Username::parse(&"a".repeat(33)), Err("too_long"));
        assert_eq!(Username::parse(" Ann_1 ").unwrap().as_str(), "ann_1");
        assert_eq!(Username::parse("ann-1"), Err("invalid_characters"));
    }

    #[test]
    fn passwords_at_the_edges() {
        assert_eq!(Password::parse("Xy7!abc", 8).unwrap_err(), "too_short");
        assert!(Password::parse("Xy7!abcd", 8).is_ok());
        assert!(Password::parse("Xy7!ab", 6).is_ok());
        assert!(Password::parse(&"x".repeat(128), 8).is_ok());
        assert_eq!(Password::parse(&"x".repeat(129), 8).unwrap_err(), "too_long");
        assert_eq!(Password::parse("password123", 8).unwrap_err(), "too_common");
        assert_eq!(Password::parse("Password123", 8).unwrap_err(), "too_common");
        assert_eq!(format!("{:?}", Password::parse("Xy7!abcd", 8).unwrap()), "Password(<redacted>)");
    }

    #[test]
    fn full_names_and_message_text() {
        assert_eq!(FullName::parse("   "), Err("required"));
        assert_eq!(FullName::parse(" Ann Lee ").unwrap().as_str(), "Ann Lee");
        assert_eq!(FullName::parse(&"a".repeat(101)), Err("too_long"));
        assert_eq!(MessageText::parse("  "), Ok(None));
        assert_eq!(MessageText::parse(" hi ").unwrap().unwrap().as_str(), "hi");
        assert!(MessageText::parse(&"a".repeat(5000)).unwrap().is_some());
        assert_eq!(MessageText::parse(&"a".repeat(5001)), Err("too_long"));
    }
}
