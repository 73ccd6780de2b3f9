//! The preferences document as `PUT`/`PATCH` take it and every route answers it.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// `{channels, categories, quiet_hours, digest}`, or the older flat
/// `{email_notifications, push_notifications, sms_notifications, categories: [...]}`.
/// [`crate::domain::PreferencePatch::parse`] validates it.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct PreferencesBody {
    /// Channel switches; a missing channel means enabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channels: Option<BTreeMap<String, bool>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub categories: Option<CategoriesBody>,
    /// In a PATCH, `null` clears quiet hours.
    #[serde(
        default,
        deserialize_with = "super::present",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<QuietHoursBody>, nullable)]
    pub quiet_hours: Option<Option<QuietHoursBody>>,
    /// Digest windows by category (`"daily@08:00"`, `"1h"`), overriding rules'
    /// windows; in a PATCH, `null` removes a category's window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<BTreeMap<String, Option<String>>>,
    /// The flat form: `{channel}_notifications: bool`.
    #[serde(flatten)]
    pub flat: BTreeMap<String, bool>,
}

/// Per-category channel switches (in a PATCH, `null` removes the category),
/// or, in the flat form, the categories the user opts out of.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(untagged)]
pub enum CategoriesBody {
    Switches(BTreeMap<String, Option<BTreeMap<String, bool>>>),
    OptOuts(Vec<String>),
}

/// A daily window, `HH:MM` to `HH:MM` in an IANA time zone; it may wrap past midnight.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuietHoursBody {
    #[schema(example = "22:00")]
    pub start: String,
    #[schema(example = "07:00")]
    pub end: String,
    #[schema(example = "Europe/Paris")]
    pub timezone: String,
}

/// The stored document: every channel, the categories with switches, quiet hours.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct PreferencesView {
    pub channels: BTreeMap<String, bool>,
    pub categories: BTreeMap<String, BTreeMap<String, bool>>,
    pub quiet_hours: Option<QuietHoursBody>,
    /// Shown once the user has set a digest window.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<BTreeMap<String, String>>,
}
