//! The architecture's rules, checked on the source text (production code,
//! before any `#[cfg(test)]`, without comments):
//! - the engine stays pure: `fingerprint`, `index` and `matcher` compute on
//!   values they are given and may not reach for files, the network,
//!   processes, the environment, the clock, randomness, async or the
//!   database;
//! - the modules of `src/` form layers (ARCHITECTURE.md, "Layers"): a module
//!   imports only modules of its own layer or below, and the import graph
//!   has no cycle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const ENGINE: &[&str] = &["src/fingerprint", "src/index.rs", "src/matcher.rs"];

const FORBIDDEN: &[(&str, &str)] = &[
    ("std::fs", "file I/O"),
    ("std::io", "I/O"),
    ("std::net", "the network"),
    ("std::process", "processes"),
    ("std::env", "the environment"),
    ("std::thread", "threads"),
    ("std::time", "the clock"),
    ("SystemTime", "the clock"),
    ("Instant", "the clock"),
    ("chrono", "the clock"),
    ("fastrand", "randomness"),
    ("rand::", "randomness"),
    ("uuid", "randomness and the clock"),
    ("tokio", "async"),
    ("async ", "async"),
    (".await", "async"),
    ("sqlx", "the database"),
    ("reqwest", "the network"),
    ("crate::store", "the database"),
    ("crate::media", "file I/O (decoding)"),
    ("crate::config", "configuration loading"),
];

fn rust_files(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_dir() {
        for entry in std::fs::read_dir(path).unwrap() {
            rust_files(&entry.unwrap().path(), out);
        }
    } else if path.extension().is_some_and(|e| e == "rs") {
        out.push(path.to_path_buf());
    }
}

/// The file's code before its first `#[cfg(test)]`, without comments.
fn production_code(text: &str) -> String {
    let end = text.find("#[cfg(test)]").unwrap_or(text.len());
    text[..end]
        .lines()
        .map(|line| match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_engine_does_no_io_clock_randomness_or_async() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for part in ENGINE {
        rust_files(&root.join(part), &mut files);
    }
    assert!(files.len() >= 5, "engine files not found: {files:?}");
    let mut found = Vec::new();
    for file in &files {
        let code = production_code(&std::fs::read_to_string(file).unwrap());
        for (token, what) in FORBIDDEN {
            if let Some(line) = code.lines().position(|l| l.contains(token)) {
                found.push(format!(
                    "{}:{}: `{token}` ({what})",
                    file.strip_prefix(root).unwrap().display(),
                    line + 1
                ));
            }
        }
    }
    assert!(
        found.is_empty(),
        "the engine must stay pure:\n{}",
        found.join("\n")
    );
}

/// The layers, lowest first; a module may import its own layer and below.
const LAYERS: &[&[&str]] = &[
    // Leaf types and pure code: no I/O beyond decoding, no store.
    &[
        "domain",
        "clock",
        "crontab",
        "chain",
        "source_config",
        "bounds",
        "secret",
        "fingerprint",
        "index",
        "matcher",
        "media",
    ],
    // The database, the guard every outbound connection goes through, and
    // trusted time.
    &["store", "ssrf", "timestamp"],
    // Wiring the engine to the store; where candidates come from.
    &["engine", "sources", "shapes", "blobs"],
    &["provenance"],
    &["evidence"],
    &["alerts"],
    &["daemon", "http"],
    // The whole configuration (it names every section), local stand-ins,
    // the fuzz targets' entry points.
    &["config", "testkit", "fuzzing"],
    &["cli"],
    &["main"],
];

/// The top-level modules each module of `src/` imports (`crate::NAME`).
fn module_imports(root: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    let mut imports: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let relative = file.strip_prefix(root.join("src")).unwrap();
        let first = relative.components().next().unwrap().as_os_str();
        let module = first.to_string_lossy().trim_end_matches(".rs").to_string();
        if module == "lib" {
            continue;
        }
        let code = production_code(&std::fs::read_to_string(&file).unwrap());
        let used = imports.entry(module.clone()).or_default();
        for name in imported_modules(&code) {
            if name != module {
                used.insert(name);
            }
        }
    }
    imports
}

/// The module names after `crate::` (also in `crate::{a, b::c}` lists).
fn imported_modules(code: &str) -> Vec<String> {
    let ident = |text: &str| -> String {
        text.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut names = Vec::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        if let Some(list) = rest.strip_prefix('{') {
            let list = &list[..list.find('}').unwrap_or(list.len())];
            names.extend(list.split(',').map(|item| ident(item.trim())));
        } else {
            names.push(ident(rest));
        }
    }
    names.retain(|n| !n.is_empty() && n != "self");
    names
}

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

/// A cycle in `graph`, as the modules along it, if there is one.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

#[test]
fn modules_import_only_their_layer_and_below_without_cycles() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let imports = module_imports(root);
    assert!(imports.len() >= 15, "modules not found: {imports:?}");
    let mut problems = Vec::new();
    for (module, used) in &imports {
        let Some(layer) = layer_of(module) else {
            problems.push(format!(
                "{module} is in no layer: add it to LAYERS and ARCHITECTURE.md"
            ));
            continue;
        };
        for name in used {
            match layer_of(name) {
                Some(other) if other > layer => problems.push(format!(
                    "{module} (layer {layer}) imports {name} (layer {other}), a higher layer"
                )),
                None => problems.push(format!("{module} imports {name}, which is in no layer")),
                _ => {}
            }
        }
    }
    if let Some(cycle) = find_cycle(&imports) {
        problems.push(format!("import cycle: {}", cycle.join(" -> ")));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_layer_check_sees_imports_and_cycles() {
    assert_eq!(
        imported_modules("use crate::store::Store;\nuse crate::{clock, domain::JobKind};"),
        vec!["store", "clock", "domain"]
    );
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("a", vec!["b"]),
        ("b", vec!["c"]),
        ("c", vec!["a"]),
        ("d", vec![]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.into_iter().map(str::to_string).collect()))
    .collect();
    assert_eq!(
        find_cycle(&graph),
        Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
    );
    let acyclic: BTreeMap<String, BTreeSet<String>> = [("a", vec!["b"]), ("b", vec![])]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.into_iter().map(str::to_string).collect()))
        .collect();
    assert_eq!(find_cycle(&acyclic), None);
}

#[test]
fn the_check_sees_a_forbidden_import() {
    let code = production_code("use std::fs;\n// std::net in a comment\n#[cfg(test)]\nuse tokio;");
    assert!(code.contains("std::fs"));
    assert!(!code.contains("std::net"));
    assert!(!code.contains("tokio"));
}
