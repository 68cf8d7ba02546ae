//! Masks text that legitimately differs between runs.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;

use crate::config::{Comparator, Strategy};

static ANSI: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\x1b\[[0-9;?]*[ -/]*[@-~]").expect("valid"));
static ADDRESS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"0x[0-9a-fA-F]{4,}").expect("valid"));
static OUT_PROMPT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(Out|In)\s*\[\s*\d+\s*\]").expect("valid"));
static TIMESTAMPS: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        // ISO 8601 / RFC 3339 and the common `YYYY-MM-DD HH:MM:SS(.fff)` forms.
        r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?",
        r"\d{4}-\d{2}-\d{2}",
        r"\d{2}:\d{2}:\d{2}(\.\d+)?",
        // ctime: "Tue Nov 24 14:14:44 2026"
        r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) +\d{1,2} \d{2}:\d{2}:\d{2} \d{4}",
    ]
    .iter()
    .map(|p| Regex::new(p).expect("valid"))
    .collect()
});

impl Comparator {
    /// The text that is compared: masks applied per the strategy.
    pub fn normalize<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let cfg = &self.config;
        let mut t: Cow<'a, str> = Cow::Borrowed(text);
        let mut apply = |re: &Regex, with: &str| {
            if re.is_match(&t) {
                t = Cow::Owned(re.replace_all(&t, with).into_owned());
            }
        };
        for (re, with) in &self.sanitizers {
            apply(re, with);
        }
        if cfg.strategy == Strategy::Exact {
            return t;
        }
        apply(&ANSI, "");
        if cfg.ignore_timestamps {
            for re in self.timestamps.iter().chain(TIMESTAMPS.iter()) {
                apply(re, "<TIMESTAMP>");
            }
        }
        apply(&ADDRESS, "0x<ADDRESS>");
        if cfg.ignore_execution_count {
            apply(&OUT_PROMPT, "$1[<N>]");
        }
        // Trailing whitespace is invisible in every notebook front end.
        if t.lines().any(|l| l.ends_with([' ', '\t'])) || t.ends_with('\n') {
            t = Cow::Owned(t.lines().map(str::trim_end).collect::<Vec<_>>().join("\n"));
        }
        t
    }
}
