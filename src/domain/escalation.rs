//! A rule's escalation: later steps that reach the user on other channels
//! while the first notification stays unread. Parsed once at the edge; the
//! decision a step takes at its due time is a pure function tested here.

use super::{Channel, DomainError, Span};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The most later steps a rule may declare. A cap, not a setting: rules are
/// parsed where no configuration is at hand (packs, the rules API), and a
/// ladder longer than this is a configuration mistake rather than a need.
pub const MAX_ESCALATION_STEPS: usize = 5;

fn invalid(reason: impl Into<String>) -> DomainError {
    DomainError::InvalidField {
        field: "escalation",
        reason: reason.into(),
    }
}

/// One later step as the API and packs write it.
#[derive(Clone, Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EscalationStepInput {
    /// How long after the first notification this step is due: `90s`, `10m`, `1h`, `1d`.
    pub after: String,
    /// The channels this step sends on, e.g. `["push"]`.
    pub channels: Vec<String>,
}

/// One later step: due `after` the first notification, on `channels`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EscalationStep {
    after: Span,
    channels: Vec<Channel>,
}

impl EscalationStep {
    pub fn after(&self) -> Span {
        self.after
    }
    pub fn channels(&self) -> &[Channel] {
        &self.channels
    }
}

/// A rule's later steps, in strictly ascending `after` order; never empty.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Escalation {
    steps: Vec<EscalationStep>,
}

impl Escalation {
    /// Reads a rule's `escalation`: absent, null or `[]` is none.
    pub fn parse(v: Option<&Value>) -> Result<Option<Self>, DomainError> {
        let inputs: Vec<EscalationStepInput> = match v {
            None | Some(Value::Null) => return Ok(None),
            Some(v) => serde_json::from_value(v.clone()).map_err(|e| invalid(e.to_string()))?,
        };
        if inputs.is_empty() {
            return Ok(None);
        }
        if inputs.len() > MAX_ESCALATION_STEPS {
            return Err(invalid(format!(
                "has more than {MAX_ESCALATION_STEPS} steps"
            )));
        }
        let mut steps: Vec<EscalationStep> = Vec::with_capacity(inputs.len());
        for input in inputs {
            let after = Span::parse(&input.after)?;
            if steps.last().is_some_and(|prev| prev.after >= after) {
                return Err(invalid("steps must have strictly ascending 'after'"));
            }
            let channels = input
                .channels
                .iter()
                .map(|c| Channel::parse(c))
                .collect::<Result<Vec<_>, _>>()?;
            if channels.is_empty() {
                return Err(invalid("a step's channels must not be empty"));
            }
            steps.push(EscalationStep { after, channels });
        }
        Ok(Some(Self { steps }))
    }

    pub fn steps(&self) -> &[EscalationStep] {
        &self.steps
    }

    pub fn to_json(&self) -> Value {
        let inputs: Vec<EscalationStepInput> = self
            .steps
            .iter()
            .map(|s| EscalationStepInput {
                after: s.after.to_string(),
                channels: s.channels.iter().map(|c| c.as_str().to_string()).collect(),
            })
            .collect();
        serde_json::to_value(inputs).unwrap_or(Value::Null)
    }
}

/// Where the first notification is when a later step comes due.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WatchedState {
    Unread,
    Read,
    Archived,
    Deleted,
    /// Gone (retention removed it), or never written.
    Missing,
}

/// Why a step did not run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepReason {
    Read,
    Archived,
    Deleted,
    Missing,
}

impl StepReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Archived => "archived",
            Self::Deleted => "deleted",
            Self::Missing => "missing",
        }
    }
}

/// What a due step does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepDecision {
    Run,
    /// The user has dealt with the notification: this and every later step end.
    Cancel(StepReason),
}

impl StepDecision {
    /// The decision at due time. Checking then is enough: a read on any
    /// node, by REST or WebSocket, is in the notification's row by then.
    pub fn at_due(state: WatchedState) -> Self {
        match state {
            WatchedState::Unread => Self::Run,
            WatchedState::Read => Self::Cancel(StepReason::Read),
            WatchedState::Archived => Self::Cancel(StepReason::Archived),
            WatchedState::Deleted => Self::Cancel(StepReason::Deleted),
            WatchedState::Missing => Self::Cancel(StepReason::Missing),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_escalation_parses_and_prints_back() {
        let v =
            json!([{"after": "10m", "channels": ["push"]}, {"after": "1h", "channels": ["email"]}]);
        let e = Escalation::parse(Some(&v)).unwrap().unwrap();
        assert_eq!(e.steps().len(), 2);
        assert_eq!(e.steps()[0].after(), Span::parse("10m").unwrap());
        assert_eq!(e.steps()[1].channels(), &[Channel::Email]);
        assert_eq!(Escalation::parse(Some(&e.to_json())).unwrap(), Some(e));
        assert_eq!(Escalation::parse(None).unwrap(), None);
        assert_eq!(Escalation::parse(Some(&Value::Null)).unwrap(), None);
        assert_eq!(Escalation::parse(Some(&json!([]))).unwrap(), None);
    }

    #[test]
    fn unordered_unknown_empty_and_too_long_escalations_are_refused() {
        let too_long: Vec<Value> = (1..=MAX_ESCALATION_STEPS + 1)
            .map(|i| json!({"after": format!("{i}m"), "channels": ["push"]}))
            .collect();
        for bad in [
            json!([{"after": "1h", "channels": ["push"]}, {"after": "10m", "channels": ["email"]}]),
            json!([{"after": "10m", "channels": ["push"]}, {"after": "10m", "channels": ["email"]}]),
            json!([{"after": "10m", "channels": ["pigeon"]}]),
            json!([{"after": "10m", "channels": []}]),
            json!([{"after": "soon", "channels": ["push"]}]),
            json!([{"after": "10m", "channels": ["push"], "colour": 1}]),
            json!({"after": "10m"}),
            Value::Array(too_long),
        ] {
            assert!(Escalation::parse(Some(&bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_due_step_runs_only_while_the_notification_is_unread() {
        assert_eq!(
            StepDecision::at_due(WatchedState::Unread),
            StepDecision::Run
        );
        for (state, reason) in [
            (WatchedState::Read, StepReason::Read),
            (WatchedState::Archived, StepReason::Archived),
            (WatchedState::Deleted, StepReason::Deleted),
            (WatchedState::Missing, StepReason::Missing),
        ] {
            assert_eq!(StepDecision::at_due(state), StepDecision::Cancel(reason));
        }
    }
}
