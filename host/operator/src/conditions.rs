//! Status conditions. A condition's `lastTransitionTime` moves only when its
//! status flips, so repeated reconciles of the same state write nothing new
//! and the phase never flaps.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::jiff::Timestamp;

pub const BUILD_READY: &str = "BuildReady";
pub const EXECUTED: &str = "Executed";
pub const GOLDEN_MATCHED: &str = "GoldenMatched";
pub const READY: &str = "Ready";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    True,
    False,
    Unknown,
}

impl State {
    fn as_str(self) -> &'static str {
        match self {
            State::True => "True",
            State::False => "False",
            State::Unknown => "Unknown",
        }
    }
}

/// Sets or updates a condition in place. Returns true when anything changed.
pub fn set(
    conditions: &mut Vec<Condition>,
    type_: &str,
    state: State,
    reason: &str,
    message: &str,
    generation: Option<i64>,
) -> bool {
    let status = state.as_str();
    if let Some(existing) = conditions.iter_mut().find(|c| c.type_ == type_) {
        let flipped = existing.status != status;
        let changed = flipped
            || existing.reason != reason
            || existing.message != message
            || existing.observed_generation != generation;
        if flipped {
            existing.last_transition_time = Time(Timestamp::now());
        }
        existing.status = status.into();
        existing.reason = reason.into();
        existing.message = message.into();
        existing.observed_generation = generation;
        return changed;
    }
    conditions.push(Condition {
        type_: type_.into(),
        status: status.into(),
        reason: reason.into(),
        message: message.into(),
        observed_generation: generation,
        last_transition_time: Time(Timestamp::now()),
    });
    true
}

pub fn get<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transition_time_moves_only_on_flip() {
        let mut c = Vec::new();
        assert!(set(
            &mut c,
            READY,
            State::False,
            "Running",
            "running",
            Some(1)
        ));
        let first = c[0].last_transition_time.clone();
        assert!(!set(
            &mut c,
            READY,
            State::False,
            "Running",
            "running",
            Some(1)
        ));
        assert!(set(
            &mut c,
            READY,
            State::False,
            "Running",
            "still running",
            Some(1)
        ));
        assert_eq!(c[0].last_transition_time, first);
        std::thread::sleep(std::time::Duration::from_millis(2));
        assert!(set(&mut c, READY, State::True, "Succeeded", "ok", Some(1)));
        assert_ne!(c[0].last_transition_time, first);
        assert_eq!(c.len(), 1);
        assert_eq!(get(&c, READY).map(|c| c.reason.as_str()), Some("Succeeded"));
    }
}
