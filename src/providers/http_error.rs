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

/// The human part of an error body: Kubernetes `{"message"}`, Nova `{"badRequest":
/// {"message"}}`, Neutron `{"NeutronError": {"message"}}`, Keystone `{"error":
/// {"message"}}`; else the start of the text.
pub fn message(body: &str) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
