//! The text templates for file contents that are not YAML or JSON documents: shell scripts,
//! systemd units, haproxy and cloud.conf. Embedded at build time from `src/templates/` and
//! rendered with strict undefined behaviour, so a misspelled variable is an error, never an
//! empty string. Knows nothing of plans or bundles: callers pass a serializable context.

use minijinja::{AutoEscape, Environment, UndefinedBehavior, syntax::SyntaxConfig};
use serde::Serialize;
use std::sync::OnceLock;

const TEMPLATES: &[(&str, &str)] = &[
    ("bootstrap.sh", include_str!("templates/bootstrap.sh.j2")),
    (
        "steps/host-prep.sh",
        include_str!("templates/steps/host-prep.sh.j2"),
    ),
    (
        "steps/admin-network.sh",
        include_str!("templates/steps/admin-network.sh.j2"),
    ),
    (
        "steps/packages.sh",
        include_str!("templates/steps/packages.sh.j2"),
    ),
    (
        "steps/runtime.sh",
        include_str!("templates/steps/runtime.sh.j2"),
    ),
    ("steps/etcd.sh", include_str!("templates/steps/etcd.sh.j2")),
    (
        "steps/control-plane.sh",
        include_str!("templates/steps/control-plane.sh.j2"),
    ),
    (
        "steps/cluster-addons.sh",
        include_str!("templates/steps/cluster-addons.sh.j2"),
    ),
    ("steps/join.sh", include_str!("templates/steps/join.sh.j2")),
    (
        "k8sgen-bootstrap.service",
        include_str!("templates/k8sgen-bootstrap.service.j2"),
    ),
    (
        "k8sgen-metadata-block.service",
        include_str!("templates/k8sgen-metadata-block.service.j2"),
    ),
    (
        "k8sgen-apiserver-lb.service",
        include_str!("templates/k8sgen-apiserver-lb.service.j2"),
    ),
    (
        "k8sgen-etcd.service",
        include_str!("templates/k8sgen-etcd.service.j2"),
    ),
    ("haproxy.cfg", include_str!("templates/haproxy.cfg.j2")),
    ("cloud.conf", include_str!("templates/cloud.conf.j2")),
    (
        "steps/packages-flatcar.sh",
        include_str!("templates/steps/packages-flatcar.sh.j2"),
    ),
    (
        "k8sgen-apiserver-lb-ctr.service",
        include_str!("templates/k8sgen-apiserver-lb-ctr.service.j2"),
    ),
    (
        "kubelet-flatcar.service",
        include_str!("templates/kubelet-flatcar.service.j2"),
    ),
    (
        "kubelet-kubeadm-dropin.conf",
        include_str!("templates/kubelet-kubeadm-dropin.conf.j2"),
    ),
    (
        "steps/kubernetes.sh",
        include_str!("templates/steps/kubernetes.sh.j2"),
    ),
    (
        "steps/kubernetes-flatcar.sh",
        include_str!("templates/steps/kubernetes-flatcar.sh.j2"),
    ),
];

/// A template failed to render: a bug in k8sgen, reported with the template's name.
#[derive(Debug, thiserror::Error)]
#[error("template {name}: {detail}")]
pub struct TemplateError {
    pub name: String,
    pub detail: String,
}

fn environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        // minijinja would JSON-escape `*.yaml`/`*.json` names; these are plain text.
        env.set_auto_escape_callback(|_| AutoEscape::None);
        env.set_syntax(
            SyntaxConfig::builder()
                .keep_trailing_newline(true)
                .build()
                .expect("default syntax is valid"),
        );
        for (name, source) in TEMPLATES {
            env.add_template(name, source)
                .unwrap_or_else(|e| panic!("embedded template {name} does not parse: {e:#}"));
        }
        env
    })
}

/// Render the embedded template `name` with `context`.
pub fn render(name: &str, context: impl Serialize) -> Result<String, TemplateError> {
    let err = |e: minijinja::Error| TemplateError {
        name: name.into(),
        detail: format!("{e:#}"),
    };
    let template = environment().get_template(name).map_err(err)?;
    template
        .render(minijinja::value::Serde(&context))
        .map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_parses() {
        for (name, _) in TEMPLATES {
            environment().get_template(name).unwrap();
        }
    }

    #[test]
    fn undefined_variables_are_errors() {
        let e = render("haproxy.cfg", serde_json::json!({})).unwrap_err();
        assert!(e.detail.contains("undefined"), "{e}");
    }
}
