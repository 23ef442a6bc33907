//! The checker's modules form layers: `commands` → `report` → `workbook` → `machine` → `usage_error`.
//! Every `crate::…` path (in `use` items, in code and inside macros) is an arrow between modules;
//! this test parses `xtask/src` with syn and fails on an arrow that points up a layer, or on a
//! cycle among modules. The room's server (`tools/room`, the `workshop_room` crate) has layers of
//! its own, `cli` → `server` → `agenda` → `page` → `state` → `record`; the checker uses it and never the
//! reverse, and each of its modules only from the checker's layer that matches it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use syn::visit::Visit;

/// Lowest first; a module may use its own layer and the ones below it.
const LAYERS: &[&str] = &["usage_error", "machine", "workbook", "report", "commands"];
/// The room server's layers, lowest first.
const ROOM_LAYERS: &[&str] = &["record", "state", "page", "agenda", "server", "cli"];
/// Which of the checker's layers may first use each of the room crate's modules:
/// the record is plain data, the state the room's, the pages and the agenda reports, serving a command.
const ROOM_USED_FROM: &[(&str, &str)] =
    &[("record", "machine"), ("state", "workbook"), ("page", "report"), ("agenda", "report"), ("server", "commands"), ("cli", "commands")];

/// `machine::host` for `machine/host.rs`, `machine` for `machine/mod.rs`, "" (the crate root) for `main.rs` or `lib.rs`.
fn module_of(relative: &Path) -> String {
    let mut parts: Vec<String> = relative.with_extension("").iter().map(|p| p.to_string_lossy().into_owned()).collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "main" | "lib")) {
        parts.pop();
    }
    parts.join("::")
}

/// The layer's rank in `layers`; the crate root (`main.rs`, `lib.rs`) sits above every layer.
fn rank(layers: &[&str], module: &str) -> usize {
    let top = module.split("::").next().unwrap_or_default();
    layers.iter().position(|l| *l == top).unwrap_or(layers.len())
}

fn rust_files(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
}

/// Collects the paths a file names: `use` trees, paths in code, and `crate :: a :: b` inside macro tokens.
struct Paths {
    /// Where the current item sits: the file's module plus any inline `mod` around it.
    scope: Vec<String>,
    found: Vec<(Vec<String>, Vec<String>)>,
}

impl Paths {
    fn record(&mut self, segments: Vec<String>) {
        if matches!(segments.first().map(String::as_str), Some("crate" | "super" | "self")) || segments.len() > 1 {
            self.found.push((self.scope.clone(), segments));
        }
    }

    fn use_tree(&mut self, prefix: Vec<String>, tree: &syn::UseTree) {
        match tree {
            syn::UseTree::Path(p) => {
                let mut next = prefix;
                next.push(p.ident.to_string());
                self.use_tree(next, &p.tree);
            }
            syn::UseTree::Name(n) => self.record(with(prefix, &n.ident.to_string())),
            syn::UseTree::Rename(r) => self.record(with(prefix, &r.ident.to_string())),
            syn::UseTree::Glob(_) => self.record(prefix),
            syn::UseTree::Group(g) => g.items.iter().for_each(|item| self.use_tree(prefix.clone(), item)),
        }
    }

    /// Paths inside a macro's tokens: runs of `ident :: ident …` that start at `crate` or `super`.
    fn macro_tokens(&mut self, tokens: proc_macro2::TokenStream) {
        let (mut run, mut colons) = (Vec::<String>::new(), 0);
        for token in tokens {
            match token {
                proc_macro2::TokenTree::Ident(ident) => {
                    if run.is_empty() || colons != 2 {
                        self.flush(&mut run);
                    }
                    run.push(ident.to_string());
                    colons = 0;
                }
                proc_macro2::TokenTree::Punct(p) if p.as_char() == ':' && !run.is_empty() => colons += 1,
                proc_macro2::TokenTree::Group(group) => {
                    self.flush(&mut run);
                    self.macro_tokens(group.stream());
                }
                _ => self.flush(&mut run),
            }
        }
        self.flush(&mut run);
    }

    fn flush(&mut self, run: &mut Vec<String>) {
        if run.len() > 1 && (run[0] == "crate" || run[0] == "super") {
            self.record(run.clone());
        }
        run.clear();
    }
}

fn with(mut prefix: Vec<String>, last: &str) -> Vec<String> {
    if last != "self" {
        prefix.push(last.to_string());
    }
    prefix
}

impl<'ast> Visit<'ast> for Paths {
    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        self.use_tree(Vec::new(), &item.tree);
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        self.record(path.segments.iter().map(|s| s.ident.to_string()).collect());
        syn::visit::visit_path(self, path);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        self.macro_tokens(mac.tokens.clone());
        syn::visit::visit_macro(self, mac);
    }

    /// `pub(crate)` and `pub(super)` say who may see an item, not what it uses.
    fn visit_visibility(&mut self, _: &'ast syn::Visibility) {}

    fn visit_item_mod(&mut self, item: &'ast syn::ItemMod) {
        self.scope.push(item.ident.to_string());
        syn::visit::visit_item_mod(self, item);
        self.scope.pop();
    }
}

