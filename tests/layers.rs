//! The module layout stays layered: no cycle between the crate's top-level modules, and the
//! engine uses nothing of the crate outside itself (it is the pure part, see README's layout).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// `module -> modules it names` for every top-level module under `src/`, from `crate::x` paths
/// outside comments (including `crate::{x, y}` groups).
fn edges() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let relative = path.strip_prefix(&src).unwrap();
            let first = relative.components().next().unwrap().as_os_str();
            let module = first.to_string_lossy().trim_end_matches(".rs").to_string();
            let code = std::fs::read_to_string(&path).unwrap();
            let used = edges.entry(module.clone()).or_default();
            for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
                for (i, _) in line.match_indices("crate::") {
                    let rest = &line[i + "crate::".len()..];
                    let names: Vec<&str> = match rest.strip_prefix('{') {
                        Some(group) => group.split('}').next().unwrap().split(',').collect(),
                        None => vec![rest],
                    };
                    for name in names {
                        let name: String = name
                            .trim()
                            .chars()
                            .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                            .collect();
                        if !name.is_empty() && name != module {
                            used.insert(name);
                        }
                    }
                }
            }
        }
    }
    edges
}

#[test]
fn top_level_modules_form_no_cycle() {
    let edges = edges();
    // Depth-first search for a path back to the start.
    for start in edges.keys() {
        let mut stack = vec![vec![start.clone()]];
        while let Some(path) = stack.pop() {
            let last = path.last().unwrap();
            for next in edges.get(last).into_iter().flatten() {
                assert!(
                    next != start,
                    "module cycle: {} -> {start}",
                    path.join(" -> ")
                );
                if !path.contains(next) {
                    let mut longer = path.clone();
                    longer.push(next.clone());
                    stack.push(longer);
                }
            }
        }
    }
}

#[test]
fn the_engine_uses_nothing_outside_itself() {
    let edges = edges();
    assert!(edges.contains_key("engine"));
    assert_eq!(edges["engine"], BTreeSet::new(), "engine imports");
    assert!(edges["service"].contains("engine"), "the scan sees imports");
}
