//! DESIGN.md's dependency rule, enforced: every `crate::…` and `super::…` path in `src/`
//! (in `use` items, expressions, types and macro bodies alike, found by Rust's own tokenizer,
//! so comments and strings never count) is resolved to the module it names, and each
//! top-level module may reach only the modules its row below lists. A failure lists every
//! offending `file:line`.
//!
//! Known violations sit in `KNOWN`, each naming its file; an entry that no longer matches
//! fails too, so the list only ever shrinks.

use proc_macro2::{Delimiter, TokenStream, TokenTree};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Every module of the compiler half and `up`'s may read the leaf `catalog`.
const COMPILER: &[&str] = &[
    "spec",
    "pki",
    "plan",
    "bundle",
    "render",
    "templates",
    "catalog",
    "problem",
];

/// What each top-level module may import besides itself.
fn may_import(from: &str) -> Vec<&'static str> {
    match from {
        // Named by DESIGN.md: "spec, pki, templates, providers import nothing internal but
        // the leaf catalog; plan uses spec+pki; bundle uses plan, pki, templates; render
        // uses only bundle; up uses the compiler and providers; nothing imports cli or up
        // except cli", and catalog "any stage may read".
        "catalog" => vec![],
        "spec" | "pki" => vec!["catalog", "problem"],
        "templates" | "providers" => vec!["catalog"],
        // Not in DESIGN.md: the leaf `problem` is the one format of an input file's
        // problems (field path, message, hint), shared by the two inputs, spec and pki.
        "problem" => vec![],
        "plan" => vec!["spec", "pki", "catalog", "problem"],
        "bundle" => vec!["plan", "pki", "templates", "catalog"],
        "render" => vec!["bundle", "catalog"],
        "up" => [COMPILER, &["compile", "providers", "fsio"]].concat(),
        "cli" => [
            COMPILER,
            &["compile", "providers", "fsio", "profiles", "up"],
        ]
        .concat(),
        // Not named by DESIGN.md; inferred from it:
        // - `compile` is the compiler in one call (spec -> plan -> bundle -> render), a pure
        //   function like its stages: no file I/O (`fsio`), no cloud, no `up`, no `cli`.
        "compile" => COMPILER.to_vec(),
        // - `fsio` is the file edge (atomic writes with a mode): a leaf. Only the edges do
        //   I/O, so only `up` and `cli` list it above.
        "fsio" => vec![],
        // - `profiles` are specs embedded in the binary: input, like a spec file, so they
        //   read only `spec` (and `catalog`), and only `cli` offers them; test modules may
        //   use them as fixtures (see `TEST_FIXTURES`).
        "profiles" => vec!["spec", "catalog"],
        other => panic!("src/{other}: a top-level module this test has no rule for; add its row"),
    }
}

/// What `#[cfg(test)]` modules may use besides their module's row: the shipped profiles
/// are the project's example specs.
const TEST_FIXTURES: &[&str] = &["profiles"];

/// Inside `up` (DESIGN.md's `up ── providers::{openstack, qemu} ── up::kube`): the
/// provider-neutral parts use no provider, and each driver only its own provider.
fn up_may_import(from: &str, to: &str) -> bool {
    let provider_of = |unit: &str| match unit {
        "up::openstack" | "providers::openstack" => Some("openstack"),
        "up::qemu" | "providers::qemu" => Some("qemu"),
        _ => None,
    };
    match (provider_of(from), provider_of(to)) {
        (_, None) => true,
        (None, Some(_)) => false,
        (Some(a), Some(b)) => a == b,
    }
}

/// Violations today, each to be removed with its fix (the test fails once it is fixed, so
/// the entry is not forgotten): (file, the unit it must not reach).
const KNOWN: &[(&str, &str)] = &[];

/// One path from a module to another.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Reach {
    file: String,
    line: usize,
    /// The module the path is written in, from the crate root.
    from: Vec<String>,
    /// The module path it names, from the crate root.
    to: Vec<String>,
    in_test: bool,
}

/// A module's unit for the rule: its top-level module, or `up::x` / `providers::x` for a
/// submodule of those two (where one provider must not reach another).
fn unit(path: &[String]) -> String {
    match path {
        [top, sub, ..]
            if ["up", "providers"].contains(&top.as_str()) && is_dir_module(top, sub) =>
        {
            format!("{top}::{sub}")
        }
        [top, ..] => top.clone(),
        [] => String::new(),
    }
}

fn is_dir_module(top: &str, sub: &str) -> bool {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(top);
    dir.join(format!("{sub}.rs")).is_file() || dir.join(sub).join("mod.rs").is_file()
}