/// Resolves `segments`, written in `scope`, to the innermost known module it names;
/// None when the path leaves the crate (std, another crate, a local name).
fn target(modules: &BTreeSet<String>, scope: &[String], segments: &[String]) -> Option<String> {
    let mut absolute = scope.to_vec();
    let rest = match segments.first().map(String::as_str) {
        Some("crate") => {
            absolute.clear();
            &segments[1..]
        }
        Some("self") => &segments[1..],
        Some("super") => {
            let ups = segments.iter().take_while(|s| *s == "super").count();
            absolute.truncate(absolute.len().saturating_sub(ups));
            &segments[ups..]
        }
        // A relative path reaches into the crate only through a child module of where it is written.
        Some(first) if modules.contains(&join(&[scope.to_vec(), vec![first.to_string()]].concat())) => segments,
        _ => return None,
    };
    absolute.extend(rest.iter().cloned());
    // The longest prefix that is a module; inline modules (`mod tests`) count as their file's.
    (0..=absolute.len()).rev().map(|n| join(&absolute[..n])).find(|m| modules.contains(m))
}

fn join(path: &[String]) -> String {
    path.join("::")
}

/// Every path a file under `src` names, with the module it is written in.
fn named_paths(src: &Path) -> Vec<(String, Vec<String>, Vec<String>)> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut named = Vec::new();
    for file in &files {
        let module = module_of(file.strip_prefix(src).unwrap());
        let text = std::fs::read_to_string(file).unwrap();
        let syntax = syn::parse_file(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let scope: Vec<String> = if module.is_empty() { vec![] } else { module.split("::").map(str::to_string).collect() };
        let mut paths = Paths { scope, found: Vec::new() };
        paths.visit_file(&syntax);
        named.extend(paths.found.into_iter().map(|(scope, segments)| (module.clone(), scope, segments)));
    }
    named
}

/// Every arrow (from module, to module) in the crate under `src`, without arrows to itself.
fn arrows(src: &Path) -> BTreeSet<(String, String)> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let modules: BTreeSet<String> = files.iter().map(|f| module_of(f.strip_prefix(src).unwrap())).collect();
    let mut arrows = BTreeSet::new();
    for (module, scope, segments) in named_paths(src) {
        if let Some(to) = target(&modules, &scope, &segments) {
            if to != module {
                arrows.insert((module, to));
            }
        }
    }
    arrows
}

fn name(module: &str) -> &str {
    if module.is_empty() {
        "crate root (main.rs)"
    } else {
        module
    }
}

/// What is wrong with the crate's imports: upward arrows, then cycles.
fn problems(src: &Path, layers: &[&str]) -> Vec<String> {
    let arrows = arrows(src);
    let mut problems: Vec<String> = arrows
        .iter()
        .filter(|(from, to)| rank(layers, to) > rank(layers, from))
        .map(|(from, to)| format!("{} imports {}, a higher layer", name(from), name(to)))
        .collect();
    let mut next: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (from, to) in &arrows {
        next.entry(from).or_default().push(to);
    }
    problems
        .extend(cycles(&next).into_iter().map(|c| format!("import cycle: {}", c.iter().map(|m| name(m)).collect::<Vec<_>>().join(" → "))));
    problems
}

/// One cycle per strongly connected group of modules, found by depth-first search.
fn cycles<'a>(next: &BTreeMap<&'a str, Vec<&'a str>>) -> Vec<Vec<&'a str>> {
    fn walk<'a>(
        at: &'a str,
        next: &BTreeMap<&'a str, Vec<&'a str>>,
        stack: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
        found: &mut Vec<Vec<&'a str>>,
    ) {
        if let Some(i) = stack.iter().position(|m| *m == at) {
            let mut cycle = stack[i..].to_vec();
            cycle.push(at);
            found.push(cycle);
            return;
        }
        if !done.insert(at) {
            return;
        }
        stack.push(at);
        for to in next.get(at).into_iter().flatten() {
            walk(to, next, stack, done, found);
        }
        stack.pop();
    }
    let (mut done, mut found) = (BTreeSet::new(), Vec::new());
    for start in next.keys() {
        walk(start, next, &mut Vec::new(), &mut done, &mut found);
    }
    found
}

fn source() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn room_source() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tools/room/src")
}

