//! One thing wrong in an input file (a cluster spec or a secrets bundle): its field path,
//! what is wrong and a hint that fixes it. A leaf shared by `spec` and `pki`, so both kinds
//! of input report problems in one format; it knows neither.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The field path as the file spells it (`network.admin.cidr`, `etcdCa.key`).
    pub path: String,
    pub message: String,
    pub hint: String,
}

impl Problem {
    pub fn new(path: impl Into<String>, message: impl ToString, hint: impl Into<String>) -> Self {
        Problem {
            path: path.into(),
            message: message.to_string(),
            hint: hint.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}\n    hint: {}",
            self.path, self.message, self.hint
        )
    }
}

/// A YAML syntax error as `line L, column C: kind`, never the parser's rendering: that quotes
/// the lines around the error, and in a secrets bundle those hold private keys. The kind is
/// cut at the first quote, in case a message ever quotes input.
pub fn yaml_syntax(e: &serde_saphyr::Error) -> String {
    use serde_saphyr::MessageFormatter;
    let message = serde_saphyr::UserMessageFormatter.format_message(e.without_snippet());
    let kind: String = message
        .split(['"', '\'', '`'])
        .next()
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control())
        .collect();
    let kind = kind.trim().trim_end_matches(':');
    match e.location() {
        Some(l) if l.line() > 0 => format!("line {}, column {}: {kind}", l.line(), l.column()),
        _ => kind.to_string(),
    }
}
