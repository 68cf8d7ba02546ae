//! Reads a validation pod's state. The verdict comes only from the runner's
//! signed summary in the termination message: a missing, truncated, unsigned
//! or tampered summary is a failure, never a success. Platform failures
//! (image pull, eviction) are told apart so only they are retried.

use k8s_openapi::api::core::v1::{ContainerStatus, Pod};
use nbv_crd::{CellDiff, CellResult, ComparisonResult, NotebookValidationJobStatus, Phase};
use nbv_summary::{self as termination, Summary};

use crate::conditions::{self, State};
use crate::pod::MAIN_CONTAINER;
use crate::reconcile::Verdict;

#[derive(Debug)]
pub enum PodOutcome {
    Running,
    /// The platform failed the pod; a retry may succeed.
    InfrastructureFailure {
        reason: &'static str,
        message: String,
    },
    /// The runner finished and its summary verified.
    Finished(Box<Summary>),
    /// The pod failed in a way a retry won't fix.
    Failed {
        reason: &'static str,
        message: String,
    },
}

/// Waiting reasons that mean the image can't be pulled. Retried a bounded
/// number of times: registries have outages.
const PULL_FAILURES: &[&str] = &["ErrImagePull", "ImagePullBackOff"];
/// Waiting reasons no retry will fix.
const CONFIG_FAILURES: &[&str] = &[
    "InvalidImageName",
    "CreateContainerConfigError",
    "CreateContainerError",
];

fn waiting_failure(statuses: &[ContainerStatus]) -> Option<PodOutcome> {
    for cs in statuses {
        let Some(waiting) = cs.state.as_ref().and_then(|s| s.waiting.as_ref()) else {
            continue;
        };
        let reason = waiting.reason.as_deref().unwrap_or_default();
        let detail = waiting.message.clone().unwrap_or_default();
        if PULL_FAILURES.contains(&reason) {
            return Some(PodOutcome::InfrastructureFailure {
                reason: "ImagePullFailed",
                message: format!(
                    "container {} cannot pull its image: {reason} {detail}",
                    cs.name
                ),
            });
        }
        if CONFIG_FAILURES.contains(&reason) {
            return Some(PodOutcome::Failed {
                reason: "InvalidPodConfig",
                message: format!("container {} cannot start: {reason} {detail}", cs.name),
            });
        }
    }
    None
}

pub fn from_pod(pod: &Pod, key: &[u8]) -> PodOutcome {
    let Some(status) = pod.status.as_ref() else {
        return PodOutcome::Running;
    };
    match status.reason.as_deref() {
        Some("Evicted") | Some("Preempting") | Some("NodeLost") | Some("Shutdown")
        | Some("Terminated") => {
            return PodOutcome::InfrastructureFailure {
                reason: "PodEvicted",
                message: format!(
                    "the validation pod was removed by the platform: {}",
                    status.message.clone().unwrap_or_default()
                ),
            };
        }
        Some("DeadlineExceeded") => {
            return PodOutcome::Failed {
                reason: "Timeout",
                message: "the validation did not finish within spec.timeout; raise spec.timeout or make the notebook faster".into(),
            };
        }
        _ => {}
    }
    let inits = status
        .init_container_statuses
        .as_deref()
        .unwrap_or_default();
    let mains = status.container_statuses.as_deref().unwrap_or_default();
    if let Some(outcome) = waiting_failure(inits).or_else(|| waiting_failure(mains)) {
        return outcome;
    }
    let failed_init = inits.iter().find_map(|cs| {
        let t = cs.state.as_ref()?.terminated.as_ref()?;
        (t.exit_code != 0).then_some((cs, t))
    });
    if let Some((cs, t)) = failed_init {
        let reason = if cs.name == "fetch" {
            "GitFetchFailed"
        } else {
            "RunnerInstallFailed"
        };
        return PodOutcome::Failed {
            reason,
            message: format!(
                "init container {} exited {}: {}",
                cs.name,
                t.exit_code,
                t.message.clone().unwrap_or_default().trim()
            ),
        };
    }
    let Some(main) = mains.iter().find(|c| c.name == MAIN_CONTAINER) else {
        return PodOutcome::Running;
    };
    let Some(terminated) = main.state.as_ref().and_then(|s| s.terminated.as_ref()) else {
        return PodOutcome::Running;
    };
    if terminated.reason.as_deref() == Some("OOMKilled") {
        return PodOutcome::Failed {
            reason: "OOMKilled",
            message: "the notebook ran out of memory; raise podConfig.resources.limits.memory"
                .into(),
        };
    }
    let message = terminated.message.as_deref().unwrap_or_default();
    if message.is_empty() {
        return PodOutcome::Failed {
            reason: "ResultMissing",
            message: format!(
                "the runner exited {} without writing a result; the image may lack ipykernel or the runner could not start",
                terminated.exit_code
            ),
        };
    }
    match termination::open(message, key) {
        Ok(summary) => PodOutcome::Finished(Box::new(summary)),
        Err(e) => PodOutcome::Failed {
            reason: "ResultInvalid",
            message: format!("the runner's result could not be trusted: {e}"),
        },
    }
}

