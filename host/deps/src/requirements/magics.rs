//! Tier 3: packages named by install commands in the notebook.
//!
//! Recognized: `%pip install`, `!pip install`, `!pip3 install`,
//! `!python -m pip install`, `!{sys.executable} -m pip install`,
//! `!uv pip install`, and such commands inside `%%bash` / `%%sh` cells.
//! Arguments are split like a shell does (quotes, `&&`, `;`, `|`,
//! redirections). Output-only flags (`-q`, `-U`, `--no-cache-dir`, `--user`,
//! ...) are dropped; index options are kept as lines; `-r file` is read
//! relative to the notebook inside the repository. `%conda` / `!conda install`
//! and tokens with `$var` or `{python_var}` interpolation are skipped with a
//! warning, as are local paths and editable local installs.

use super::reqfile::{self, OptKind, ReqLine};
use super::{Repo, RequirementsError};

/// A shell word: `text` with quotes removed, `raw` as written.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Tok {
    Word {
        text: String,
        raw: String,
    },
    /// `&&`, `||`, `;`, `|`, `&`: end of a command.
    Sep,
    /// `>`, `>>`, `<`, `2>`: drops the next word. Inside a word
    /// (`scikit-learn>=1.3`) `>` and `<` are kept as part of it: that is the
    /// author's intent, though a shell would redirect (a warning says so).
    Redirect,
    /// `2>&1`, `>&2`: nothing follows.
    Dup,
}

pub(crate) fn scan(
    cells: &[(usize, String)],
    repo: &Repo,
    nb_dir: &str,
    nb_rel: &str,
    warnings: &mut Vec<String>,
) -> Result<Vec<ReqLine>, RequirementsError> {
    let mut out = Vec::new();
    for (cell, source) in cells {
        let lines = logical_lines(source);
        let shell_cell = lines
            .iter()
            .find(|l| !l.trim().is_empty())
            .is_some_and(|l| is_shell_cell_magic(l.trim()));
        let mut ctx = Ctx {
            repo,
            nb_dir,
            nb_rel,
            cell: *cell,
            warnings: &mut *warnings,
            out: &mut out,
        };
        for (i, line) in lines.iter().enumerate() {
            let t = line.trim();
            let command = if shell_cell {
                if i == 0 || t.starts_with("%%") {
                    continue;
                }
                t.to_string()
            } else if let Some(rest) = magic_args(t, "%pip") {
                format!("pip {rest}")
            } else if let Some(rest) = ["%conda", "%mamba", "%micromamba"]
                .iter()
                .find_map(|m| magic_args(t, m))
            {
                if rest.trim_start().starts_with("install") {
                    ctx.warn_conda(t);
                }
                continue;
            } else if let Some(rest) = t.strip_prefix('!') {
                rest.to_string()
            } else if let Some((_, rest)) = t.split_once("= !").filter(|(lhs, _)| {
                lhs.chars()
                    .all(|c| c.is_alphanumeric() || matches!(c, '_' | ' ' | ','))
            }) {
                rest.to_string()
            } else {
                continue;
            };
            ctx.shell(&command)?;
        }
    }
    Ok(out)
}

/// `%%bash`, `%%sh`, `%%script bash|sh`.
fn is_shell_cell_magic(first: &str) -> bool {
    let mut words = first.split_whitespace();
    match words.next() {
        Some("%%bash" | "%%sh") => true,
        Some("%%script") => matches!(words.next(), Some("bash" | "sh" | "/bin/bash" | "/bin/sh")),
        _ => false,
    }
}

/// The arguments of line magic `name` (`%pip install x` -> `install x`).
fn magic_args<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    let rest = line.strip_prefix(name)?;
    (rest.is_empty() || rest.starts_with(char::is_whitespace)).then_some(rest)
}

/// Lines with trailing-backslash continuations joined.
fn logical_lines(source: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut pending = String::new();
    for line in source.lines() {
        if let Some(head) = line.strip_suffix('\\') {
            pending.push_str(head);
            pending.push(' ');
        } else {
            pending.push_str(line);
            out.push(std::mem::take(&mut pending));
        }
    }
    if !pending.is_empty() {
        out.push(pending);
    }
    out
}

