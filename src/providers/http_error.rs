//! What any HTTP client of k8sgen shows of a failed call: the transport error with its
//! sources, and the human message of an error body. Shared by the cloud clients and
//! `up::kube`; knows no service's API beyond where error bodies put their message.

use serde_json::Value;

/// reqwest's error with its sources ("connection reset by peer" sits a few levels down).
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Longest message shown of an error body, in characters.
const MAX_MESSAGE: usize = 300;

/// Shortest run of base64 characters taken for encoded data rather than words.
const ENCODED_RUN: usize = 100;

/// The machine-readable kind of an error body, where the service gives one: Neutron's
/// `{"NeutronError": {"type": "OverQuota"}}`, the exception's class name
/// (`OverQuota` and `IpAddressAlreadyAllocated` are both 409s).
pub fn kind(body: &str) -> Option<String> {
    let v = serde_json::from_str::<Value>(body).ok()?;
    Some(v.get("NeutronError")?.get("type")?.as_str()?.to_string())
}

/// The human part of an error body: Kubernetes `{"message"}`, Nova `{"badRequest":
/// {"message"}}`, Neutron `{"NeutronError": {"message"}}`, Keystone `{"error":
/// {"message"}}`; else the start of the text. Encoded data is cut out and the rest capped:
/// Nova's schema errors echo the value they refused ("Invalid input for field/attribute
/// server. Value: {...}", nova/api/validation/validators.py), which for a server is the
/// whole create body, user-data and its keys included.
pub fn message(body: &str) -> String {
    cap(&redact_encoded(&human_part(body)))
}

fn human_part(body: &str) -> String {
    if let Ok(v) = serde_json::from_str::<Value>(body)
        && let Some(obj) = v.as_object()
    {
        let nested = obj.values().filter_map(|inner| inner.get("message"));
        for m in obj.get("message").into_iter().chain(nested) {
            if let Some(m) = m.as_str() {
                return m.to_string();
            }
        }
    }
    body.chars()
        .take(200)
        .collect::<String>()
        .trim()
        .to_string()
}

/// `text` with every run of at least `ENCODED_RUN` base64 characters replaced by a note.
fn redact_encoded(text: &str) -> String {
    let is_b64 = |c: char| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=');
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.chars().count() >= ENCODED_RUN {
            out.push_str(&format!(
                "[{} encoded characters not shown]",
                run.chars().count()
            ));
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in text.chars() {
        if is_b64(c) {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// At most `MAX_MESSAGE` characters, marked when cut.
fn cap(text: &str) -> String {
    if text.chars().count() <= MAX_MESSAGE {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(MAX_MESSAGE).collect();
    cut.push_str(" […]");
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neutron_error_bodies_give_their_type() {
        let body = r#"{"NeutronError": {"type": "OverQuota", "message": "Quota exceeded"}}"#;
        assert_eq!(kind(body).as_deref(), Some("OverQuota"));
        assert_eq!(kind(r#"{"badRequest": {"message": "m"}}"#), None);
        assert_eq!(kind("<html>"), None);
    }

    #[test]
    fn error_bodies_give_their_message() {
        for (body, want) in [
            (
                r#"{"NeutronError": {"type": "X", "message": "Quota exceeded"}}"#,
                "Quota exceeded",
            ),
            (
                r#"{"badRequest": {"message": "Invalid flavor", "code": 400}}"#,
                "Invalid flavor",
            ),
            (
                r#"{"error": {"message": "The request you have made requires authentication.", "code": 401}}"#,
                "The request you have made requires authentication.",
            ),
            (
                r#"{"kind": "Status", "message": "nodes \"x\" not found", "code": 404}"#,
                "nodes \"x\" not found",
            ),
            ("  <html>Bad Gateway</html>\n", "<html>Bad Gateway</html>"),
        ] {
            assert_eq!(message(body), want, "{body}");
        }
    }

    /// Nova's answer to a server body it refuses echoes the body: user-data (base64 of the
    /// node's keys) must not reach the terminal, and no message floods it.
    #[test]
    fn echoed_user_data_is_cut_out_and_long_messages_capped() {
        let user_data =
            "I2Nsb3VkLWNvbmZpZwp3cml0ZV9maWxlczoKLSBwYXRoOiAvZXRjL2t1YmVybmV0ZXMvcGtpL2NhLmtleQo="
                .repeat(4);
        let body = serde_json::json!({"badRequest": {"code": 400, "message": format!(
            "Invalid input for field/attribute server. Value: {{'name': 'demo-master-1', 'user_data': '{user_data}', 'flavorRef': 'x'}}. Additional properties are not allowed"
        )}})
        .to_string();
        let shown = message(&body);
        assert!(!shown.contains(&user_data[..40]), "{shown}");
        assert!(shown.contains("encoded characters not shown"), "{shown}");
        assert!(shown.starts_with("Invalid input for field/attribute server."));
        let long = serde_json::json!({"badRequest": {"message": "word ".repeat(200)}}).to_string();
        assert!(message(&long).chars().count() <= MAX_MESSAGE + 4);
        // Ordinary identifiers stay.
        let id = "Port 3f1c2a5e-0d7b-4c7e-9a55-1c2b3d4e5f60 is still in use.";
        assert_eq!(
            message(&format!(r#"{{"NeutronError": {{"message": "{id}"}}}}"#)),
            id
        );
    }
}