/// Copies the runner's summary into status and returns the verdict.
pub fn apply_result(
    status: &mut NotebookValidationJobStatus,
    summary: Summary,
    generation: Option<i64>,
) -> Verdict {
    status.results = summary
        .cells
        .iter()
        .map(|c| CellResult {
            cell_index: c.index as i64,
            status: c.status.clone(),
            execution_time: Some(nbv_crd::format_go_duration(
                std::time::Duration::from_millis(c.duration_ms),
            )),
            output: c.output.clone(),
            error_message: c.error.clone(),
        })
        .collect();
    let executed_ok = summary.execution_error.is_none();
    let exec_message = summary
        .execution_error
        .clone()
        .unwrap_or_else(|| format!("{} cells executed", summary.cells.len()));
    conditions::set(
        &mut status.conditions,
        conditions::EXECUTED,
        if executed_ok {
            State::True
        } else {
            State::False
        },
        if executed_ok {
            "Executed"
        } else {
            summary.failure_reason()
        },
        &exec_message,
        generation,
    );
    match &summary.comparison {
        Some(cmp) => {
            let matched = cmp.mismatched == 0;
            status.comparison_result = Some(ComparisonResult {
                strategy: cmp.strategy.clone(),
                result: if matched { "matched" } else { "failed" }.into(),
                total_cells: cmp.total as i64,
                matched_cells: cmp.matched as i64,
                mismatched_cells: cmp.mismatched as i64,
                diffs: cmp
                    .diffs
                    .iter()
                    .map(|d| CellDiff {
                        cell_index: d.cell_index as i64,
                        cell_type: d.cell_type.clone(),
                        diff_type: d.diff_type.clone(),
                        expected: d.expected.clone(),
                        actual: d.actual.clone(),
                        diff: d.diff.clone(),
                        severity: d.severity.clone(),
                    })
                    .collect(),
            });
            let msg = format!("{} of {} compared cells matched", cmp.matched, cmp.total);
            conditions::set(
                &mut status.conditions,
                conditions::GOLDEN_MATCHED,
                if matched { State::True } else { State::False },
                if matched { "Matched" } else { "GoldenMismatch" },
                &msg,
                generation,
            );
        }
        None => {
            conditions::set(
                &mut status.conditions,
                conditions::GOLDEN_MATCHED,
                State::True,
                "NotRequested",
                "no goldenNotebook was given",
                generation,
            );
        }
    }
    if summary.passed {
        Verdict {
            phase: Phase::Succeeded,
            reason: "Succeeded",
            message: summary.message.clone(),
        }
    } else {
        Verdict::failed(summary.failure_reason(), summary.message.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"per-job-key";

    fn pod(status: serde_json::Value) -> Pod {
        serde_json::from_value(serde_json::json!({"metadata": {"name": "p"}, "status": status}))
            .expect("pod")
    }

    fn main_terminated(code: i32, message: &str) -> serde_json::Value {
        serde_json::json!({"phase": if code == 0 { "Succeeded" } else { "Failed" }, "containerStatuses": [
            {"name": "notebook", "ready": false, "restartCount": 0, "image": "i", "imageID": "",
             "state": {"terminated": {"exitCode": code, "message": message}}}]})
    }

    fn sealed(passed: bool) -> String {
        nbv_summary::seal(
            &Summary {
                passed,
                message: "m".into(),
                failure: (!passed).then(|| "CellError".into()),
                ..Default::default()
            },
            KEY,
        )
    }

    #[test]
    fn verified_summary_is_the_verdict() {
        match from_pod(&pod(main_terminated(0, &sealed(true))), KEY) {
            PodOutcome::Finished(s) => assert!(s.passed),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn missing_or_forged_results_fail_never_pass() {
        assert!(matches!(
            from_pod(&pod(main_terminated(0, "")), KEY),
            PodOutcome::Failed {
                reason: "ResultMissing",
                ..
            }
        ));
        assert!(matches!(
            from_pod(&pod(main_terminated(0, "{\"passed\":true}")), KEY),
            PodOutcome::Failed {
                reason: "ResultInvalid",
                ..
            }
        ));
        assert!(matches!(
            from_pod(&pod(main_terminated(0, &sealed(true))), b"other key"),
            PodOutcome::Failed {
                reason: "ResultInvalid",
                ..
            }
        ));
    }

    #[test]
    fn platform_failures_are_told_apart() {
        let pull = serde_json::json!({"phase": "Pending", "containerStatuses": [{"name": "notebook", "ready": false,
            "restartCount": 0, "image": "i", "imageID": "", "state": {"waiting": {"reason": "ImagePullBackOff"}}}]});
        assert!(matches!(
            from_pod(&pod(pull), KEY),
            PodOutcome::InfrastructureFailure {
                reason: "ImagePullFailed",
                ..
            }
        ));
        let evicted =
            serde_json::json!({"phase": "Failed", "reason": "Evicted", "message": "node pressure"});
        assert!(matches!(
            from_pod(&pod(evicted), KEY),
            PodOutcome::InfrastructureFailure {
                reason: "PodEvicted",
                ..
            }
        ));
        let deadline = serde_json::json!({"phase": "Failed", "reason": "DeadlineExceeded"});
        assert!(matches!(
            from_pod(&pod(deadline), KEY),
            PodOutcome::Failed {
                reason: "Timeout",
                ..
            }
        ));
        let bad_image = serde_json::json!({"phase": "Pending", "containerStatuses": [{"name": "notebook", "ready": false,
            "restartCount": 0, "image": "i", "imageID": "", "state": {"waiting": {"reason": "InvalidImageName"}}}]});
        assert!(matches!(
            from_pod(&pod(bad_image), KEY),
            PodOutcome::Failed {
                reason: "InvalidPodConfig",
                ..
            }
        ));
        assert!(matches!(
            from_pod(&pod(serde_json::json!({"phase": "Running"})), KEY),
            PodOutcome::Running
        ));
    }

    #[test]
    fn a_failed_summary_fills_status_and_names_the_reason() {
        let mut status = NotebookValidationJobStatus::default();
        let summary = Summary {
            passed: false,
            message: "cell 2 raised ZeroDivisionError: division by zero".into(),
            failure: Some("CellError".into()),
            execution_error: Some("cell 2 raised ZeroDivisionError".into()),
            cells: vec![nbv_summary::CellSummary {
                index: 2,
                status: "Failure".into(),
                duration_ms: 1500,
                ..Default::default()
            }],
            ..Default::default()
        };
        let verdict = apply_result(&mut status, summary, Some(1));
        assert_eq!(
            (verdict.phase, verdict.reason),
            (Phase::Failed, "CellError")
        );
        assert_eq!(status.results[0].execution_time.as_deref(), Some("1.5s"));
        assert_eq!(
            conditions::get(&status.conditions, conditions::EXECUTED).map(|c| c.status.as_str()),
            Some("False")
        );
    }
}