fn allowed(reach: &Reach) -> bool {
    let (from, to) = (unit(&reach.from), unit(&reach.to));
    let (from_top, to_top) = (&reach.from[0], &reach.to[0]);
    if from_top == to_top {
        return from_top != "up" || up_may_import(&from, &to);
    }
    let listed = may_import(from_top).contains(&to_top.as_str())
        || reach.in_test && TEST_FIXTURES.contains(&to_top.as_str());
    listed && (from_top != "up" || up_may_import(&from, &to))
}

/// The module a file defines: `src/up/openstack/mod.rs` is `up::openstack`.
fn module_of(file: &Path) -> Vec<String> {
    let rel = file
        .strip_prefix(Path::new(env!("CARGO_MANIFEST_DIR")).join("src"))
        .unwrap();
    let mut path: Vec<String> = rel
        .with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().to_string())
        .collect();
    if path.last().is_some_and(|l| l == "mod") {
        path.pop();
    }
    path
}

/// Every `crate::…` / `super::…` path in `source`, written in module `module`.
fn reaches(file: &str, module: &[String], source: &str) -> Vec<Reach> {
    let tokens: TokenStream = source
        .parse()
        .unwrap_or_else(|e| panic!("{file}: cannot tokenize: {e:?}"));
    let mut found = Vec::new();
    scan(file, module, false, tokens, &mut found);
    found
}

fn scan(file: &str, module: &[String], in_test: bool, tokens: TokenStream, out: &mut Vec<Reach>) {
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    let mut cfg_test = false;
    let mut i = 0;
    while i < tokens.len() {
        match &tokens[i] {
            TokenTree::Group(g) if g.delimiter() == Delimiter::Bracket => {
                let attr: String = g.stream().to_string().split_whitespace().collect();
                cfg_test |= attr == "cfg(test)";
            }
            TokenTree::Ident(id) if id == "mod" => {
                if let (Some(TokenTree::Ident(name)), Some(TokenTree::Group(body))) =
                    (tokens.get(i + 1), tokens.get(i + 2))
                    && body.delimiter() == Delimiter::Brace
                {
                    let inner = [module, &[name.to_string()]].concat();
                    scan(file, &inner, in_test || cfg_test, body.stream(), out);
                    i += 3;
                    cfg_test = false;
                    continue;
                }
                cfg_test = false;
            }
            TokenTree::Ident(id)
                if (id == "crate" || id == "super") && is_path_sep(&tokens, i + 1) =>
            {
                let line = id.span().start().line;
                let (targets, next) = path_at(module, &tokens, i);
                for to in targets.into_iter().filter(|t| !t.is_empty()) {
                    out.push(Reach {
                        file: file.to_string(),
                        line,
                        from: module.to_vec(),
                        to,
                        in_test,
                    });
                }
                i = next;
                continue;
            }
            TokenTree::Group(g) => scan(file, module, in_test, g.stream(), out),
            TokenTree::Punct(p) if p.as_char() == ';' => cfg_test = false,
            _ => {}
        }
        i += 1;
    }
}

fn is_path_sep(tokens: &[TokenTree], i: usize) -> bool {
    matches!((tokens.get(i), tokens.get(i + 1)),
        (Some(TokenTree::Punct(a)), Some(TokenTree::Punct(b))) if a.as_char() == ':' && b.as_char() == ':')
}

/// The module paths named by the path starting at `tokens[start]` (several for a
/// `use crate::{a, b}` tree), and the index after it.
fn path_at(module: &[String], tokens: &[TokenTree], start: usize) -> (Vec<Vec<String>>, usize) {
    let mut base: Vec<String> = Vec::new();
    let mut i = start;
    let mut first = true;
    loop {
        match tokens.get(i) {
            Some(TokenTree::Ident(id)) if first && id == "crate" => {}
            Some(TokenTree::Ident(id)) if id == "super" => {
                if first {
                    base = module.to_vec();
                }
                base.pop();
            }
            Some(TokenTree::Ident(id)) if id != "self" => base.push(id.to_string()),
            Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Brace => {
                return (tree_items(&base, g.stream()), i + 1);
            }
            _ => return (vec![base], i),
        }
        first = false;
        if !is_path_sep(tokens, i + 1) {
            return (vec![base], i + 1);
        }
        i += 3;
    }
}

