//! Builds the single-page app before `tessera serve` when it is missing or older than its
//! sources, so that the README's one run command serves the current app on a fresh checkout.
//!
//! It applies only where the sources are: `TESSERA_FRONTEND_DIR`'s parent holds a
//! `package.json` (the repository's `frontend/`). A deployment ships `dist` alone (the Docker
//! image, or the release binary with the app embedded) and never builds anything.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

use anyhow::{bail, Context};

/// What the SPA's sources are: a change to any of them makes `dist` stale. Tests, lint
/// configuration and the generated artifacts are not part of the build.
const SOURCES: &[&str] = &[
    "src",
    "public",
    "index.html",
    "package.json",
    "package-lock.json",
    "vite.config.ts",
    "tsconfig.json",
    "tsconfig.app.json",
    "tsconfig.node.json",
];

/// Whether and how the app needs building, decided from the file system alone.
#[derive(Debug, PartialEq, Eq)]
pub enum Freshness {
    /// No sources beside `dist` (a deployment): nothing to build.
    NoSources,
    /// `dist/index.html` is newer than every source.
    Fresh,
    /// `dist` is missing or older than a source.
    Stale {
        /// The folder of the sources (where npm runs).
        root: PathBuf,
        /// Why, for the log: what is missing or which source changed.
        reason: String,
    },
}

/// Compares `dist/index.html` with the newest source file of the app in `dist`'s parent.
pub fn freshness(dist: &Path) -> Freshness {
    let Some(root) = dist.parent().filter(|p| p.join("package.json").is_file()) else {
        return Freshness::NoSources;
    };
    let built = match modified(&dist.join("index.html")) {
        Some(t) => t,
        None => {
            return Freshness::Stale {
                root: root.to_path_buf(),
                reason: format!("{} is missing", dist.display()),
            }
        }
    };
    let mut newest: Option<(SystemTime, PathBuf)> = None;
    for name in SOURCES {
        newest_under(&root.join(name), &mut newest);
    }
    match newest {
        Some((t, path)) if t > built => Freshness::Stale {
            root: root.to_path_buf(),
            reason: format!("{} changed since the last build", path.display()),
        },
        _ => Freshness::Fresh,
    }
}

/// Builds the app with npm when [`freshness`] says it is stale: `npm ci` first when
/// `node_modules` is missing or older than the lock file, then `npm run build`. Without npm the
/// server still starts (the API works; `/` says how to build the app); a build that fails stops
/// start-up, since serving an app older than its sources would hide the failure.
pub fn build_if_stale(dist: &Path) -> anyhow::Result<()> {
    let (root, reason) = match freshness(dist) {
        Freshness::NoSources | Freshness::Fresh => return Ok(()),
        Freshness::Stale { root, reason } => (root, reason),
    };
    let root = root.as_path();
    if Command::new("npm").arg("--version").output().is_err() {
        tracing::warn!(
            why = %reason,
            "the web app needs building but npm is not installed: serving the API only \
             (install Node.js 20 and npm, or set TESSERA_FRONTEND_BUILD=off)"
        );
        return Ok(());
    }
    tracing::info!(why = %reason, dir = %root.display(), "building the web app (npm run build)");
    let modules = root.join("node_modules");
    let lock = root.join("package-lock.json");
    if modified(&modules).is_none() || modified(&lock) > modified(&modules) {
        npm(root, &["ci", "--no-audit", "--no-fund"])?;
    }
    npm(root, &["run", "build"])
}

fn npm(dir: &Path, args: &[&str]) -> anyhow::Result<()> {
    // npm's own output goes to the terminal: it is what a developer needs when a build fails.
    let status = Command::new("npm")
        .args(args)
        .current_dir(dir)
        .stdout(std::process::Stdio::inherit())
        .stderr(std::process::Stdio::inherit())
        .status()
        .with_context(|| format!("cannot run npm {}", args.join(" ")))?;
    if !status.success() {
        bail!(
            "the web app did not build: `npm {}` in {} exited with {status}; fix it, or set \
             TESSERA_FRONTEND_BUILD=off to serve without rebuilding",
            args.join(" "),
            dir.display()
        );
    }
    Ok(())
}

fn modified(path: &Path) -> Option<SystemTime> {
    path.metadata().and_then(|m| m.modified()).ok()
}

/// Keeps in `newest` the most recently modified file at or under `path`.
fn newest_under(path: &Path, newest: &mut Option<(SystemTime, PathBuf)>) {
    let Ok(meta) = path.metadata() else { return };
    if meta.is_dir() {
        let Ok(entries) = std::fs::read_dir(path) else {
            return;
        };
        for entry in entries.flatten() {
            newest_under(&entry.path(), newest);
        }
    } else if let Ok(t) = meta.modified() {
        if newest.as_ref().is_none_or(|(n, _)| t > *n) {
            *newest = Some((t, path.to_path_buf()));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::fs::{self, File};
    use std::time::Duration;

    use super::*;

    fn touch(path: &Path, at: SystemTime) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        let file = File::create(path).unwrap();
        file.set_modified(at).unwrap();
    }

    #[test]
    fn a_dist_without_sources_beside_it_is_never_built() {
        let dir = tempfile::tempdir().unwrap();
        let dist = dir.path().join("dist");
        assert_eq!(freshness(&dist), Freshness::NoSources);
        touch(&dist.join("index.html"), SystemTime::now());
        assert_eq!(freshness(&dist), Freshness::NoSources);
    }

    #[test]
    fn dist_is_stale_when_missing_or_older_than_any_source() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let dist = root.join("dist");
        let then = SystemTime::now() - Duration::from_secs(3600);
        touch(&root.join("package.json"), then);
        touch(&root.join("src/features/members/page.tsx"), then);
        assert!(
            matches!(freshness(&dist), Freshness::Stale { reason, .. } if reason.contains("missing"))
        );

        touch(&dist.join("index.html"), then + Duration::from_secs(60));
        assert_eq!(freshness(&dist), Freshness::Fresh);

        // A test file or the build's own output does not count; a source deep in src does.
        touch(&root.join("e2e/roles.test.ts"), SystemTime::now());
        touch(&dist.join("assets/app.js"), SystemTime::now());
        assert_eq!(freshness(&dist), Freshness::Fresh);
        touch(
            &root.join("src/features/members/page.tsx"),
            SystemTime::now(),
        );
        assert!(
            matches!(freshness(&dist), Freshness::Stale { reason, .. } if reason.contains("page.tsx"))
        );
    }
}