struct Ctx<'a, 'w> {
    repo: &'a Repo,
    nb_dir: &'a str,
    nb_rel: &'a str,
    cell: usize,
    warnings: &'w mut Vec<String>,
    out: &'w mut Vec<ReqLine>,
}

impl Ctx<'_, '_> {
    fn warn(&mut self, message: String) {
        self.warnings.push(format!("cell {}: {message}", self.cell));
    }

    fn warn_conda(&mut self, line: &str) {
        self.warn(format!(
            "conda installs are ignored ({line}); list the packages in requirements.txt or use %pip install"
        ));
    }

    /// One shell line: every pip install command in it.
    fn shell(&mut self, line: &str) -> Result<(), RequirementsError> {
        let tokens = tokenize(line);
        let mut command: Vec<(String, String)> = Vec::new();
        let mut redirect = false;
        for tok in tokens.into_iter().chain([Tok::Sep]) {
            match tok {
                Tok::Word { text, raw } => {
                    if redirect {
                        redirect = false;
                    } else {
                        command.push((text, raw));
                    }
                }
                Tok::Redirect => redirect = true,
                Tok::Dup => {}
                Tok::Sep => {
                    redirect = false;
                    let words = std::mem::take(&mut command);
                    self.command(line, &words)?;
                }
            }
        }
        Ok(())
    }

    fn command(&mut self, line: &str, words: &[(String, String)]) -> Result<(), RequirementsError> {
        let mut i = 0;
        // `sudo`, `VAR=value` prefixes.
        while let Some((text, _)) = words.get(i) {
            let assignment = text.split_once('=').is_some_and(|(k, _)| {
                !k.is_empty() && k.chars().all(|c| c.is_alphanumeric() || c == '_')
            });
            if text == "sudo" || assignment {
                i += 1;
            } else {
                break;
            }
        }
        let word = |j: usize| words.get(j).map(|(t, _)| t.as_str());
        let program = word(i).map(|p| p.rsplit('/').next().unwrap_or(p));
        let rest = match program {
            Some(p) if is_pip(p) => i + 1,
            Some(p)
                if (is_python(p) || word(i) == Some("{sys.executable}"))
                    && word(i + 1) == Some("-m")
                    && word(i + 2).is_some_and(is_pip) =>
            {
                i + 3
            }
            Some("uv") if word(i + 1) == Some("pip") => i + 2,
            Some("conda" | "mamba" | "micromamba") => {
                if word(i + 1) == Some("install") {
                    self.warn_conda(line.trim());
                }
                return Ok(());
            }
            _ => return Ok(()),
        };
        if word(rest) != Some("install") {
            return Ok(());
        }
        self.install_args(&words[rest + 1..])
    }