/// The leading module path of each item of a `{a::b, c, self}` use tree under `base`.
fn tree_items(base: &[String], tree: TokenStream) -> Vec<Vec<String>> {
    let tokens: Vec<TokenTree> = tree.into_iter().collect();
    tokens
        .split(|t| matches!(t, TokenTree::Punct(p) if p.as_char() == ','))
        .map(|item| {
            let mut path = base.to_vec();
            if let Some(TokenTree::Ident(id)) = item.first()
                && id != "self"
            {
                path.push(id.to_string());
            }
            path
        })
        .collect()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every path out of its own unit in `src/` (the library; `main.rs` is the binary and
/// `lib.rs` only declares the modules).
fn all_reaches() -> Vec<Reach> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    files.sort();
    let mut all = Vec::new();
    for file in files {
        let module = module_of(&file);
        if module == ["main"] || module == ["lib"] {
            continue;
        }
        let name = file.strip_prefix(root).unwrap().display().to_string();
        let source = std::fs::read_to_string(&file).unwrap();
        all.extend(reaches(&name, &module, &source));
    }
    all.retain(|r| unit(&r.from) != unit(&r.to));
    all
}

fn describe(r: &Reach) -> String {
    format!(
        "{}:{}: {} reaches {}{}",
        r.file,
        r.line,
        r.from.join("::"),
        r.to.join("::"),
        if r.in_test { " (in a test module)" } else { "" }
    )
}

#[test]
fn src_follows_the_dependency_rule() {
    let violations: Vec<Reach> = all_reaches().into_iter().filter(|r| !allowed(r)).collect();
    let known = |r: &Reach| KNOWN.contains(&(r.file.as_str(), unit(&r.to).as_str()));
    let new: Vec<String> = violations
        .iter()
        .filter(|r| !known(r))
        .map(describe)
        .collect();
    let stale: Vec<String> = KNOWN
        .iter()
        .filter(|(file, to)| {
            !violations
                .iter()
                .any(|r| r.file == *file && unit(&r.to) == *to)
        })
        .map(|(file, to)| format!("{file} -> {to}"))
        .collect();
    assert!(
        new.is_empty(),
        "imports that break DESIGN.md's dependency rule:\n  {}",
        new.join("\n  ")
    );
    assert!(
        stale.is_empty(),
        "fixed, so remove from KNOWN in tests/dependency_rule.rs:\n  {}",
        stale.join("\n  ")
    );
    let listed: BTreeSet<String> = violations.iter().map(describe).collect();
    println!(
        "known violations:\n  {}",
        listed.into_iter().collect::<Vec<_>>().join("\n  ")
    );
}

fn module(path: &str) -> Vec<String> {
    path.split("::").map(str::to_string).collect()
}

/// The scanner sees what a reviewer would: grouped `use` trees, `super` chains, inline
/// test modules, paths inside macros, and nothing in comments or strings.
#[test]
fn the_scanner_resolves_paths_as_rustc_does() {
    let source = r#"
        //! crate::cli in a comment
        use crate::{plan::Plan, bundle, self as me};
        use super::super::spec::ClusterSpec;
        fn f() { let _ = "crate::up"; format!("{}", crate::pki::x()); }
        #[cfg(test)]
        mod tests {
            use super::*;
            use crate::profiles::get;
        }
    "#;
    let found: Vec<(usize, String, bool)> = reaches("x.rs", &module("render::cloudinit"), source)
        .into_iter()
        .map(|r| (r.line, r.to.join("::"), r.in_test))
        .collect();
    assert_eq!(
        found,
        vec![
            (3, "plan".into(), false),
            (3, "bundle".into(), false),
            (4, "spec::ClusterSpec".into(), false),
            (5, "pki::x".into(), false),
            (8, "render::cloudinit".into(), true),
            (9, "profiles::get".into(), true),
        ]
    );
}

/// The rule refuses what DESIGN.md forbids, so the main test can fail.
#[test]
fn the_rule_refuses_what_design_forbids() {
    let reach = |from: &str, to: &str, in_test: bool| Reach {
        file: "x.rs".into(),
        line: 1,
        from: module(from),
        to: module(to),
        in_test,
    };
    for (from, to) in [
        ("render::cloudinit", "providers::openstack::api"),
        ("providers::openstack::nova", "render::NOVA_USER_DATA_LIMIT"),
        ("plan", "bundle::NodeBundle"),
        ("spec::validate", "pki::Secrets"),
        ("compile", "up::openstack"),
        ("compile", "fsio::write_atomic"),
        ("up::kube", "providers::openstack::api"),
        ("up::openstack::cloud", "up::qemu"),
        ("up::qemu", "providers::openstack"),
        ("render", "cli::output"),
        ("render", "profiles"),
    ] {
        assert!(!allowed(&reach(from, to, false)), "{from} -> {to} passed");
    }
    for (from, to) in [
        ("cli::commands::render", "up::openstack::record"),
        ("up::openstack::cloud", "providers::openstack::auth"),
        ("up::openstack", "up::progress"),
        ("up::qemu", "compile"),
        ("bundle::common", "catalog"),
        ("plan::leaves", "pki"),
    ] {
        assert!(allowed(&reach(from, to, false)), "{from} -> {to} refused");
    }
    assert!(allowed(&reach("up::openstack::design", "profiles", true)));
    assert!(!allowed(&reach("up::openstack::design", "profiles", false)));
}
