//! Preferences and quiet hours, checked again when a delivery is about to
//! go: the user may have turned the channel off, or the send may now fall
//! inside their quiet hours, since it was queued.

use crate::domain::Channel;
use crate::persistence::deliveries::{Delivery, Settle};
use crate::persistence::StoreError;
use sea_orm::DatabaseConnection;

/// `None` means send now; otherwise how to settle the delivery instead.
pub async fn gate(
    db: &DatabaseConnection,
    delivery: &Delivery,
) -> Result<Option<Settle>, StoreError> {
    let Some(user) = &delivery.user else {
        return Ok(None); // webhooks go to endpoints, not users
    };
    if matches!(delivery.channel, Channel::InApp | Channel::Webhook) {
        return Ok(None);
    }
    let prefs = crate::persistence::preferences::get(db, user).await?;
    if !prefs.allows(delivery.channel, &delivery.category) {
        return Ok(Some(Settle::Suppressed {
            reason: format!(
                "{} for '{}' was turned off before sending",
                delivery.channel,
                delivery.category.as_str()
            ),
        }));
    }
    if let Some(at) = prefs.quiet_until(delivery.priority, chrono::Utc::now()) {
        return Ok(Some(Settle::Deferred {
            reason: "quiet hours".into(),
            at,
        }));
    }
    Ok(None)
}
