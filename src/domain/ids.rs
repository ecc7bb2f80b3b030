use std::fmt;

use uuid::Uuid;

/// Milliseconds since the Unix epoch: how every time is stored (see migrations).
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Uuid);

        impl $name {
            /// A fresh time-ordered id (UUIDv7).
            #[allow(clippy::new_without_default)]
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            /// Accepts only the canonical hyphenated form, so one id has one spelling.
            pub fn parse(raw: &str) -> Option<Self> {
                if raw.len() != 36 {
                    return None;
                }
                Uuid::try_parse(raw).ok().map(Self)
            }

            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }
    };
}

id_type!(UserId);
id_type!(RoomId);
id_type!(SessionId);
id_type!(MediaId);
id_type!(VideoId);
id_type!(
    /// A comment or a tweet.
    PostId
);
id_type!(
    /// Message ids are UUIDv7 and strictly increase within a room in commit order
    /// (see `MessageId::next_after`), so `after=<id>` catch-up never skips a message.
    MessageId
);

impl MessageId {
    /// A new id that sorts after `last` (the room's newest message): normally the clock's
    /// UUIDv7, but never at or below `last` even if this node's clock is behind.
    pub fn next_after(last: Option<MessageId>) -> Self {
        let candidate = Uuid::now_v7();
        match last {
            Some(last) if candidate <= last.0 => Self(Uuid::from_u128(last.0.as_u128() + 1)),
            _ => Self(candidate),
        }
    }

    /// A UUIDv7 for a given time (used by the seeder for back-dated messages).
    pub fn at_ms(ms: i64) -> Self {
        let ms = u64::try_from(ms).unwrap_or(0);
        let ts = uuid::Timestamp::from_unix(uuid::NoContext, ms / 1000, ((ms % 1000) * 1_000_000) as u32);
        Self(Uuid::new_v7(ts))
    }

    /// The smallest id created after `ms` (milliseconds since the epoch): a message was
    /// created after `ms` exactly when its id is at or above this one, so "newer than a time"
    /// is a range over the `(room_id, id)` index and needs no index on the time.
    pub fn first_after_ms(ms: i64) -> Self {
        let next = u128::try_from(ms.saturating_add(1)).unwrap_or(0) & ((1 << 48) - 1);
        Self(Uuid::from_u128(next << 80))
    }

    /// The creation time embedded in the id, in milliseconds since the epoch.
    pub fn created_ms(&self) -> i64 {
        let bytes = self.0.as_bytes();
        let mut ms = [0u8; 8];
        ms[2..].copy_from_slice(&bytes[..6]);
        i64::from_be_bytes(ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_reject_other_spellings() {
        let id = UserId::new();
        assert_eq!(UserId::parse(&id.to_string()), Some(id));
        assert_eq!(UserId::parse("not-an-id"), None);
        assert_eq!(UserId::parse(&id.as_uuid().simple().to_string()), None);
        assert_eq!(UserId::parse(""), None);
    }

    #[test]
    fn message_ids_increase_even_when_the_clock_is_behind() {
        let future = MessageId::at_ms(now_ms() + 60_000);
        let next = MessageId::next_after(Some(future));
        assert!(next > future);
        assert!(next.to_string() > future.to_string(), "string order matches id order");
        assert_eq!(next.created_ms(), future.created_ms());
        let fresh = MessageId::next_after(None);
        assert!((fresh.created_ms() - now_ms()).abs() < 5_000);
    }

    #[test]
    fn first_after_ms_splits_ids_by_their_time() {
        let t = now_ms() + 60_000; // ahead of the clock, so next_after bumps within it
        let bound = MessageId::first_after_ms(t);
        let at_t = MessageId::at_ms(t);
        let after = MessageId::at_ms(t + 1);
        let bumped = MessageId::next_after(Some(at_t));
        assert!(at_t.to_string() < bound.to_string());
        assert!(bumped.to_string() < bound.to_string(), "same millisecond, still not after");
        assert!(after.to_string() >= bound.to_string());
        assert!(MessageId::first_after_ms(0).to_string() <= MessageId::at_ms(1).to_string());
    }

    #[test]
    fn message_id_embeds_its_time() {
        let id = MessageId::at_ms(1_700_000_000_123);
        assert_eq!(id.created_ms(), 1_700_000_000_123);
    }
}
