//! How a run ends: one exit status type, and the `error:` / problems / `caused by:` / `hint:`
//! report of a failure. The CLI's edge: library errors arrive here with their `source()`
//! chain intact and are flattened only when printed. Must not decide what went wrong; the
//! commands do, by building a `Failure`.

use std::error::Error;
use std::fmt::Write;
use std::process::ExitCode;

/// The process exit status. Whether the user or the tool is at fault decides the code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    /// 0: done as asked.
    Success,
    /// 1: bad input (flags, spec, files), or the cluster did not get where it was asked to.
    Failure,
    /// 2: a bug in k8sgen or an error of the cloud's API.
    Internal,
}

/// The exit codes as `--help` lists them (README's "Commands" says the same).
pub const EXIT_CODES_HELP: &str = "\
Exit status:
  0  success
  1  bad input (a flag, the spec, a file), a failed or timed-out `up`, or stale files
     under `render --check`
  2  internal error: a bug in k8sgen, or the cloud's API failed";

impl ExitStatus {
    pub fn code(self) -> u8 {
        match self {
            ExitStatus::Success => 0,
            ExitStatus::Failure => 1,
            ExitStatus::Internal => 2,
        }
    }
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> ExitCode {
        ExitCode::from(status.code())
    }
}

/// An error as the user reads it: what failed, the problems found (each with its own fix),
/// the chain of causes, and a hint for the whole.
pub struct Failure {
    message: String,
    problems: Vec<(String, String)>,
    source: Option<Box<dyn Error + 'static>>,
    hint: Option<String>,
    status: ExitStatus,
}

impl Failure {
    pub fn user(message: impl Into<String>) -> Failure {
        Failure {
            message: message.into(),
            problems: Vec::new(),
            source: None,
            hint: None,
            status: ExitStatus::Failure,
        }
    }
    pub fn internal(message: impl Into<String>) -> Failure {
        Failure {
            status: ExitStatus::Internal,
            ..Failure::user(message)
        }
    }
    pub fn hint(mut self, hint: impl Into<String>) -> Failure {
        self.hint = Some(hint.into());
        self
    }
    /// The error this one happened because of; its own `source()` chain is printed too.
    pub fn cause(mut self, cause: impl Into<Box<dyn Error + 'static>>) -> Failure {
        self.source = Some(cause.into());
        self
    }
    /// One of several problems, each with its fix (spec validation's format).
    pub fn problem(mut self, what: impl Into<String>, hint: impl Into<String>) -> Failure {
        self.problems.push((what.into(), hint.into()));
        self
    }
    pub fn status(&self) -> ExitStatus {
        self.status
    }

    /// The report printed on stderr.
    pub fn report(&self) -> String {
        let mut s = format!("error: {}\n", self.message);
        for (what, hint) in &self.problems {
            let _ = writeln!(s, "  {what}\n    hint: {hint}");
        }
        let mut cause = self.source.as_deref();
        while let Some(c) = cause {
            let _ = writeln!(s, "caused by: {c}");
            cause = c.source();
        }
        if let Some(h) = &self.hint {
            let _ = writeln!(s, "hint: {h}");
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn report_walks_the_source_chain_and_keeps_one_hint_format() {
        let inner = std::io::Error::other("disk on fire");
        let f = Failure::user("cannot write x")
            .problem("a: wrong", "fix a")
            .cause(Outer(inner))
            .hint("try again");
        assert_eq!(
            f.report(),
            "error: cannot write x\n  a: wrong\n    hint: fix a\ncaused by: outer\n\
             caused by: disk on fire\nhint: try again\n"
        );
        assert_eq!(f.status(), ExitStatus::Failure);
        assert_eq!(Failure::internal("x").status().code(), 2);
    }
}