#[test]
fn imports_point_down_the_layers_without_cycles() {
    let problems = problems(&source(), LAYERS);
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
    let problems = problems_of_room(&source(), &room_source());
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

/// The room crate's own upward arrows and cycles; a path of it that names the
/// checker; and each use of it from a checker layer below the one it belongs to.
fn problems_of_room(checker: &Path, room: &Path) -> Vec<String> {
    let mut problems: Vec<String> = problems(room, ROOM_LAYERS).into_iter().map(|p| format!("workshop_room: {p}")).collect();
    for (module, _, segments) in named_paths(room) {
        if segments.first().is_some_and(|s| s == "xtask") {
            problems.push(format!("workshop_room::{} names the checker: {}", name(&module), segments.join("::")));
        }
    }
    for (module, _, segments) in named_paths(checker) {
        if segments.first().map(String::as_str) != Some("workshop_room") {
            continue;
        }
        let Some(used) = segments.get(1) else { continue };
        let Some((_, lowest)) = ROOM_USED_FROM.iter().find(|(m, _)| m == used) else {
            problems.push(format!("{} uses workshop_room::{used}, a module of no known layer", name(&module)));
            continue;
        };
        if rank(LAYERS, &module) < rank(LAYERS, lowest) {
            problems.push(format!("{} uses workshop_room::{used}, which belongs to {lowest} and above", name(&module)));
        }
    }
    problems
}

#[test]
fn the_parse_sees_the_arrows_the_code_has() {
    let arrows = arrows(&source());
    let has = |from: &str, to: &str| arrows.contains(&(from.to_string(), to.to_string()));
    // A grouped `use`, a path in code, a path inside a macro, and a crate-root item.
    assert!(has("commands::doctor", "machine::host"));
    assert!(has("workbook::run", "machine::vm"));
    assert!(has("commands::check", "report::json"));
    assert!(has("machine::kernels", "usage_error"));
    assert!(has("", "commands::check"));
    assert!(arrows.len() > 60, "only {} arrows found", arrows.len());
}

/// A small crate in a temporary folder, written from (path, text) pairs.
fn fixture(name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("layers").join(name);
    if dir.exists() {
        std::fs::remove_dir_all(&dir).unwrap();
    }
    for (path, text) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

#[test]
fn an_upward_import_and_a_cycle_fail() {
    let src = fixture(
        "bad",
        &[
            ("main.rs", "mod machine; mod workbook; fn main() {}"),
            ("machine/mod.rs", "pub mod host; pub mod vm;"),
            // Upward, written inside a macro: machine must not know workbook.
            ("machine/host.rs", "pub fn f() { println!(\"{}\", crate::workbook::lessons::COUNT); }"),
            ("machine/vm.rs", "use super::host; pub fn g() { host::f(); crate::machine::host::f(); }"),
            ("workbook/mod.rs", "pub mod lessons;"),
            // A cycle inside one layer.
            ("workbook/lessons.rs", "use crate::{machine::vm, workbook::progress}; pub const COUNT: u8 = 1;"),
            ("workbook/progress.rs", "pub fn p() { crate::workbook::lessons::COUNT; }"),
        ],
    );
    std::fs::write(src.join("workbook/mod.rs"), "pub mod lessons; pub mod progress;").unwrap();
    let found = problems(&src, LAYERS);
    assert!(found.contains(&"machine::host imports workbook::lessons, a higher layer".to_string()), "{found:?}");
    assert!(
        found.iter().any(|p| p.starts_with("import cycle:") && p.contains("workbook::lessons") && p.contains("workbook::progress")),
        "{found:?}"
    );
    let good = fixture("good", &[("main.rs", "mod machine; fn main() { machine::f(); }"), ("machine/mod.rs", "pub fn f() {}")]);
    assert_eq!(problems(&good, LAYERS), Vec::<String>::new());
}

#[test]
fn the_room_crate_points_one_way_and_its_modules_are_used_from_their_layer() {
    let room = arrows(&room_source());
    let has = |from: &str, to: &str| room.contains(&(from.to_string(), to.to_string()));
    assert!(has("server", "state") && has("page", "record") && has("cli", "server"), "{room:?}");

    let checker = fixture(
        "room-checker",
        &[
            ("main.rs", "mod machine; mod report; fn main() {}"),
            // The pages are a report's: the machine layer may not draw them.
            ("machine/mod.rs", "use workshop_room::record::Record; pub fn f() { workshop_room::page::count(1, \"a\", \"b\"); }"),
            ("report/mod.rs", "use workshop_room::page; use workshop_room::state::Room;"),
        ],
    );
    let room = fixture(
        "room-crate",
        &[
            ("lib.rs", "pub mod record; pub mod state;"),
            ("record.rs", "pub fn f() { crate::state::g(); xtask::commands::check(); }"),
            ("state.rs", "pub fn g() {}"),
        ],
    );
    let found = problems_of_room(&checker, &room);
    assert!(found.contains(&"workshop_room: record imports state, a higher layer".to_string()), "{found:?}");
    assert!(found.iter().any(|p| p.starts_with("workshop_room::record names the checker")), "{found:?}");
    assert!(found.contains(&"machine uses workshop_room::page, which belongs to report and above".to_string()), "{found:?}");
    assert_eq!(found.len(), 3, "{found:?}");
}