    fn install_args(&mut self, args: &[(String, String)]) -> Result<(), RequirementsError> {
        let mut i = 0;
        while i < args.len() {
            let (text, raw) = &args[i];
            i += 1;
            if !text.starts_with('-')
                && (raw.contains('>') || raw.contains('<'))
                && !raw.starts_with(['"', '\''])
            {
                self.warn(format!(
                    "`{raw}` should be quoted: a shell reads `>`/`<` as a redirection and pip would see only the name; used as {text:?}"
                ));
            }
            if interpolates(raw) {
                self.warn(format!(
                    "`{raw}` uses shell or Python variable interpolation, which cannot be resolved before the build; skipped"
                ));
                continue;
            }
            if text.starts_with('-') && text.len() > 1 && raw.starts_with('-') {
                let (name, inline) = split_flag(text);
                let (long, kind) = reqfile::pip_option(name);
                let needs_value = kind.takes_value();
                let value = if !needs_value {
                    None
                } else if let Some(v) = inline {
                    Some(v.to_string())
                } else if let Some((v, v_raw)) = args.get(i) {
                    i += 1;
                    if interpolates(v_raw) {
                        self.warn(format!(
                            "`{long} {v_raw}` uses variable interpolation, which cannot be resolved before the build; skipped"
                        ));
                        continue;
                    }
                    Some(v.clone())
                } else {
                    self.warn(format!("{long} without a value; skipped"));
                    continue;
                };
                let value = value.unwrap_or_default();
                match kind {
                    OptKind::Requirement => self.include(&value)?,
                    OptKind::Constraint => self.warn(format!(
                        "constraints file {value} is ignored; pin those versions in requirements.txt instead"
                    )),
                    OptKind::Editable if reqfile::is_remote_url(&value) => {
                        self.out.push(ReqLine::Req {
                            key: reqfile::req_key(&value),
                            line: format!("-e {value}"),
                        });
                    }
                    OptKind::Editable => self.warn(format!(
                        "editable local install `-e {value}` is skipped: the image build does not have the repository"
                    )),
                    OptKind::Keep(true)
                        if long == "--find-links" && !reqfile::is_remote_url(&value) =>
                    {
                        self.warn(format!(
                            "--find-links {value} is a local path, which the image build does not have; skipped"
                        ));
                    }
                    OptKind::Keep(true) => self.out.push(ReqLine::Opt(format!("{long} {value}"))),
                    OptKind::Keep(false) => self.out.push(ReqLine::Opt(long.to_string())),
                    OptKind::Drop(_) => {}
                    OptKind::Unknown => self.warn(format!("unknown pip option {name} ignored")),
                }
                continue;
            }
            let spec = reqfile::collapse(text);
            if spec.is_empty() {
                continue;
            }
            if reqfile::is_local_path(&spec) {
                self.warn(format!(
                    "local path `{spec}` is skipped: the image build does not have the repository"
                ));
                continue;
            }
            let first = spec.chars().next().unwrap_or(' ');
            if !first.is_ascii_alphanumeric() && !reqfile::is_remote_url(&spec) {
                self.warn(format!("`{spec}` is not a requirement; skipped"));
                continue;
            }
            self.out.push(ReqLine::Req {
                key: reqfile::req_key(&spec),
                line: spec,
            });
        }
        Ok(())
    }

    /// `-r file`, relative to the notebook's directory.
    fn include(&mut self, file: &str) -> Result<(), RequirementsError> {
        let from = format!("cell {} of {}", self.cell, self.nb_rel);
        let path = self.repo.join(self.nb_dir, file, &from)?;
        if self.repo.existing(&path, &from)?.is_none() {
            self.warn(format!(
                "-r {file}: {} does not exist in the repository; skipped",
                path.rel
            ));
            return Ok(());
        }
        let mut stack = Vec::new();
        reqfile::parse_into(self.repo, &path, self.warnings, self.out, &mut stack)
    }
}

fn is_pip(p: &str) -> bool {
    p.strip_prefix("pip")
        .is_some_and(|v| v.chars().all(|c| c.is_ascii_digit() || c == '.'))
}

fn is_python(p: &str) -> bool {
    p.strip_prefix("python")
        .is_some_and(|v| v.chars().all(|c| c.is_ascii_digit() || c == '.'))
}

/// `$var`, `${var}`, `{expr}`: IPython expands these before the shell runs.
fn interpolates(raw: &str) -> bool {
    let unescaped = raw.replace("$$", "").replace("{{", "").replace("}}", "");
    unescaped.contains('$') || unescaped.contains('{')
}

/// `--name=value` / `-rvalue` / `-x`.
fn split_flag(word: &str) -> (&str, Option<&str>) {
    if word.starts_with("--") {
        match word.split_once('=') {
            Some((name, value)) => (name, Some(value)),
            None => (word, None),
        }
    } else if word.len() > 2 && matches!(&word[..2], "-r" | "-c" | "-e" | "-i" | "-f") {
        (&word[..2], Some(&word[2..]))
    } else {
        (word, None)
    }
}

/// Shell-like split: quotes, backslash escapes, operators, `#` comments.
fn tokenize(line: &str) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut text = String::new();
    let mut raw = String::new();
    let mut in_word = false;
    let mut chars = line.chars().peekable();
    let flush = |out: &mut Vec<Tok>, text: &mut String, raw: &mut String, in_word: &mut bool| {
        if *in_word {
            out.push(Tok::Word {
                text: std::mem::take(text),
                raw: std::mem::take(raw),
            });
            *in_word = false;
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' => {
                in_word = true;
                raw.push(c);
                while let Some(q) = chars.next() {
                    raw.push(q);
                    if q == c {
                        break;
                    }
                    if q == '\\'
                        && c == '"'
                        && let Some(&n) = chars.peek()
                        && matches!(n, '"' | '\\' | '$' | '`')
                    {
                        raw.push(n);
                        text.push(n);
                        chars.next();
                        continue;
                    }
                    text.push(q);
                }
            }
            '\\' => {
                in_word = true;
                raw.push(c);
                if let Some(n) = chars.next() {
                    raw.push(n);
                    text.push(n);
                }
            }
            '#' if !in_word => break,
            c if c.is_whitespace() => flush(&mut out, &mut text, &mut raw, &mut in_word),
            ';' => {
                flush(&mut out, &mut text, &mut raw, &mut in_word);
                out.push(Tok::Sep);
            }
            '&' | '|' => {
                flush(&mut out, &mut text, &mut raw, &mut in_word);
                if c == '&' && chars.peek() == Some(&'>') {
                    chars.next();
                    out.push(Tok::Redirect);
                    continue;
                }
                if chars.peek() == Some(&c) {
                    chars.next();
                }
                out.push(Tok::Sep);
            }
            '>' | '<' if in_word && !(raw == text && (text == "1" || text == "2")) => {
                // Inside a word: a version comparison, not a redirection.
                raw.push(c);
                text.push(c);
            }
            '>' | '<' => {
                // `2>` / `1>`: the digit is part of the operator.
                if in_word && (text == "1" || text == "2") && raw == text {
                    text.clear();
                    raw.clear();
                    in_word = false;
                }
                flush(&mut out, &mut text, &mut raw, &mut in_word);
                if chars.peek() == Some(&'>') {
                    chars.next();
                }
                if chars.peek() == Some(&'&') {
                    chars.next();
                    while chars
                        .peek()
                        .is_some_and(|d| d.is_ascii_digit() || *d == '-')
                    {
                        chars.next();
                    }
                    out.push(Tok::Dup);
                } else {
                    out.push(Tok::Redirect);
                }
            }
            c => {
                in_word = true;
                raw.push(c);
                text.push(c);
            }
        }
    }
    flush(&mut out, &mut text, &mut raw, &mut in_word);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        tokenize(line)
            .into_iter()
            .map(|t| match t {
                Tok::Word { text, .. } => text,
                Tok::Sep => ";".into(),
                Tok::Redirect => ">".into(),
                Tok::Dup => ">&".into(),
            })
            .collect()
    }

    #[test]
    fn shell_words() {
        assert_eq!(
            words(r#"pip install "pandas>=2,<3" 'x y' a\ b -q > /dev/null 2>&1 && echo ok # c"#),
            vec![
                "pip",
                "install",
                "pandas>=2,<3",
                "x y",
                "a b",
                "-q",
                ">",
                "/dev/null",
                ">&",
                ";",
                "echo",
                "ok"
            ]
        );
        assert_eq!(words("a|b;c||d"), vec!["a", ";", "b", ";", "c", ";", "d"]);
    }

    #[test]
    fn comparisons_inside_words_are_not_redirections() {
        assert_eq!(
            words("pip install scikit-learn>=1.3 numpy<2 >log 2>/dev/null"),
            vec![
                "pip",
                "install",
                "scikit-learn>=1.3",
                "numpy<2",
                ">",
                "log",
                ">",
                "/dev/null"
            ]
        );
    }

    #[test]
    fn interpolation_is_detected() {
        assert!(interpolates("$PKG"));
        assert!(interpolates("{pkg}==1"));
        assert!(interpolates("\"${VERSION}\""));
        assert!(!interpolates("pandas>=2"));
        assert!(!interpolates("a{{b}}"));
    }

    #[test]
    fn pip_and_python_names() {
        assert!(is_pip("pip") && is_pip("pip3") && is_pip("pip3.11"));
        assert!(!is_pip("pipenv"));
        assert!(is_python("python3.12") && !is_python("pythonista"));
    }
}
